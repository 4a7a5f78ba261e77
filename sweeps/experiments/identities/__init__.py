"""Exact identities and bounds between attention variants (issue 8; notes extra_theory.md §1–7, §11, §13).

Sections of the table (column ``section``): regression, monoid, chunk, sigmoid, pathology, gradient, hedgehog,
ssm (`compute`). Identities are `consistency` claims asserted to fp64 round-off; the sigmoid 1/n rate and the
Hedgehog properties are the papers' predictions (`theorem`).
"""

from __future__ import annotations

from attnbench.sweeps.experiments.base import Experiment, Profile
from attnbench.sweeps.experiments.identities.compute import run
from attnbench.sweeps.experiments.identities.exact_claims import EXACT_CLAIMS
from attnbench.sweeps.experiments.identities.figures import draw
from attnbench.sweeps.experiments.identities.params import IdentitiesParams
from attnbench.sweeps.experiments.identities.property_claims import PROPERTY_CLAIMS

CLAIMS = EXACT_CLAIMS + PROPERTY_CLAIMS

EXPERIMENT = Experiment(
    name="identities",
    description="Exact identities and bounds tying the mixer zoo together (regression view, softmax monoid, "
    "chunked recurrences, sigmoid attention, linear-attention pathologies, gradient scaling, Hedgehog, SSMs)",
    params=IdentitiesParams,
    run=run,
    claims=CLAIMS,
    draw=draw,
    tiny=Profile(overrides=dict(
        seeds=1, scan_lengths=[5, 64], tiling_length=20, block_sizes=[7], chunk_length=12, chunk_sizes=[5],
        sigmoid_lengths=[16, 512, 1024, 2048], mala_magnitudes=[2.0], tight_epsilons=[1e-3],
    )),
    paper=Profile(overrides={"seeds": 10, "sigmoid_lengths": [16, 64, 256, 1024, 4096, 8192]}),
)
