"""Unit tests of the rf_attention family outside its claims (the generic claim test judges those): params
validation and the figure drawn from a small table."""

from __future__ import annotations

import pytest
import torch

from attnbench.errors import ConfigError
from attnbench.sweeps.experiments.base import RunContext
from attnbench.sweeps.experiments.rf_attention import EXPERIMENT
from attnbench.sweeps.experiments.rf_attention.params import RFAttentionParams, slope_window


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("heads.grid", [10]),
        ("mean.grid", [1.0, 2.0]),
        ("heads.seeds", 1),
        ("heads.grid", [10, 20, 40, 60]),
        ("mean.power", 3),
        ("keys.grid", [10, 5]),
        ("sections", ["nope"]),
    ],
)
def test_bad_params_name_the_key(key, value):
    with pytest.raises(ConfigError, match=f"params.{key}"):
        EXPERIMENT.params_of("quick", **{key: value})


def test_slope_window_is_the_larger_half():
    assert slope_window([10, 20, 40, 80, 160]) == [40, 80, 160]
    assert slope_window(RFAttentionParams().heads.grid) == [160, 320, 640, 1280]


def test_a_run_computes_only_the_selected_sections():
    params = EXPERIMENT.params_of("tiny", sections=["permutation"], permutation={"seeds": 2, "test_size": 20})
    rows = EXPERIMENT.run(params, RunContext(seed=0, device=torch.device("cpu"), progress=False, log=lambda _: None))
    assert set(rows.section) == {"permutation"} and sorted(rows.seed) == [0, 1]


def test_figure_is_drawn_from_the_table(tmp_path):
    small = {"seeds": 2, "test_size": 50}
    params = EXPERIMENT.params_of(
        "tiny",
        heads={**small, "train_size": 60, "grid": [5, 20]},
        samples={**small, "grid": [20, 40]},
        permutation=small,
        mean={**small, "train_size": 60},
        keys={**small, "train_size": 60},
    )
    rows = EXPERIMENT.run(params, RunContext(seed=0, device=torch.device("cpu"), progress=False, log=lambda _: None))
    paths = EXPERIMENT.draw(rows, tmp_path)
    assert paths and all(path.exists() and path.stat().st_size > 0 for path in paths)
