"""Exact identities and bounds between attention variants (issue 8; notes extra_theory.md §1–7, §11, §13).

Sections of the table (column ``section``): regression, monoid, chunk, sigmoid, pathology, gradient, hedgehog,
ssm (`compute`), each a `Section` with its own nested params (`params`); the measurements are in `measures` and,
for the forms of one mixer (through the mixers' ``FORMS``), `form_measures`. Identities are `consistency` claims
asserted to fp64 round-off; the sigmoid 1/n rate and the Hedgehog properties are the papers' predictions
(`theorem`).
"""

from __future__ import annotations

from typing import Any

from attnbench.sweeps.experiments.base import Experiment, Profile
from attnbench.sweeps.experiments.identities.compute import SECTIONS, run
from attnbench.sweeps.experiments.identities.exact_claims import EXACT_CLAIMS
from attnbench.sweeps.experiments.identities.figures import draw
from attnbench.sweeps.experiments.identities.params import STUDIES, IdentitiesParams
from attnbench.sweeps.experiments.identities.property_claims import PROPERTY_CLAIMS

CLAIMS = EXACT_CLAIMS + PROPERTY_CLAIMS


def _every_section(seeds: int, **fields: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """A profile's overrides: ``seeds`` in every section, plus each section's own ``fields``."""
    return {name: {"seeds": seeds, **fields.get(name, {})} for name in STUDIES}


EXPERIMENT = Experiment(
    name="identities",
    description="Exact identities and bounds tying the mixer zoo together (regression view, softmax monoid, "
    "chunked recurrences, sigmoid attention, linear-attention pathologies, gradient scaling, Hedgehog, SSMs)",
    params=IdentitiesParams,
    run=run,
    claims=CLAIMS,
    draw=draw,
    tiny=Profile(
        overrides=_every_section(
            1,
            monoid={"lengths": [5, 64]},
            chunk={"tiling_length": 20, "block_sizes": [7], "chunk_length": 12, "chunk_sizes": [5]},
            sigmoid={"lengths": [16, 512, 1024, 2048]},
            pathology={"mala_magnitudes": [2.0]},
        )
    ),
    paper=Profile(overrides=_every_section(10, sigmoid={"lengths": [16, 64, 256, 1024, 4096, 8192]})),
    sections=SECTIONS,
)
