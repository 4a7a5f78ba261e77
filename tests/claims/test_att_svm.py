"""Claim tests of the att_svm family (Tarzanagh et al. 2023): each claim's check on a tiny, fixed-seed run.

Every tolerance lives in the claim's check (``sweeps/experiments/att_svm.py``) and is stated there: exact
statements are asserted exactly, convergence statements at the 0.99 correlation level, contrasts at 3
standard errors of the paired difference or a one-sided 1% z test. Seeds are fixed, so nothing flakes.
Default tests use 1000 iterations (the notebook's plotted span); the slow test runs the quick profile.
"""

from __future__ import annotations

import pandas as pd
import pytest
from claim_testing import assert_claim_passes, claim_params, profile_tables, run_quietly

from attnbench.sweeps.experiments.att_svm import EXPERIMENT, NUCLEAR_RANK_NOTE, AttSvmParams
from attnbench.sweeps.experiments.base import ConfigError

PROFILES = {
    "local": dict(sections=["local_converge"], runs=8, steps=1000, record_every=50),
    "rank": dict(sections=["rank"], rank_instances=10, rank_ds=[2, 5, 10]),
    "overparam": dict(sections=["overparam"], overparam_ds=[2, 16], overparam_runs=40),
    "prompt": dict(sections=["joint", "single_input"]),
    "nonlinear": dict(sections=["nonlinear"]),
    "quick": {},
}
_table = profile_tables(EXPERIMENT, AttSvmParams, PROFILES)
CLAIM_PROFILE = {
    "att_svm.w_corr_fro": "local",
    "att_svm.kq_corr_nuc": "local",
    "att_svm.softmax_concentration": "local",
    "att_svm.local_optimality": "local",
    "att_svm.rank_fro": "rank",
    "att_svm.rank_nuc_lower": "rank",
    "att_svm.rank_nuc_paper_value": "rank",
    "att_svm.overparam": "overparam",
    "att_svm.nonlinear_svmeq": "nonlinear",
    "att_svm.joint_training": "prompt",
    "att_svm.single_input": "prompt",
}
EXTRA_MARKS = {
    "att_svm.rank_nuc_paper_value": [
        pytest.mark.xfail(strict=True, reason="measured ≈2.2-2.3, notebook 4.9: " + NUCLEAR_RANK_NOTE)
    ],
    "att_svm.nonlinear_svmeq": [pytest.mark.slow],
}
CLAIM_PARAMS = [
    pytest.param(*param.values, marks=[*param.marks, *EXTRA_MARKS.get(param.id, [])], id=param.id)
    for param in claim_params(EXPERIMENT)
]


@pytest.mark.parametrize("claim_id", CLAIM_PARAMS)
def test_claim_passes(claim_id: str) -> None:
    assert_claim_passes(EXPERIMENT, _table(CLAIM_PROFILE[claim_id]), claim_id)


QUICK_PROFILE_FAILURES = {"att_svm.rank_nuc_paper_value"}


@pytest.mark.slow
def test_quick_profile_verdicts() -> None:
    """The whole quick profile: every claim passes except the documented non-reproduction of the rank value.

    (``local_optimality`` carries a known failure measured at paper size only; it passes at quick size.)
    """
    table = _table("quick")
    for claim in EXPERIMENT.claims:
        expected = "fail" if claim.id in QUICK_PROFILE_FAILURES else "pass"
        assert claim.check(table).verdict == expected, claim.id


def test_params_are_validated() -> None:
    with pytest.raises(ConfigError, match="sections"):
        AttSvmParams(sections=["nope"])
    with pytest.raises(ConfigError, match="optimizer"):
        AttSvmParams(optimizer="adam")
    with pytest.raises(ConfigError, match="rank_ds"):
        AttSvmParams(rank_ds=[2, 3])


def test_draw_writes_figures(tmp_path) -> None:
    paths = EXPERIMENT.draw(pd.concat([_table("local"), _table("rank")]), tmp_path)
    assert {p.name for p in paths} == {"corr_vs_iteration.png", "rank_vs_d.png"}
    assert all(p.stat().st_size > 0 for p in paths)


def test_plain_gd_and_other_losses_run() -> None:
    params = AttSvmParams(sections=["local_converge"], runs=2, steps=20, optimizer="gd", loss="exponential")
    table = run_quietly(EXPERIMENT, params)
    assert {"corr_fro", "corr_nuc", "selected_prob"} <= set(table["metric"])
    assert table["value"].notna().all()
