"""Unit tests of the rf_attention family outside its claims (the generic claim test judges those): params
validation and the figure drawn from a small table."""

from __future__ import annotations

import pytest
import torch

from attnbench.sweeps.experiments.base import ConfigError, RunContext
from attnbench.sweeps.experiments.rf_attention import EXPERIMENT
from attnbench.sweeps.experiments.rf_attention.params import RFAttentionParams, slope_window


@pytest.mark.parametrize(("field", "value"), [("heads_grid", [10]), ("mean_grid", [1.0, 2.0]), ("seeds", 1),
                                              ("heads_grid", [10, 20, 40, 60])])
def test_bad_params_name_the_key(field, value):
    with pytest.raises(ConfigError, match=field):
        RFAttentionParams(**{field: value})


def test_slope_window_is_the_larger_half():
    assert slope_window([10, 20, 40, 80, 160]) == [40, 80, 160]
    assert slope_window(RFAttentionParams().heads_grid) == [160, 320, 640, 1280]


def test_figure_is_drawn_from_the_table(tmp_path):
    params = EXPERIMENT.params_of("tiny", seeds=2, test_size=50, train_size=60, heads_grid=[5, 20],
                                  samples_grid=[20, 40])
    rows = EXPERIMENT.run(params, RunContext(seed=0, device=torch.device("cpu"), progress=False, log=lambda _: None))
    paths = EXPERIMENT.draw(rows, tmp_path)
    assert paths and all(path.exists() and path.stat().st_size > 0 for path in paths)
