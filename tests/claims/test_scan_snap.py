"""Scan and Snap claims (Tian et al. 2023) at a tiny size: every claim of the experiment must pass.

Tolerances live in the claim checks (sweeps/experiments/scan_snap.py): they come from ODE integration
tolerances, the Lemma 5–7 bound, or 3 seed-to-seed standard errors; seeds are fixed, so nothing flakes.
"""

import dataclasses

import pandas as pd
import pytest
import torch

from attnbench.sweeps.experiments import scan_snap
from attnbench.sweeps.experiments.base import ConfigError, RunContext

TINY = dict(
    seeds=3,
    seq_lens=[16, 128],
    steps=100,
    fig4_seeds=3,
    entropy_lr_zs=[0.5, 3.0],
    entropy_ratios=[1.0],
    entropy_seeds=6,
    decoder_steps=1000,
    reduced_ratios=[1.0, 10.0, 100.0],
)


@pytest.fixture(scope="module")
def table() -> pd.DataFrame:
    params = scan_snap.ScanSnapParams(**TINY)
    return scan_snap.run(params, RunContext(seed=0, device=torch.device("cpu"), progress=False))


def _verdict(table: pd.DataFrame, claim_id: str):
    claim = next(c for c in scan_snap.CLAIMS if c.id == claim_id)
    return claim.check(table)


def _assert_pass(table: pd.DataFrame, claim_id: str) -> None:
    verdict = _verdict(table, claim_id)
    assert verdict.predicted and verdict.measured
    assert verdict.verdict == "pass", (
        f"{claim_id}: predicted {verdict.predicted}; measured {verdict.measured}"
    )


@pytest.mark.claim("scan_snap.decoder_gap")
def test_decoder_gap(table):
    _assert_pass(table, "scan_snap.decoder_gap")


@pytest.mark.claim("scan_snap.ode_match")
def test_ode_match(table):
    _assert_pass(table, "scan_snap.ode_match")


@pytest.mark.claim("scan_snap.reduced_ode")
def test_reduced_ode(table):
    _assert_pass(table, "scan_snap.reduced_ode")


@pytest.mark.claim("scan_snap.fig4_loss")
def test_fig4_loss(table):
    _assert_pass(table, "scan_snap.fig4_loss")


@pytest.mark.claim("scan_snap.common_falls")
def test_common_falls(table):
    _assert_pass(table, "scan_snap.common_falls")


@pytest.mark.claim("scan_snap.scan_order")
def test_scan_order(table):
    _assert_pass(table, "scan_snap.scan_order")


@pytest.mark.claim("scan_snap.relative_gain")
def test_relative_gain(table):
    _assert_pass(table, "scan_snap.relative_gain")


@pytest.mark.claim("scan_snap.snap_time")
def test_snap_time(table):
    _assert_pass(table, "scan_snap.snap_time")


@pytest.mark.claim("scan_snap.snap_b_eta_z")
def test_snap_b_eta_z(table):
    _assert_pass(table, "scan_snap.snap_b_eta_z")


@pytest.mark.claim("scan_snap.entropy_trend")
def test_entropy_trend(table):
    _assert_pass(table, "scan_snap.entropy_trend")


@pytest.mark.claim("scan_snap.entropy_table")
def test_entropy_table(table):
    _assert_pass(table, "scan_snap.entropy_table")


def test_table_has_the_contract_columns(table):
    assert set(scan_snap.EXPERIMENT.params.__dataclass_fields__) >= set(TINY)
    for column in ("metric", "value", "predicted", "step", "seed"):
        assert column in table


def test_draw_writes_figures(table, tmp_path):
    paths = scan_snap.draw(table, tmp_path)
    assert paths and all(p.exists() and p.stat().st_size > 0 for p in paths)


def test_paper_profile_composes():
    params = scan_snap.ScanSnapParams(**scan_snap.EXPERIMENT.paper)
    assert params.entropy_num_lasts == [1, 3, 5, 10] and params.entropy_seeds == 10


@pytest.mark.parametrize("key, value", [("seq_lens", [64, 16]), ("entropy_lr_zs", [0.7]), ("momenta", [1.0])])
def test_bad_params_name_the_key(key, value):
    with pytest.raises(ConfigError, match=key):
        dataclasses.replace(scan_snap.ScanSnapParams(), **{key: value})


@pytest.mark.slow
@pytest.mark.claim("scan_snap.ode_match")
def test_quick_profile_all_claims_pass():
    """The full quick profile (≈ 30 s on one core): every claim passes."""
    table = scan_snap.run(
        scan_snap.ScanSnapParams(), RunContext(seed=0, device=torch.device("cpu"), progress=False)
    )
    for claim in scan_snap.CLAIMS:
        verdict = claim.check(table)
        assert verdict.verdict == "pass", f"{claim.id}: {verdict.measured}"
