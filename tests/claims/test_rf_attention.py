"""Random-feature attention claims (Fu, Guo, Bai & Mei 2023) at a tiny size: every claim must pass.

Tolerances live in the claim checks (sweeps/experiments/rf_attention.py): the M^{-1/2} slope uses 3
seed-to-seed standard errors plus a stated pre-asymptotic band, the non-zero-mean gain 3 paired standard
errors, permutation invariance fp64 round-off; the others are directions of seed means. Seeds are fixed,
so nothing flakes. The quick profile (the experiment's defaults, about 30 s) runs under ``slow``.
"""

import pandas as pd
import pytest
import torch

from attnbench.sweeps.experiments import rf_attention
from attnbench.sweeps.experiments.base import ConfigError, RunContext

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
_TABLES: dict[str, pd.DataFrame] = {}


def _table(profile: str) -> pd.DataFrame:
    if profile not in _TABLES:
        params = rf_attention.RFAttentionParams(**PROFILES[profile])
        context = RunContext(seed=0, device=torch.device("cpu"), progress=False, log=lambda _: None)
        _TABLES[profile] = rf_attention.run(params, context)
    return _TABLES[profile]


def _check(profile: str, claim_id: str) -> None:
    claim = next(c for c in rf_attention.EXPERIMENT.claims if c.id == claim_id)
    verdict = claim.check(_table(profile))
    assert verdict.verdict == "pass", f"{claim_id}: measured {verdict.measured}, predicted {verdict.predicted}"


PROFILE_PARAMS = ["tiny", pytest.param("quick", marks=pytest.mark.slow)]


@pytest.mark.claim("rf_attention.krr_limit")
@pytest.mark.parametrize("profile", PROFILE_PARAMS)
def test_krr_limit(profile):
    _check(profile, "rf_attention.krr_limit")


@pytest.mark.claim("rf_attention.error_vs_heads")
@pytest.mark.parametrize("profile", PROFILE_PARAMS)
def test_error_vs_heads(profile):
    _check(profile, "rf_attention.error_vs_heads")


@pytest.mark.claim("rf_attention.error_vs_samples")
@pytest.mark.parametrize("profile", PROFILE_PARAMS)
def test_error_vs_samples(profile):
    _check(profile, "rf_attention.error_vs_samples")


@pytest.mark.claim("rf_attention.permutation_invariance")
@pytest.mark.parametrize("profile", PROFILE_PARAMS)
def test_permutation_invariance(profile):
    _check(profile, "rf_attention.permutation_invariance")


@pytest.mark.claim("rf_attention.nonzero_mean")
@pytest.mark.parametrize("profile", PROFILE_PARAMS)
def test_nonzero_mean(profile):
    _check(profile, "rf_attention.nonzero_mean")


@pytest.mark.claim("rf_attention.beats_rf_mlp")
@pytest.mark.parametrize("profile", PROFILE_PARAMS)
def test_beats_rf_mlp(profile):
    _check(profile, "rf_attention.beats_rf_mlp")


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
