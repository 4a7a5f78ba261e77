"""Claim tests of the att_svm family (Tarzanagh et al. 2023): each claim's check on a tiny, fixed-seed run.

Every tolerance lives in the claim's check (``sweeps/experiments/att_svm.py``) and is stated there: exact
statements are asserted exactly, convergence statements at the 0.99 correlation level, contrasts at 3
standard errors of the paired difference or a one-sided 1% z test. Seeds are fixed, so nothing flakes.
Default tests use 1000 iterations (the notebook's plotted span); the slow test runs the quick profile.
"""

from __future__ import annotations

import pytest
import torch

from attnbench.sweeps.experiments.att_svm import EXPERIMENT, NUCLEAR_RANK_NOTE, AttSvmParams
from attnbench.sweeps.experiments.base import RunContext

CTX = RunContext(seed=0, device=torch.device("cpu"), progress=False, log=lambda _msg: None)
CLAIMS = {claim.id: claim for claim in EXPERIMENT.claims}


def _table(**params: object):
    return EXPERIMENT.run(AttSvmParams(**params), CTX)


@pytest.fixture(scope="module")
def local_table():
    return _table(sections=["local_converge"], runs=8, steps=1000, record_every=50)


@pytest.fixture(scope="module")
def rank_table():
    return _table(sections=["rank"], rank_instances=10, rank_ds=[2, 5, 10])


@pytest.fixture(scope="module")
def prompt_table():
    return _table(sections=["joint", "single_input"])


def _verdict(claim_id: str, table) -> str:
    verdict = CLAIMS[claim_id].check(table)
    assert verdict.predicted and verdict.measured
    return verdict.verdict


@pytest.mark.claim("att_svm.w_corr_fro")
def test_w_corr_fro(local_table):
    assert _verdict("att_svm.w_corr_fro", local_table) == "pass"


@pytest.mark.claim("att_svm.kq_corr_nuc")
def test_kq_corr_nuc(local_table):
    assert _verdict("att_svm.kq_corr_nuc", local_table) == "pass"


@pytest.mark.claim("att_svm.softmax_concentration")
def test_softmax_concentration(local_table):
    assert _verdict("att_svm.softmax_concentration", local_table) == "pass"


@pytest.mark.claim("att_svm.local_optimality")
def test_local_optimality(local_table):
    assert _verdict("att_svm.local_optimality", local_table) == "pass"


@pytest.mark.claim("att_svm.rank_fro")
def test_rank_fro(rank_table):
    assert _verdict("att_svm.rank_fro", rank_table) == "pass"


@pytest.mark.claim("att_svm.rank_nuc_lower")
def test_rank_nuc_lower(rank_table):
    assert _verdict("att_svm.rank_nuc_lower", rank_table) == "pass"


@pytest.mark.claim("att_svm.rank_nuc_paper_value")
@pytest.mark.xfail(strict=True, reason="measured ≈2.2-2.3, notebook 4.9: " + NUCLEAR_RANK_NOTE)
def test_rank_nuc_paper_value(rank_table):
    assert _verdict("att_svm.rank_nuc_paper_value", rank_table) == "pass"


@pytest.mark.claim("att_svm.overparam")
def test_overparam():
    table = _table(sections=["overparam"], overparam_ds=[2, 16], overparam_runs=40)
    assert _verdict("att_svm.overparam", table) == "pass"


@pytest.mark.claim("att_svm.joint_training")
def test_joint_training(prompt_table):
    assert _verdict("att_svm.joint_training", prompt_table) == "pass"


@pytest.mark.claim("att_svm.single_input")
def test_single_input(prompt_table):
    assert _verdict("att_svm.single_input", prompt_table) == "pass"


@pytest.mark.slow
@pytest.mark.claim("att_svm.nonlinear_svmeq")
def test_nonlinear_svmeq():
    assert _verdict("att_svm.nonlinear_svmeq", _table(sections=["nonlinear"])) == "pass"


QUICK_PROFILE_FAILURES = {"att_svm.rank_nuc_paper_value"}


@pytest.mark.slow
def test_quick_profile_verdicts():
    """The whole quick profile: every claim passes except the documented non-reproduction of the rank value.

    (``local_optimality`` carries a known failure measured at paper size only; it passes at quick size.)
    """
    table = _table()
    for claim in EXPERIMENT.claims:
        expected = "fail" if claim.id in QUICK_PROFILE_FAILURES else "pass"
        assert claim.check(table).verdict == expected, claim.id


def test_params_are_validated():
    from attnbench.sweeps.experiments.base import ConfigError

    with pytest.raises(ConfigError, match="sections"):
        AttSvmParams(sections=["nope"])
    with pytest.raises(ConfigError, match="optimizer"):
        AttSvmParams(optimizer="adam")
    with pytest.raises(ConfigError, match="rank_ds"):
        AttSvmParams(rank_ds=[2, 3])


def test_draw_writes_figures(local_table, rank_table, tmp_path):
    import pandas as pd

    paths = EXPERIMENT.draw(pd.concat([local_table, rank_table]), tmp_path)
    assert {p.name for p in paths} == {"corr_vs_iteration.png", "rank_vs_d.png"}
    assert all(p.stat().st_size > 0 for p in paths)


def test_plain_gd_and_other_losses_run():
    table = _table(sections=["local_converge"], runs=2, steps=20, optimizer="gd", loss="exponential")
    assert {"corr_fro", "corr_nuc", "selected_prob"} <= set(table["metric"])
    assert table["value"].notna().all()
