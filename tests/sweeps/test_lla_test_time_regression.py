"""Unit tests of the lla_test_time_regression family outside its claims (the generic claim test judges those):
params validation, the half-segment reduction of the rows, the oracle as a lower reference, the figures."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from attnbench.errors import ConfigError
from attnbench.sweeps.experiments.base import RunContext
from attnbench.sweeps.experiments.lla_test_time_regression import EXPERIMENT
from attnbench.sweeps.experiments.lla_test_time_regression.run import LLATestTimeRegressionParams
from attnbench.sweeps.experiments.lla_test_time_regression.tables import KEYS, overall_mse


@pytest.fixture(scope="module")
def rows():
    params = LLATestTimeRegressionParams(length=64, segment_lengths=[16, 32], dims=[2], seeds=3, streams=2)
    return EXPERIMENT.run(params, RunContext(seed=0, device=torch.device("cpu"), progress=False, log=lambda _: None))


def test_half_segment_means_reproduce_the_per_position_means(rows):
    """The seed mean of each seed's overall MSE (from the half means) equals the mean of the seed-mean curve."""
    for kind, group in rows.groupby("stream"):
        from_halves = overall_mse(group).groupby(level=KEYS).mean()
        curves = group[group.metric == "mse_curve"].pivot_table(index=KEYS, columns="estimator", values="value")
        np.testing.assert_allclose(from_halves.sort_index(axis=1), curves.sort_index(axis=1), rtol=1e-12)
        assert kind in ("drifting", "stationary")


def test_bayes_oracle_is_a_lower_reference(rows):
    """The segment-aware Bayes predictor is below every competitor overall (it knows the boundaries)."""
    overall = overall_mse(rows[rows.stream == "drifting"]).mean()
    assert overall.idxmin() == "bayes"


def test_figures_are_drawn_from_the_table(rows, tmp_path):
    paths = EXPERIMENT.draw(rows, tmp_path)
    assert len(paths) == 3 and all(path.exists() and path.stat().st_size > 0 for path in paths)


@pytest.mark.parametrize(
    ("field", "value"), [("seeds", 1), ("segment_lengths", [1024]), ("key_shift", 0.0), ("dims", [])]
)
def test_bad_params_raise(field, value):
    with pytest.raises(ConfigError, match=field):
        LLATestTimeRegressionParams(**{field: value})
