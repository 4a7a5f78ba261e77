"""Unit tests of the lla_bias_variance family outside its claims (the generic claim test judges those): params
validation and the figure drawn from a small table."""

from __future__ import annotations

import pytest
import torch

from attnbench.errors import ConfigError
from attnbench.sweeps.experiments.base import RunContext
from attnbench.sweeps.experiments.lla_bias_variance import EXPERIMENT
from attnbench.sweeps.experiments.lla_bias_variance.run import LLABiasVarianceParams


@pytest.mark.parametrize(
    ("field", "value"), [("seeds", 1), ("noise", -1.0), ("sample_sizes", [100, 200]), ("sample_sizes", [300, 200, 100])]
)
def test_bad_params_raise(field, value):
    with pytest.raises(ConfigError, match=field):
        LLABiasVarianceParams(**{field: value})


def test_figure_is_drawn_from_the_table(tmp_path):
    params = LLABiasVarianceParams(
        sample_sizes=[20, 40, 80], n_test=20, n_test_linear=100, seeds=2, bandwidths=[0.05, 0.1, 0.2]
    )
    rows = EXPERIMENT.run(params, RunContext(seed=0, device=torch.device("cpu"), progress=False, log=lambda _: None))
    paths = EXPERIMENT.draw(rows, tmp_path)
    assert paths and all(path.exists() and path.stat().st_size > 0 for path in paths)
