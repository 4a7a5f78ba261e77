"""Quick versions of the ``icl_linear`` claims: the experiment at a small size, each claim's check applied
to its table. Thresholds are the claims' own (see sweeps/experiments/icl_linear_claims.py), never relaxed
here."""

from __future__ import annotations

import pandas as pd
import pytest
import torch

from attnbench.sweeps.experiments.base import RunContext
from attnbench.sweeps.experiments.icl_linear import EXPERIMENT, IclLinearParams

CLAIMS = {claim.id: claim for claim in EXPERIMENT.claims}
THEORY_ONLY = ("icl_linear.oracle_risks", "icl_linear.bayes_ratio_bound")


def _marked(ids: list[str]) -> list:
    """One parameter per claim id, carrying its claim marker, and xfail where the ledger documents a measured
    non-reproduction. Those xfails are not strict: they depend on which seeds stall (see the claim's text)."""
    params = []
    for claim_id in ids:
        marks = [pytest.mark.claim(claim_id)]
        if CLAIMS[claim_id].known_failure:
            marks.append(pytest.mark.xfail(strict=False, reason=CLAIMS[claim_id].known_failure))
        params.append(pytest.param(claim_id, marks=marks, id=claim_id))
    return params


def _run(params: IclLinearParams) -> pd.DataFrame:
    table = EXPERIMENT.run(params, RunContext(seed=0, device=torch.device("cpu"), progress=False))
    table["status"] = "ok"
    return table


@pytest.fixture(scope="module")
def untrained_table() -> pd.DataFrame:
    return _run(IclLinearParams(heads=[2], seeds=1, steps=0, lsa_steps=0, test_lengths=[10, 40],
                                test_prompts=8192))


@pytest.fixture(scope="module")
def trained_table() -> pd.DataFrame:
    """The quick profile with two seeds and three test lengths (the claims' sizes: d = 5, L = 40, σ² = 0.1)."""
    return _run(IclLinearParams(seeds=2, test_lengths=[10, 40, 160], test_prompts=8192))


@pytest.mark.parametrize("claim_id", _marked(list(THEORY_ONLY)))
def test_theory_claims(untrained_table, claim_id):
    verdict = CLAIMS[claim_id].check(untrained_table)
    assert verdict.verdict == "pass", verdict


@pytest.mark.parametrize("claim_id", _marked(sorted(set(CLAIMS) - set(THEORY_ONLY))))
def test_trained_claims(trained_table, claim_id):
    verdict = CLAIMS[claim_id].check(trained_table)
    assert verdict.verdict == "pass", verdict


def test_same_seed_same_numbers():
    params = IclLinearParams(heads=[2], seeds=1, steps=20, lsa_steps=20, test_lengths=[40], test_prompts=256)
    pd.testing.assert_frame_equal(_run(params), _run(params))
