"""Unit tests of `attnbench.theory.identities`: each identity at sizes and settings beside those the experiment
runs (the experiment's claims are judged by tests/claims/test_claims.py). Identities hold to fp64 round-off,
bounds as stated, and each contrasting case differs by far more than round-off. All inputs come from fixed
seeds, so nothing is statistical and nothing can flake.
"""

from __future__ import annotations

import math

import pytest
import torch
from scipy import stats

from attnbench.sweeps.experiments.identities.claims import FP64_TOLERANCE, GAP_THRESHOLD
from attnbench.sweeps.experiments.identities.property_claims import FP32_TOLERANCE, SLOPE_BIAS_CONSTANT
from attnbench.theory import identities as theory

SEEDS = (0, 1)


@pytest.mark.parametrize("seed", SEEDS)
def test_softmax_is_nadaraya_watson(seed):
    assert theory.softmax_nadaraya_watson_gradient(seed) <= FP64_TOLERANCE


@pytest.mark.parametrize("seed", SEEDS)
def test_linear_attention_recalls_exactly_only_with_orthonormal_keys(seed):
    errors = theory.linear_attention_recall_errors(seed)
    assert errors["orthonormal"] <= FP64_TOLERANCE
    assert errors["correlated"] >= GAP_THRESHOLD


@pytest.mark.parametrize("seed", SEEDS)
def test_least_squares_recalls_correlated_keys(seed):
    assert theory.linear_attention_recall_errors(seed)["least_squares"] <= FP64_TOLERANCE


@pytest.mark.parametrize("seed", SEEDS)
def test_titans_linear_memory_is_delta_rule(seed):
    assert theory.titans_linear_memory_is_delta_rule(seed, n=20) <= FP64_TOLERANCE


@pytest.mark.parametrize("seed", SEEDS)
def test_recursive_least_squares_is_ridge(seed):
    assert theory.recursive_least_squares_is_ridge(seed, n=20) <= FP64_TOLERANCE


@pytest.mark.parametrize("seed", SEEDS)
def test_qk_norm_softmax_is_gaussian_smoother(seed):
    gaps = theory.qk_norm_gaussian_smoother(seed)
    assert gaps["equal_norms"] <= FP64_TOLERANCE
    assert gaps["unequal_norms"] >= GAP_THRESHOLD


@pytest.mark.parametrize("seed", SEEDS)
def test_softmax_partial_results_form_a_monoid(seed):
    assert theory.monoid_associativity_error(seed) <= FP64_TOLERANCE
    assert theory.monoid_identity_error(seed) <= FP64_TOLERANCE
    assert theory.lse_merge_error(seed) <= FP64_TOLERANCE


@pytest.mark.parametrize("n", [1, 2, 37, 257])
@pytest.mark.parametrize("logit_scale", [1.0, 50.0])
def test_aaren_scan_equals_causal_softmax(n, logit_scale):
    assert theory.aaren_scan_error(0, n=n, logit_scale=logit_scale) <= FP64_TOLERANCE


def test_aaren_scan_fp32_does_not_overflow_at_logit_scale_50():
    assert theory.aaren_scan_error(0, n=257, logit_scale=50.0, dtype=torch.float32) <= FP32_TOLERANCE


@pytest.mark.parametrize("block_size", [1, 7, 64])
@pytest.mark.parametrize("decay", [1.0, 0.97])
def test_lightning_tiling_equals_quadratic(block_size, decay):
    errors = theory.lightning_tiling_errors(0, n=150, block_size=block_size, decays=(decay, 0.5))
    assert errors["forward"] <= FP64_TOLERANCE and errors["gradient"] <= FP64_TOLERANCE


@pytest.mark.parametrize("chunk_size", [1, 16, 50])
@pytest.mark.parametrize("beta_max", [1.0, 2.0])
def test_deltanet_chunked_equals_recurrent(chunk_size, beta_max):
    errors = theory.deltanet_chunk_errors(0, chunk_size=chunk_size, beta_max=beta_max)
    assert errors["forward"] <= FP64_TOLERANCE and errors["gradient"] <= FP64_TOLERANCE


@pytest.mark.parametrize("n", [16, 256, 4096])
def test_sigmoid_row_sum_is_n_over_n_plus_one(n):
    assert theory.sigmoid_row_sum_error(n) <= FP64_TOLERANCE


@pytest.mark.parametrize("causal", [True, False])
def test_sigmoid_tiling_is_exact(causal):
    assert theory.sigmoid_tiling_error(0, causal=causal) <= FP64_TOLERANCE


@pytest.mark.parametrize("n", [16, 128, 1024])
def test_sigmoid_duplication_within_bound(n):
    duplication = theory.sigmoid_duplication(0, n)
    assert duplication["deviation"] <= duplication["bound"]


def test_sigmoid_duplication_shrinks_like_one_over_n():
    sizes = [512, 1024, 2048]
    changes = [theory.sigmoid_duplication(0, n)["row_sum_change"] for n in sizes]
    slope = stats.linregress([math.log(n) for n in sizes], [math.log(c) for c in changes]).slope
    assert -1 <= slope <= -1 + SLOPE_BIAS_CONSTANT / sizes[0]


@pytest.mark.parametrize("seed", SEEDS)
def test_relu_linear_attention_cannot_tell_q_from_2q(seed):
    gaps = theory.query_scaling_weight_gaps(seed)
    assert gaps["relu"] <= FP64_TOLERANCE
    assert gaps["softmax"] >= GAP_THRESHOLD


@pytest.mark.parametrize("magnitude", [0.5, 1.0, 4.0])
def test_mala_weights_closed_form(magnitude):
    errors = theory.mala_weight_errors(0, magnitude)
    assert errors["closed_form"] <= FP64_TOLERANCE and errors["sum_to_one"] <= FP64_TOLERANCE


@pytest.mark.parametrize("seed", SEEDS)
def test_homogeneous_kernel_gradient_scales_as_one_over_c(seed):
    assert theory.homogeneous_gradient_scaling_error(seed) <= FP64_TOLERANCE


def test_softmax_jacobian_entries_at_most_a_quarter():
    assert theory.softmax_jacobian_max_entry(0, rows=16) <= 0.25


@pytest.mark.parametrize("epsilon", [1e-2, 1e-4, 1e-6])
def test_normalized_kernel_tight_case_reaches_one_over_four_epsilon(epsilon):
    assert theory.normalized_kernel_tight_case_error(epsilon) <= FP64_TOLERANCE


def test_taylor2_feature_map_identity():
    assert theory.taylor2_kernel_error(0) <= FP64_TOLERANCE


@pytest.mark.parametrize("seed", SEEDS)
def test_softmax_monotone_elu_not(seed):
    stats = theory.attention_weight_statistics(seed)
    assert stats["softmax_monotonicity"] == 1.0
    assert stats["elu1_monotonicity"] < 1.0


@pytest.mark.parametrize("seed", SEEDS)
def test_softmax_entropy_below_elu(seed):
    stats = theory.attention_weight_statistics(seed)
    assert stats["softmax_entropy"] < stats["elu1_entropy"] <= stats["uniform_entropy"] + 1e-12


def test_normalized_linear_attention_is_gated_recurrence():
    assert theory.normalized_recurrence_error(0) <= FP64_TOLERANCE


def test_scalar_gated_recurrence_is_decay_masked_attention():
    assert theory.gated_recurrence_error(0) <= FP64_TOLERANCE
