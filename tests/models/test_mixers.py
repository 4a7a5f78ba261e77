"""Mixer unit tests beside the form equivalences of test_forms.py: softmax against torch's SDPA, Lightning without
decay against plain linear attention, RLS against batch ridge, the feature maps, bad inputs, and the zoo.
Comparisons use `mixer_testing.assert_close` (tolerance and reason there)."""

from __future__ import annotations

import math
from functools import partial

import pytest
import torch
from mixer_testing import assert_close
from torch.nn import functional as F

from attnbench.models import attention, lightning, recurrences
from attnbench.models.feature_maps import HedgehogFeatureMap, positive_random_features, taylor2_features
from attnbench.models.forms import evaluate, normal_qkv
from attnbench.models.zoo import MIXERS, build_mixer

SHAPE = (2, 3, 37, 5)  # batch, heads, length (prime: never a multiple of a block), dim


def _qkv(seed: int) -> dict[str, torch.Tensor]:
    return normal_qkv(torch.Generator().manual_seed(seed), SHAPE, torch.float64)


def _assert_same_map(first, second, inputs, context):
    reference, other = evaluate(first, inputs), evaluate(second, inputs)
    for quantity in reference:
        assert_close(quantity, reference[quantity], other[quantity], context=context)


@pytest.mark.parametrize("causal", [True, False])
def test_softmax_matches_torch_sdpa(causal):
    _assert_same_map(
        partial(attention.softmax_attention, causal=causal),
        partial(F.scaled_dot_product_attention, is_causal=causal),
        _qkv(0),
        f"softmax causal={causal}",
    )


def test_lightning_without_decay_is_linear_attention():
    decay = torch.ones(SHAPE[1], dtype=torch.float64)
    _assert_same_map(
        partial(attention.linear_attention, causal=True, normalize=False),
        partial(lightning.lightning_attention, decay=decay, block_size=8),
        _qkv(5),
        "lightning λ = 1",
    )


def test_linear_attention_rejects_unknown_feature_map():
    q, k, v = _qkv(1).values()
    with pytest.raises(ValueError, match="feature_map must be one of"):
        attention.linear_attention(q, k, v, causal=True, feature_map="cosine", normalize=False)


def test_bad_shapes_name_the_problem():
    q, k, v = _qkv(2).values()
    with pytest.raises(ValueError, match="k and v need the same"):
        attention.softmax_attention(q, k, v[:, :, 1:], causal=True)
    with pytest.raises(ValueError, match=r"q must be \(batch, heads, length, dim\)"):
        attention.softmax_attention(q[0], k, k, causal=True)


def test_lightning_rejects_bad_decay():
    q, k, v = _qkv(5).values()
    with pytest.raises(ValueError, match="decay entries must lie in"):
        lightning.lightning_attention(q, k, v, decay=torch.tensor([0.5, 1.5, 1.0]), block_size=4)


def test_recursive_least_squares_equals_ridge():
    q, k, v = _qkv(8).values()
    _, memory = recurrences.recursive_least_squares(q, k, v, ridge=1e-2)
    assert_close("memory", recurrences.ridge_memory(k, v, ridge=1e-2), memory, context="RLS vs ridge")


def test_taylor2_kernel_identity():
    q, k = torch.randn(2, 4, 6, generator=torch.Generator().manual_seed(10), dtype=torch.float64)
    kernel = (taylor2_features(q) * taylor2_features(k)).sum(-1)
    dot = (q * k).sum(-1)
    assert_close("kernel", 1 + dot + dot**2 / 2, kernel, context="taylor2")


def test_positive_random_features_unbiased_for_exp_kernel():
    """Mean of 2^16 features vs exp(q·k) within 6 standard errors (CLT; false-failure rate ~2e-9)."""
    generator = torch.Generator().manual_seed(11)
    q, k = 0.4 * torch.randn(2, 4, generator=generator, dtype=torch.float64)
    projection = torch.randn(2**16, 4, generator=generator, dtype=torch.float64)
    per_feature = positive_random_features(q, projection) * positive_random_features(k, projection) * 2**16
    standard_error = float(per_feature.std()) / math.sqrt(per_feature.numel())
    assert abs(float(per_feature.mean()) - math.exp(float(q @ k))) < 6 * standard_error


def test_hedgehog_feature_map_shape_and_positivity():
    features = HedgehogFeatureMap(heads=3, dim=5)(torch.randn(2, 3, 7, 5))
    assert features.shape == (2, 3, 7, 10) and bool((features > 0).all())


@pytest.mark.parametrize("name", sorted(MIXERS))
def test_zoo_modules_keep_shape(name):
    assert build_mixer(name, 16, 4)(torch.randn(2, 9, 16)).shape == (2, 9, 16)


def test_zoo_rejects_unknown_names_and_bad_widths():
    with pytest.raises(ValueError, match="mixer must be one of"):
        build_mixer("mamba", 16, 4)
    with pytest.raises(ValueError, match="positive multiple of heads"):
        build_mixer("softmax", 10, 4)
    with pytest.raises(ValueError, match=r"input must be \(batch, length, 16\)"):
        build_mixer("softmax", 16, 4)(torch.randn(2, 9, 8))
