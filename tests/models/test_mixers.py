"""Mixer unit tests: each parallel / recurrent / chunked / tiled form against its reference, in fp64.

Forward outputs and all input gradients (autograd through both forms) must agree to 1e-10 (absolute, on
O(1) inputs): every pair is an exact algebraic identity, so the only error is fp64 round-off (1e-13 to 1e-16).
"""

from __future__ import annotations

import math
from functools import partial

import pytest
import torch
from mixer_testing import forward_and_grad_errors, random_tensors
from torch.nn import functional as F

from attnbench.models import aaren, attention, deltanet, lightning, recurrences, sigmoid_attention
from attnbench.models.feature_maps import HedgehogFeatureMap, positive_random_features, taylor2_features
from attnbench.models.zoo import MIXERS, build_mixer

TOLERANCE = 1e-10
SHAPE = (2, 3, 37, 5)  # batch, heads, length (prime: never a multiple of a block), dim


@pytest.mark.parametrize("causal", [True, False])
def test_softmax_matches_torch_sdpa(causal):
    q, k, v = random_tensors(SHAPE, SHAPE, SHAPE, seed=0)
    mine = partial(attention.softmax_attention, causal=causal)
    torch_sdpa = partial(F.scaled_dot_product_attention, is_causal=causal)
    assert max(forward_and_grad_errors(mine, torch_sdpa, [q, k, v])) < TOLERANCE


@pytest.mark.parametrize(("feature_map", "normalize"), [("identity", False), ("elu1", True), ("elu1", False)])
def test_linear_attention_parallel_equals_recurrent(feature_map, normalize):
    q, k, v = random_tensors(SHAPE, SHAPE, SHAPE, seed=1)
    parallel = partial(attention.linear_attention, causal=True, feature_map=feature_map, normalize=normalize)
    recurrent = partial(attention.linear_attention_recurrent, feature_map=feature_map, normalize=normalize)
    assert max(forward_and_grad_errors(parallel, recurrent, [q, k, v])) < TOLERANCE


def test_linear_attention_rejects_unknown_feature_map():
    q, k, v = random_tensors(SHAPE, SHAPE, SHAPE, seed=1)
    with pytest.raises(ValueError, match="feature_map must be one of"):
        attention.linear_attention(q, k, v, causal=True, feature_map="cosine", normalize=False)


def test_bad_shapes_name_the_problem():
    q, k, v = random_tensors(SHAPE, SHAPE, (2, 3, 36, 5), seed=2)
    with pytest.raises(ValueError, match="k and v need the same"):
        attention.softmax_attention(q, k, v, causal=True)
    with pytest.raises(ValueError, match=r"q must be \(batch, heads, length, dim\)"):
        attention.softmax_attention(q[0], k, k, causal=True)


@pytest.mark.parametrize("causal", [True, False])
@pytest.mark.parametrize("block_size", [1, 7, 64])
def test_sigmoid_tiled_equals_full(causal, block_size):
    q, k, v = random_tensors(SHAPE, SHAPE, SHAPE, seed=3)
    full = partial(sigmoid_attention.sigmoid_attention, causal=causal)
    tiled = partial(sigmoid_attention.sigmoid_attention_tiled, causal=causal, block_size=block_size)
    assert max(forward_and_grad_errors(full, tiled, [q, k, v])) < TOLERANCE


@pytest.mark.parametrize("beta_max", [1.0, 2.0])
@pytest.mark.parametrize("chunk_size", [1, 5, 16, 64])
def test_deltanet_chunked_equals_recurrent(beta_max, chunk_size):
    q, k, v, beta_logits = random_tensors(SHAPE, SHAPE, SHAPE, SHAPE[:3], seed=4)

    def with_beta(form):
        def run(q, k, v, beta_logits):
            return form(q, F.normalize(k, dim=-1), v, beta_max * torch.sigmoid(beta_logits))

        return run

    chunked = with_beta(partial(deltanet.delta_rule_chunked, chunk_size=chunk_size))
    recurrent = with_beta(deltanet.delta_rule_recurrent)
    assert max(forward_and_grad_errors(chunked, recurrent, [q, k, v, beta_logits])) < TOLERANCE


