"""The generic claim test: every claim of every experiment, judged at the ``tiny`` profile by the ledger's
own evaluation, over the claim's own scope, with its own check (ARCHITECTURE.md, "The claims ledger").

``pytest -k icl_linear.dgd_risk`` selects one claim. A claim whose known failure holds at the tiny profile is
an xfail carrying the claim's own reason (its predicate is re-checked, so any other failure fails the test);
a claim that the tiny profile cannot test is skipped with the claim's own reason.
"""

from __future__ import annotations

import pytest
from claim_testing import tiny_view

from attnbench.sweeps import registry
from attnbench.sweeps.ledger import evaluate

CLAIMS = [
    (name, claim) for name, experiment in registry.experiments().items() if name != "toy" for claim in experiment.claims
]


@pytest.mark.parametrize(
    ("family", "claim"),
    [pytest.param(name, claim, id=claim.id, marks=pytest.mark.claim(id=claim.id)) for name, claim in CLAIMS],
)
def test_claim(family, claim):
    if claim.tiny is not None:
        pytest.skip(f"not testable at the tiny profile: {claim.tiny}")
    experiment = registry.get(family)
    result = evaluate(claim, tiny_view(family), experiment.grid("tiny"))
    if result.verdict == "xfail":
        pytest.xfail(claim.known_failure.reason)
    assert result.verdict == "pass", (
        f"{claim.id}: {result.verdict}; predicted {result.predicted}; measured {result.measured}; "
        f"tolerance {claim.tolerance.shown()}; cells {result.passed_cells}/{len(result.cells)}; "
        + " · ".join(result.notes())
    )
