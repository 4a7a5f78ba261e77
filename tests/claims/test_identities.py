"""Claim tests of the identities family (issue 8): every check of `attnbench.theory.identities` at tiny sizes.

Identities are asserted to `FP64_TOLERANCE` (1e-10 relative; fp64 round-off measures 1e-16 to 1e-13); bounds
are asserted as stated; "gap" contrasts must exceed `GAP_THRESHOLD`. All inputs come from fixed seeds, so
nothing is statistical and nothing can flake.
"""

from __future__ import annotations

import math

import pytest
import torch
from claim_testing import assert_claim_passes, run_quietly

from attnbench.sweeps.experiments.base import ConfigError
from attnbench.sweeps.experiments.identities import (
    EXPERIMENT,
    FP32_TOLERANCE,
    FP64_TOLERANCE,
    GAP_THRESHOLD,
    SLOPE_TOLERANCE,
    IdentitiesParams,
)
from attnbench.theory import identities as theory

SEEDS = (0, 1)


@pytest.mark.claim("identities.softmax_nadaraya_watson")
@pytest.mark.parametrize("seed", SEEDS)
def test_softmax_is_nadaraya_watson(seed):
    assert theory.softmax_nadaraya_watson_gradient(seed) <= FP64_TOLERANCE


@pytest.mark.claim("identities.linear_attention_ignores_key_covariance")
@pytest.mark.parametrize("seed", SEEDS)
def test_linear_attention_recalls_exactly_only_with_orthonormal_keys(seed):
    errors = theory.linear_attention_recall_errors(seed)
    assert errors["orthonormal"] <= FP64_TOLERANCE
    assert errors["correlated"] >= GAP_THRESHOLD


@pytest.mark.claim("identities.least_squares_exact_recall")
@pytest.mark.parametrize("seed", SEEDS)
def test_least_squares_recalls_correlated_keys(seed):
    assert theory.linear_attention_recall_errors(seed)["least_squares"] <= FP64_TOLERANCE


@pytest.mark.claim("identities.titans_linear_is_delta_rule")
@pytest.mark.parametrize("seed", SEEDS)
def test_titans_linear_memory_is_delta_rule(seed):
    assert theory.titans_linear_memory_is_delta_rule(seed, n=20) <= FP64_TOLERANCE


@pytest.mark.claim("identities.rls_is_ridge")
@pytest.mark.parametrize("seed", SEEDS)
def test_recursive_least_squares_is_ridge(seed):
    assert theory.recursive_least_squares_is_ridge(seed, n=20) <= FP64_TOLERANCE


@pytest.mark.claim("identities.qk_norm_gaussian_smoother")
@pytest.mark.parametrize("seed", SEEDS)
def test_qk_norm_softmax_is_gaussian_smoother(seed):
    gaps = theory.qk_norm_gaussian_smoother(seed)
    assert gaps["equal_norms"] <= FP64_TOLERANCE
    assert gaps["unequal_norms"] >= GAP_THRESHOLD


@pytest.mark.claim("identities.softmax_monoid")
@pytest.mark.parametrize("seed", SEEDS)
def test_softmax_partial_results_form_a_monoid(seed):
    assert theory.monoid_associativity_error(seed) <= FP64_TOLERANCE
    assert theory.monoid_identity_error(seed) <= FP64_TOLERANCE
    assert theory.lse_merge_error(seed) <= FP64_TOLERANCE


@pytest.mark.claim("identities.aaren_scan")
@pytest.mark.parametrize("n", [1, 2, 37, 257])
@pytest.mark.parametrize("logit_scale", [1.0, 50.0])
def test_aaren_scan_equals_causal_softmax(n, logit_scale):
    assert theory.aaren_scan_error(0, n=n, logit_scale=logit_scale) <= FP64_TOLERANCE


@pytest.mark.claim("identities.aaren_scan_fp32_no_overflow")
def test_aaren_scan_fp32_does_not_overflow_at_logit_scale_50():
    assert theory.aaren_scan_error(0, n=257, logit_scale=50.0, dtype=torch.float32) <= FP32_TOLERANCE


@pytest.mark.claim("identities.lightning_tiling")
@pytest.mark.parametrize("block_size", [1, 7, 64])
@pytest.mark.parametrize("decay", [1.0, 0.97])
def test_lightning_tiling_equals_quadratic(block_size, decay):
    errors = theory.lightning_tiling_errors(0, n=150, block_size=block_size, decays=(decay, 0.5))
    assert errors["forward"] <= FP64_TOLERANCE and errors["gradient"] <= FP64_TOLERANCE


@pytest.mark.claim("identities.deltanet_chunked")
@pytest.mark.parametrize("chunk_size", [1, 16, 50])
@pytest.mark.parametrize("beta_max", [1.0, 2.0])
def test_deltanet_chunked_equals_recurrent(chunk_size, beta_max):
    errors = theory.deltanet_chunk_errors(0, chunk_size=chunk_size, beta_max=beta_max)
    assert errors["forward"] <= FP64_TOLERANCE and errors["gradient"] <= FP64_TOLERANCE


