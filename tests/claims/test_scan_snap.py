"""Scan and Snap claims (Tian et al. 2023) at a tiny size: every claim of the experiment must pass.

Tolerances live in the claim checks (sweeps/experiments/scan_snap.py): they come from ODE integration
tolerances, the Lemma 5–7 bound, or 3 seed-to-seed standard errors; seeds are fixed, so nothing flakes.
"""

import dataclasses

import pandas as pd
import pytest
from claim_testing import assert_claim_passes, claim_params, run_quietly

from attnbench.sweeps.experiments import scan_snap
from attnbench.sweeps.experiments.base import ConfigError

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
    return run_quietly(scan_snap.EXPERIMENT, scan_snap.ScanSnapParams(**TINY))


@pytest.mark.parametrize("claim_id", claim_params(scan_snap.EXPERIMENT))
def test_claim_passes(table, claim_id):
    assert_claim_passes(scan_snap.EXPERIMENT, table, claim_id)


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
    table = run_quietly(scan_snap.EXPERIMENT, scan_snap.ScanSnapParams())
    for claim in scan_snap.CLAIMS:
        assert_claim_passes(scan_snap.EXPERIMENT, table, claim.id)
