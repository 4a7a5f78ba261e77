"""In-context softmax regression claims (Li, Song et al. 2023) at a tiny size: every claim must pass.

The ICL-vs-GD claim is a qualitative trend (the paper's protocol is [not found]; ours is documented in
sweeps/experiments/softmax_regression.py); the bound claims are exact inequalities checked up to fp64
round-off on random and Adam-optimised perturbations. Seeds are fixed, so nothing flakes. The quick
profile runs under ``slow``.
"""

import pytest
from claim_testing import assert_claim_passes, claim_params, profile_tables

from attnbench.sweeps.experiments import softmax_regression
from attnbench.sweeps.experiments.base import ConfigError

TINY = dict(
    rows_grid=[10],
    radius_grid=[1.0, 4.0],
    seeds=1,
    steps=80,
    eval_every=40,
    test_size=64,
    bound_trials=100,
    adversarial_starts=1,
    adversarial_steps=40,
)
PROFILES = {"tiny": TINY, "quick": {}}
PROFILE_PARAMS = ["tiny", pytest.param("quick", marks=pytest.mark.slow)]
_table = profile_tables(softmax_regression.EXPERIMENT, softmax_regression.SoftmaxRegressionParams, PROFILES)


@pytest.mark.parametrize("claim_id", claim_params(softmax_regression.EXPERIMENT))
@pytest.mark.parametrize("profile", PROFILE_PARAMS)
def test_claim_passes(profile, claim_id):
    assert_claim_passes(softmax_regression.EXPERIMENT, _table(profile), claim_id)


def test_table_has_contract_columns_and_figure(tmp_path):
    table = _table("tiny")
    assert {"metric", "value", "predicted", "step", "seed"} <= set(table.columns)
    assert all(path.exists() for path in softmax_regression.draw(table, tmp_path))


def test_bad_params_name_the_key():
    with pytest.raises(ConfigError, match="rows_grid"):
        softmax_regression.SoftmaxRegressionParams(rows_grid=[1])
    with pytest.raises(ConfigError, match="radius_grid"):
        softmax_regression.SoftmaxRegressionParams(radius_grid=[])