@pytest.mark.parametrize("block_size", [1, 7, 64])
@pytest.mark.parametrize("decays", [(1.0, 1.0, 1.0), (0.97, 0.5, 1.0)])
def test_lightning_tiled_equals_quadratic(block_size, decays):
    q, k, v = random_tensors(SHAPE, SHAPE, SHAPE, seed=5)
    decay = torch.tensor(decays, dtype=torch.float64)
    tiled = partial(lightning.lightning_attention, decay=decay, block_size=block_size)
    quadratic = partial(lightning.decayed_linear_attention, decay=decay)
    assert max(forward_and_grad_errors(tiled, quadratic, [q, k, v])) < TOLERANCE


def test_lightning_without_decay_is_linear_attention():
    q, k, v = random_tensors(SHAPE, SHAPE, SHAPE, seed=5)
    decay = torch.ones(SHAPE[1], dtype=torch.float64)
    plain = partial(attention.linear_attention, causal=True, normalize=False)
    tiled = partial(lightning.lightning_attention, decay=decay, block_size=8)
    assert max(forward_and_grad_errors(plain, tiled, [q, k, v])) < TOLERANCE


def test_lightning_rejects_bad_decay():
    q, k, v = random_tensors(SHAPE, SHAPE, SHAPE, seed=5)
    with pytest.raises(ValueError, match="decay entries must lie in"):
        lightning.lightning_attention(q, k, v, decay=torch.tensor([0.5, 1.5, 1.0]), block_size=4)


def test_gated_recurrence_equals_masked_attention():
    q, k, v, raw = random_tensors(SHAPE, SHAPE, SHAPE, SHAPE[:3], seed=6)

    def with_gate(form):
        return lambda q, k, v, raw: form(q, k, v, F.logsigmoid(raw))

    parallel = with_gate(recurrences.gated_linear_attention_parallel)
    recurrent = with_gate(recurrences.gated_linear_attention_recurrent)
    assert max(forward_and_grad_errors(parallel, recurrent, [q, k, v, raw])) < TOLERANCE


def test_normalized_recurrence_equals_parallel():
    q, k, v = random_tensors(SHAPE, SHAPE, SHAPE, seed=7)

    def on_features(form):
        return lambda q, k, v: form(F.elu(q) + 1, F.elu(k) + 1, v)

    parallel = on_features(recurrences.normalized_linear_attention_parallel)
    recurrent = on_features(recurrences.normalized_linear_attention_recurrent)
    assert max(forward_and_grad_errors(parallel, recurrent, [q, k, v])) < TOLERANCE


def test_recursive_least_squares_equals_ridge():
    q, k, v = random_tensors(SHAPE, SHAPE, SHAPE, seed=8)
    _, memory = recurrences.recursive_least_squares(q, k, v, ridge=1e-2)
    assert float((memory - recurrences.ridge_memory(k, v, ridge=1e-2)).detach().abs().max()) < TOLERANCE


def test_aaren_scan_and_streaming_equal_causal_softmax():
    query, k, v = random_tensors(SHAPE[:2] + SHAPE[3:], SHAPE, SHAPE, seed=9)

    def softmax_reference(query, k, v):
        queries = query.unsqueeze(2).expand(k.shape)
        return attention.softmax_attention(queries, k, v, causal=True)

    assert max(forward_and_grad_errors(aaren.aaren_scan, softmax_reference, [query, k, v])) < TOLERANCE
    assert max(forward_and_grad_errors(aaren.aaren_streaming, softmax_reference, [query, k, v])) < TOLERANCE


def test_taylor2_kernel_identity():
    q, k = (x.detach() for x in random_tensors((4, 6), (4, 6), seed=10))
    kernel = (taylor2_features(q) * taylor2_features(k)).sum(-1)
    dot = (q * k).sum(-1)
    assert float((kernel - (1 + dot + dot**2 / 2)).abs().max()) < TOLERANCE


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
    try:
        mixer = build_mixer(name, 16, 4)
    except ImportError:
        pytest.skip(f"{name} needs a module that is not importable yet")
    assert mixer(torch.randn(2, 9, 16)).shape == (2, 9, 16)


def test_zoo_rejects_unknown_names_and_bad_widths():
    with pytest.raises(ValueError, match="mixer must be one of"):
        build_mixer("mamba", 16, 4)
    with pytest.raises(ValueError, match="positive multiple of heads"):
        build_mixer("softmax", 10, 4)
    with pytest.raises(ValueError, match=r"input must be \(batch, length, 16\)"):
        build_mixer("softmax", 16, 4)(torch.randn(2, 9, 8))
