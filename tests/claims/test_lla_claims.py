"""Claim tests of the LLA bias–variance family (`attnbench.sweeps.experiments.lla_bias_variance`).

The experiment runs once per module at a tiny size (d = 1, n ∈ {250, 750, 2250}, 6 seeds). Statistical claims
use Student-t intervals over seeds at false-failure rate `FALSE_FAILURE_RATE` = 1% (two-sided; stated in the
experiment); all seeds are fixed, so the outcome is deterministic and cannot flake.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

from attnbench.sweeps.experiments.base import ConfigError, RunContext
from attnbench.sweeps.experiments.lla_bias_variance import EXPERIMENT, LLABiasVarianceParams
from attnbench.theory import lla as theory

TINY = LLABiasVarianceParams(sample_sizes=[250, 750, 2250], n_test=200, n_test_linear=20000, seeds=6,
                             bandwidths=np.geomspace(0.03, 0.3, 6).round(5).tolist())
CLAIMS = {claim.id: claim for claim in EXPERIMENT.claims}


@pytest.fixture(scope="module")
def table():
    return EXPERIMENT.run(TINY, RunContext(seed=0, device=torch.device("cpu"), progress=False))


@pytest.mark.claim("lla.ordering")
def test_local_linear_beats_softmax_beats_global_linear(table):
    verdict = CLAIMS["lla.ordering"].check(table)
    assert verdict.verdict == "pass", verdict


@pytest.mark.claim("lla.global_linear_floor")
def test_global_linear_plateaus_at_misspecification_floor(table):
    verdict = CLAIMS["lla.global_linear_floor"].check(table)
    assert verdict.verdict == "pass", verdict


@pytest.mark.claim("lla.nw_rate")
def test_nadaraya_watson_rate(table):
    verdict = CLAIMS["lla.nw_rate"].check(table)
    assert verdict.verdict == "pass", verdict


@pytest.mark.claim("lla.ll_rate")
def test_local_linear_rate(table):
    verdict = CLAIMS["lla.ll_rate"].check(table)
    assert verdict.verdict == "pass", verdict


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


def test_figure_is_drawn_from_the_table(table, tmp_path):
    paths = EXPERIMENT.draw(table, tmp_path)
    assert all(path.exists() and path.stat().st_size > 0 for path in paths)


@pytest.mark.parametrize(("field", "value"), [("seeds", 1), ("noise", -1.0), ("sample_sizes", [100, 200])])
def test_bad_params_raise(field, value):
    with pytest.raises(ConfigError, match=field):
        LLABiasVarianceParams(**{field: value})