@pytest.mark.claim("identities.sigmoid_row_sum")
@pytest.mark.parametrize("n", [16, 256, 4096])
def test_sigmoid_row_sum_is_n_over_n_plus_one(n):
    assert theory.sigmoid_row_sum_error(n) <= FP64_TOLERANCE


@pytest.mark.claim("identities.sigmoid_tiling")
@pytest.mark.parametrize("causal", [True, False])
def test_sigmoid_tiling_is_exact(causal):
    assert theory.sigmoid_tiling_error(0, causal=causal) <= FP64_TOLERANCE


@pytest.mark.claim("identities.sigmoid_duplication_bound")
@pytest.mark.parametrize("n", [16, 128, 1024])
def test_sigmoid_duplication_within_bound(n):
    duplication = theory.sigmoid_duplication(0, n)
    assert duplication["deviation"] <= duplication["bound"]


@pytest.mark.claim("identities.sigmoid_duplication_one_over_n")
def test_sigmoid_duplication_shrinks_like_one_over_n():
    sizes = [512, 1024, 2048]
    changes = [theory.sigmoid_duplication(0, n)["row_sum_change"] for n in sizes]
    assert abs(theory.log_log_slope(sizes, changes) + 1) <= SLOPE_TOLERANCE


@pytest.mark.claim("identities.relu_linear_not_injective")
@pytest.mark.parametrize("seed", SEEDS)
def test_relu_linear_attention_cannot_tell_q_from_2q(seed):
    gaps = theory.query_scaling_weight_gaps(seed)
    assert gaps["relu"] <= FP64_TOLERANCE
    assert gaps["softmax"] >= GAP_THRESHOLD


@pytest.mark.claim("identities.mala_closed_form")
@pytest.mark.parametrize("magnitude", [0.5, 1.0, 4.0])
def test_mala_weights_closed_form(magnitude):
    errors = theory.mala_weight_errors(0, magnitude)
    assert errors["closed_form"] <= FP64_TOLERANCE and errors["sum_to_one"] <= FP64_TOLERANCE


@pytest.mark.claim("identities.homogeneous_gradient_scaling")
@pytest.mark.parametrize("seed", SEEDS)
def test_homogeneous_kernel_gradient_scales_as_one_over_c(seed):
    assert theory.homogeneous_gradient_scaling_error(seed) <= FP64_TOLERANCE


@pytest.mark.claim("identities.softmax_jacobian_bounded")
def test_softmax_jacobian_entries_at_most_a_quarter():
    assert theory.softmax_jacobian_max_entry(0, rows=16) <= 0.25


@pytest.mark.claim("identities.normalized_kernel_tight_case")
@pytest.mark.parametrize("epsilon", [1e-2, 1e-4, 1e-6])
def test_normalized_kernel_tight_case_reaches_one_over_four_epsilon(epsilon):
    assert theory.normalized_kernel_tight_case_error(epsilon) <= FP64_TOLERANCE


@pytest.mark.claim("identities.taylor2_kernel")
def test_taylor2_feature_map_identity():
    assert theory.taylor2_kernel_error(0) <= FP64_TOLERANCE


@pytest.mark.claim("identities.hedgehog_monotonicity")
@pytest.mark.parametrize("seed", SEEDS)
def test_softmax_monotone_elu_not(seed):
    stats = theory.attention_weight_statistics(seed)
    assert stats["softmax_monotonicity"] == 1.0
    assert stats["elu1_monotonicity"] < 1.0


@pytest.mark.claim("identities.hedgehog_entropy")
@pytest.mark.parametrize("seed", SEEDS)
def test_softmax_entropy_below_elu(seed):
    stats = theory.attention_weight_statistics(seed)
    assert stats["softmax_entropy"] < stats["elu1_entropy"] <= stats["uniform_entropy"] + 1e-12


@pytest.mark.claim("identities.normalized_linear_attention_recurrence")
def test_normalized_linear_attention_is_gated_recurrence():
    assert theory.normalized_recurrence_error(0) <= FP64_TOLERANCE


@pytest.mark.claim("identities.gated_recurrence_masked_attention")
def test_scalar_gated_recurrence_is_decay_masked_attention():
    assert theory.gated_recurrence_error(0) <= FP64_TOLERANCE


def test_experiment_tiny_run_passes_every_claim(tmp_path):
    params = IdentitiesParams(
        seeds=1,
        scan_lengths=[5],
        tiling_length=20,
        block_sizes=[7],
        chunk_length=12,
        chunk_sizes=[5],
        sigmoid_lengths=[16, 512, 1024],
        mala_magnitudes=[2.0],
        tight_epsilons=[1e-3],
    )
    table = run_quietly(EXPERIMENT, params)
    assert {"metric", "value", "predicted", "step", "seed"} <= set(table.columns)
    for claim in EXPERIMENT.claims:
        assert_claim_passes(EXPERIMENT, table, claim.id)
    assert all(path.exists() for path in EXPERIMENT.draw(table, tmp_path))
    assert not math.isnan(table["value"].astype(float).sum())


def test_params_reject_bad_values():
    with pytest.raises(ConfigError, match="decays"):
        IdentitiesParams(decays=[1.5])
    with pytest.raises(ConfigError, match="slope_min_length"):
        IdentitiesParams(sigmoid_lengths=[16, 32])
