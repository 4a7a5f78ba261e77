"""Random-feature attention claims (Fu, Guo, Bai & Mei 2023) at a tiny size: every claim must pass.

Tolerances live in the claim checks (sweeps/experiments/rf_attention.py): the M^{-1/2} slope uses 3
seed-to-seed standard errors plus a 0.1 pre-asymptotic allowance (not derived; the measured slopes need
only the 3 s.e.), the non-zero-mean gain 3 paired standard
errors, permutation invariance fp64 round-off; the others are directions of seed means. Seeds are fixed,
so nothing flakes. The quick profile (the experiment's defaults, about 30 s) runs under ``slow``.
"""

import pytest
from claim_testing import assert_claim_passes, claim_params, profile_tables

from attnbench.sweeps.experiments import rf_attention
from attnbench.sweeps.experiments.base import ConfigError

TINY = dict(
    heads_grid=[10, 40, 160, 480],
    train_size=200,
    test_size=200,
    samples_grid=[50, 100, 200],
    samples_heads=160,
    seeds=3,
    mean_grid=[0.0, 2.0, 8.0],
    mean_heads=40,
    keys_grid=[2, 10],
    keys_heads=40,
    ridge_grid=[1e-4, 1e-2],
    permutations=3,
)
PROFILES = {"tiny": TINY, "quick": {}}
PROFILE_PARAMS = ["tiny", pytest.param("quick", marks=pytest.mark.slow)]
_table = profile_tables(rf_attention.EXPERIMENT, rf_attention.RFAttentionParams, PROFILES)


@pytest.mark.parametrize("claim_id", claim_params(rf_attention.EXPERIMENT))
@pytest.mark.parametrize("profile", PROFILE_PARAMS)
def test_claim_passes(profile, claim_id):
    assert_claim_passes(rf_attention.EXPERIMENT, _table(profile), claim_id)


def test_table_has_contract_columns_and_figure(tmp_path):
    table = _table("tiny")
    assert {"metric", "value", "predicted", "step", "seed"} <= set(table.columns)
    paths = rf_attention.draw(table, tmp_path)
    assert all(path.exists() for path in paths)


def test_bad_params_name_the_key():
    with pytest.raises(ConfigError, match="heads_grid"):
        rf_attention.RFAttentionParams(heads_grid=[10])
    with pytest.raises(ConfigError, match="mean_grid"):
        rf_attention.RFAttentionParams(mean_grid=[1.0, 2.0])
