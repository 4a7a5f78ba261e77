"""Token-selection task (Tarzanagh et al. 2023): index-seeded sampling, documented distributions, the oracle.

Everything runs from fixed seeds; the one statistical check (label balance) states its false-failure rate.
"""

from __future__ import annotations

import math

import pytest
import torch

from attnbench.errors import ConfigError
from attnbench.tasks.base import Batch
from attnbench.tasks.token_selection import (
    TokenSelectionConfig,
    TokenSelectionData,
    joint_training_instance,
    optimal_tokens,
    sample_ensemble,
    single_input_instance,
    token_scores,
)

CONFIG = TokenSelectionConfig(n=6, T=8, d=10)


def test_sampling_is_a_pure_function_of_config_split_index():
    a, b = CONFIG.sample("train", 3), CONFIG.sample("train", 3)
    for name in ("inputs", "targets", "loss_mask", "z", "v"):
        assert torch.equal(getattr(a, name), getattr(b, name))
    assert not torch.equal(CONFIG.sample("train", 4).inputs, a.inputs)
    assert not torch.equal(CONFIG.sample("test", 3).inputs, a.inputs)


def test_ensemble_is_the_stack_of_single_indices():
    ens = sample_ensemble(CONFIG, "val", 3, first=2)
    assert isinstance(ens, TokenSelectionData)
    assert ens.inputs.shape == (3, 6, 8, 10) and ens.z.shape == (3, 6, 10) and ens.targets.shape == (3, 6)
    for r in range(3):
        alone = CONFIG.sample("val", 2 + r)
        assert torch.equal(ens.inputs[r], alone.inputs) and torch.equal(ens.v[r], alone.v)


def test_tokens_queries_and_head_are_unit_norm_fp64_and_labels_are_signs():
    data = sample_ensemble(CONFIG, "train", 4)
    assert isinstance(data, Batch) and data.inputs.dtype == torch.float64
    for t in (data.inputs, data.z, data.v):
        assert torch.allclose(t.norm(dim=-1), torch.ones((), dtype=torch.float64), atol=1e-12)
    assert set(data.targets.unique().tolist()) <= {-1.0, 1.0}
    assert data.loss_mask.all() and data.loss_mask.shape == data.targets.shape


def test_labels_are_balanced():
    """Y ~ uniform on +-1: over 200 x 6 labels the mean is within 4 sd of 0 (false-failure rate < 1e-4)."""
    Y = sample_ensemble(CONFIG, "train", 200).targets
    assert abs(Y.mean().item()) <= 4 / math.sqrt(Y.numel())


def test_self_attention_uses_the_first_token_as_query():
    data = TokenSelectionConfig(n=3, T=4, d=5, self_attention=True).sample("train", 0)
    assert torch.equal(data.z, data.inputs[:, 0])


def test_oracle_matches_an_independent_loop():
    data = sample_ensemble(CONFIG, "test", 5)
    opt = CONFIG.oracle(data)
    assert torch.equal(opt, optimal_tokens(data.inputs, data.targets, data.v))
    for r in range(5):
        for i in range(CONFIG.n):
            scores = [float(data.targets[r, i] * data.inputs[r, i, t] @ data.v[r]) for t in range(CONFIG.T)]
            assert opt[r, i] == max(range(CONFIG.T), key=scores.__getitem__)
    assert token_scores(data.inputs, data.targets, data.v).shape == (5, CONFIG.n, CONFIG.T)


def test_tied_optimal_tokens_are_rejected():
    X = torch.tensor([[[1.0, 0.0], [1.0, 0.0], [0.0, 1.0]]], dtype=torch.float64)
    with pytest.raises(ValueError, match="not unique"):
        optimal_tokens(X, torch.tensor([1.0], dtype=torch.float64), torch.tensor([1.0, 0.0], dtype=torch.float64))


@pytest.mark.parametrize("bad", [dict(n=0), dict(T=1), dict(d=-2)])
def test_bad_config_is_named(bad):
    key = next(iter(bad))
    with pytest.raises(ConfigError, match=key):
        TokenSelectionConfig(**bad)


def test_hand_built_instances_have_the_documented_scores():
    local = single_input_instance(0.0)
    assert token_scores(local.X, local.Y, local.v).tolist() == [[1.0, 0.9, 0.0]]
    assert torch.equal(local.keys[0, :, 2], torch.zeros(3))  # attention does not see the score coordinate
    joint = joint_training_instance(relaxed=True)
    assert joint.X.shape == (3, 2, 2) and joint.Y.tolist() == [1.0, -1.0, 1.0]
    assert joint.X[2, 1].tolist() == [0.5, 1.5]
