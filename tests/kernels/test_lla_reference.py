"""Identities of the fp64 LLA references (Zuo et al. 2025 §2-3; notes papers/lla.md §1.3-1.5)."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from lla_helpers import direct_weighted_least_squares, random_qkv

from attnbench.kernels.lla.reference import (
    lla_reference,
    lla_reference_centred,
    lla_reference_terms,
    local_linear_fit,
    softmax_attention_reference,
    softmax_kernel_weights,
)

RIDGES = [0.01, 0.1, 1.0]


@pytest.mark.parametrize("causal", [True, False])
@pytest.mark.parametrize("ridge", RIDGES)
def test_closed_form_equals_centred_form(causal, ridge):
    q, k, v = random_qkv(2, 2, 11, 4, seed=0, value_dim=3)
    torch.testing.assert_close(
        lla_reference(q, k, v, causal=causal, ridge=ridge),
        lla_reference_centred(q, k, v, causal=causal, ridge=ridge),
        rtol=0,
        atol=1e-11,
    )


@pytest.mark.parametrize("ridge", RIDGES)
def test_closed_form_equals_direct_weighted_least_squares(ridge):
    q, k, v = random_qkv(1, 1, 9, 3, seed=1, value_dim=2)
    w = softmax_kernel_weights(q, k, causal=True, scale=0.5)[0, 0].numpy()
    expected = np.stack(
        [
            direct_weighted_least_squares(
                w[i, : i + 1], q[0, 0, i].numpy(), k[0, 0, : i + 1].numpy(), v[0, 0, : i + 1].numpy(), ridge
            )
            for i in range(9)
        ]
    )
    actual = lla_reference(q, k, v, scale=0.5, ridge=ridge)[0, 0].numpy()
    np.testing.assert_allclose(actual, expected, rtol=0, atol=1e-11)


def test_equivalent_kernel_rows_sum_to_one():
    terms = lla_reference_terms(*random_qkv(2, 3, 10, 4, seed=2), ridge=0.05)
    torch.testing.assert_close(
        terms.equivalent_kernel.sum(-1), torch.ones(2, 3, 10, dtype=torch.float64), rtol=0, atol=1e-12
    )
    assert (terms.equivalent_kernel < 0).any(), "LLA's equivalent kernel should take negative values somewhere"


def test_infinite_ridge_gives_softmax_attention():
    """ρ = O(1/λ), so the gap to softmax attention shrinks like 1/λ."""
    q, k, v = random_qkv(1, 2, 12, 4, seed=3)
    softmax = softmax_attention_reference(q, k, v)
    gaps = [float((lla_reference(q, k, v, ridge=ridge) - softmax).abs().max()) for ridge in (1e3, 1e6, 1e9)]
    assert gaps[2] < 1e-8
    assert gaps[0] / gaps[1] == pytest.approx(1e3, rel=0.05)


def test_uniform_weights_give_ridge_regression_with_intercept():
    """scale = 0 makes every weight 1: o_i = v̄ + Ĉ_vk(Ĉ_kk + λI)⁻¹(q_i − k̄), the affine-MesaNet prediction."""
    q, k, v = random_qkv(1, 1, 8, 3, seed=4, value_dim=2)
    ridge = 0.3
    actual = lla_reference(q, k, v, scale=0.0, ridge=ridge)[0, 0].numpy()
    for i in range(8):
        keys, values = k[0, 0, : i + 1].numpy(), v[0, 0, : i + 1].numpy()
        k_mean, v_mean = keys.mean(0), values.mean(0)
        c_kk = (keys - k_mean).T @ (keys - k_mean) / (i + 1) + ridge * np.eye(3)
        c_vk = (values - v_mean).T @ (keys - k_mean) / (i + 1)
        expected = v_mean + c_vk @ np.linalg.solve(c_kk, q[0, 0, i].numpy() - k_mean)
        np.testing.assert_allclose(actual[i], expected, rtol=0, atol=1e-12)


def test_omega_over_delta_is_one_plus_squared_mahalanobis():
    q, k, v = random_qkv(1, 2, 10, 4, seed=5)
    ridge = 0.2
    terms = lla_reference_terms(q, k, v, ridge=ridge)
    p = terms.weights / terms.omega[..., None]
    k_mean = p @ k
    centred = k[..., None, :, :] - k_mean[..., :, None, :]
    c_kk = torch.einsum("bhij,bhijd,bhije->bhide", p, centred, centred) + ridge * torch.eye(4, dtype=q.dtype)
    offset = (q - k_mean)[..., None]
    mahalanobis_sq = (offset.transpose(-1, -2) @ torch.linalg.solve(c_kk, offset))[..., 0, 0]
    torch.testing.assert_close(terms.omega / terms.delta, 1 + mahalanobis_sq, rtol=1e-11, atol=0)


def test_first_position_returns_first_value():
    q, k, v = random_qkv(2, 2, 6, 4, seed=6)
    torch.testing.assert_close(lla_reference(q, k, v)[..., 0, :], v[..., 0, :], rtol=0, atol=1e-13)


def test_scaling_a_row_of_weights_leaves_output_unchanged():
    """The λω ridge makes o_i invariant to w_ij → c_i w_ij: what makes max-subtraction legal."""
    q, k, v = random_qkv(1, 2, 7, 3, seed=7)
    w = softmax_kernel_weights(q, k, causal=True, scale=0.5)
    row_factors = torch.logspace(-8, 8, 7, dtype=torch.float64)[:, None]
    base = local_linear_fit(w, q, k, v, ridge=0.1).output
    torch.testing.assert_close(local_linear_fit(w * row_factors, q, k, v, ridge=0.1).output, base, rtol=0, atol=1e-11)


def test_causality():
    q, k, v = random_qkv(1, 1, 9, 3, seed=8)
    base = lla_reference(q, k, v)
    k2, v2 = k.clone(), v.clone()
    k2[..., 5, :] += 1.0
    v2[..., 5, :] -= 2.0
    perturbed = lla_reference(q, k2, v2)
    torch.testing.assert_close(perturbed[..., :5, :], base[..., :5, :], rtol=0, atol=0)
    assert (perturbed[..., 5:, :] - base[..., 5:, :]).abs().max() > 1e-3


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"ridge": 0.0}, "ridge"),
        ({"ridge": float("nan")}, "ridge"),
        ({"scale": float("inf")}, "scale"),
    ],
)
def test_bad_arguments_raise(kwargs, message):
    q, k, v = random_qkv(1, 1, 3, 2, seed=9)
    with pytest.raises(ValueError, match=message):
        lla_reference(q, k, v, **kwargs)


def test_bad_shapes_raise():
    q, k, v = random_qkv(1, 1, 3, 2, seed=9)
    with pytest.raises(ValueError, match="shape"):
        lla_reference(q[0], k, v)
    with pytest.raises(ValueError, match="len"):
        lla_reference(q[..., :2, :], k, v)
    with pytest.raises(ValueError, match="last dim"):
        lla_reference(q, k[..., :1], v)
