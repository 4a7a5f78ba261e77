"""Claim tests of the LLA bias–variance family (`attnbench.sweeps.experiments.lla_bias_variance`).

The experiment runs once per module at a tiny size (d = 1, n ∈ {250, 750, 2250}, 6 seeds). Statistical claims
use Student-t intervals over seeds at false-failure rate `FALSE_FAILURE_RATE` = 1% (two-sided; stated in the
experiment); all seeds are fixed, so the outcome is deterministic and cannot flake.
"""

from __future__ import annotations

import numpy as np
import pytest
from claim_testing import assert_claim_passes, claim_params, profile_tables

from attnbench.sweeps.experiments.base import ConfigError
from attnbench.sweeps.experiments.lla_bias_variance import EXPERIMENT, LLABiasVarianceParams
from attnbench.theory import lla as theory

TINY = dict(sample_sizes=[250, 750, 2250], n_test=200, n_test_linear=20000, seeds=6,
            bandwidths=np.geomspace(0.03, 0.3, 6).round(5).tolist())
_table = profile_tables(EXPERIMENT, LLABiasVarianceParams, {"tiny": TINY})


@pytest.mark.parametrize("claim_id", claim_params(EXPERIMENT))
def test_claim_passes(claim_id: str) -> None:
    """lla.ordering, lla.global_linear_floor, lla.nw_rate and lla.ll_rate all pass at the tiny size."""
    assert_claim_passes(EXPERIMENT, _table("tiny"), claim_id)


def test_misspecification_floor_matches_quadrature():
    """The closed form against a least-squares fit on a dense midpoint grid of [0, 1] (d = 1)."""
    x = (np.arange(200000) + 0.5) / 200000
    y = np.sin(3 * x)
    design = np.stack([np.ones_like(x), x], axis=1)
    residual = y - design @ np.linalg.lstsq(design, y, rcond=None)[0]
    assert theory.linear_misspecification_floor(1, 3.0) == pytest.approx(np.mean(residual**2), rel=1e-6)
    assert theory.linear_misspecification_floor(3, 3.0) == pytest.approx(3 * np.mean(residual**2), rel=1e-6)


def test_predicted_exponents():
    assert theory.nadaraya_watson_imse_exponent(1) == pytest.approx(-0.75)
    assert theory.local_linear_imse_exponent(2) == pytest.approx(-2 / 3)


def test_figure_is_drawn_from_the_table(tmp_path) -> None:
    paths = EXPERIMENT.draw(_table("tiny"), tmp_path)
    assert all(path.exists() and path.stat().st_size > 0 for path in paths)


@pytest.mark.parametrize(("field", "value"), [("seeds", 1), ("noise", -1.0), ("sample_sizes", [100, 200])])
def test_bad_params_raise(field, value):
    with pytest.raises(ConfigError, match=field):
        LLABiasVarianceParams(**{field: value})
