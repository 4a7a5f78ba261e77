"""The piecewise-linear test-time-regression stream and its closed-form ridge oracles (fp64)."""

from __future__ import annotations

import pytest
import torch

from attnbench.errors import ConfigError
from attnbench.tasks.piecewise_linear import (
    PiecewiseLinearConfig,
    prefix_ridge_predict,
    split_tokens,
)

CONFIG = PiecewiseLinearConfig(dim=3, length=48, segment_length=16, batch_size=2)


def _direct_ridge(x: torch.Tensor, y: torch.Tensor, query: torch.Tensor, ridge: float, intercept: bool) -> torch.Tensor:
    """Ridge fitted by an explicit solve on the rows of (x, y), evaluated at ``query`` (unpenalised intercept)."""
    x_mean = x.mean(0) if intercept else torch.zeros(x.shape[1], dtype=x.dtype)
    y_mean = y.mean(0) if intercept else torch.zeros(y.shape[1], dtype=y.dtype)
    xc, yc = x - x_mean, y - y_mean
    weights = torch.linalg.solve(xc.T @ xc + ridge * torch.eye(x.shape[1], dtype=x.dtype), xc.T @ yc)
    return y_mean + (query - x_mean) @ weights


def test_sampling_is_a_pure_function_of_config_split_index():
    first, again = CONFIG.sample("train", 3), CONFIG.sample("train", 3)
    assert torch.equal(first.inputs, again.inputs)
    assert not torch.equal(first.inputs, CONFIG.sample("test", 3).inputs)
    assert not torch.equal(first.inputs, CONFIG.sample("train", 4).inputs)


def test_shapes_mask_and_values_follow_one_map_per_segment():
    config = PiecewiseLinearConfig(dim=3, length=48, segment_length=16, batch_size=2, noise_var=0.0)
    batch = config.sample("test", 0)
    x, y = split_tokens(batch.inputs)
    assert batch.inputs.shape == (2, 48, 6) and batch.targets.shape == (2, 48, 3)
    assert not batch.loss_mask[:, 0].any() and batch.loss_mask[:, 1:].all()
    for start in (0, 16, 32):  # noise-free: each segment's values are one linear map of its keys
        rows = slice(start, start + 16)
        maps = torch.linalg.lstsq(x[0, rows], y[0, rows]).solution
        assert torch.allclose(x[0, rows] @ maps, y[0, rows], atol=1e-10)
    whole = torch.linalg.lstsq(x[0], y[0]).solution
    assert (x[0] @ whole - y[0]).abs().max() > 1e-2  # but not the whole stream


@pytest.mark.parametrize("intercept", [False, True])
def test_prefix_ridge_matches_direct_solve(intercept):
    x, y = split_tokens(CONFIG.sample("test", 1).inputs)
    predicted = prefix_ridge_predict(x, y, 0.3, intercept=intercept)
    assert torch.equal(predicted[:, 0], torch.zeros_like(predicted[:, 0]))
    for t in (1, 5, 30, 47):
        direct = _direct_ridge(x[1, :t], y[1, :t], x[1, t], 0.3, intercept)
        assert torch.allclose(predicted[1, t], direct, atol=1e-12)


def test_bayes_oracle_restarts_at_segment_boundaries():
    batch = CONFIG.sample("test", 2)
    x, y = split_tokens(batch.inputs)
    predicted = CONFIG.oracle(batch)
    assert torch.equal(predicted[:, 16], torch.zeros_like(predicted[:, 16]))  # prior mean at a boundary
    direct = _direct_ridge(x[0, 16:25], y[0, 16:25], x[0, 25], CONFIG.bayes_ridge, False)
    assert torch.allclose(predicted[0, 25], direct, atol=1e-12)


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("dim", 0),
        ("length", 1),
        ("segment_length", 0),
        ("segment_length", 49),
        ("noise_var", -1.0),
        ("key_spread", 0.0),
    ],
)
def test_bad_config_raises(field, value):
    with pytest.raises(ConfigError, match=field.split("_")[0]):
        PiecewiseLinearConfig(**{"length": 48, "segment_length": 16, field: value})
