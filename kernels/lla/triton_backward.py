# ruff: noqa: ANN001, ANN202  (arguments of @triton.jit functions are typed by Triton itself, not by hints)
"""Triton kernels of the FlashLLA backward (notes §3.3; formulas in `lla_blockwise_backward`): the adjoint
right-hand side ``T̂_i``, dq (row-parallel: a program owns ``BLOCK_Q`` queries and streams their key tiles) and
dk, dv (column-parallel: a program owns ``BLOCK_K`` keys and streams the query tiles at or after them,
FlashAttention-2 style, no atomics). The exact gradient, including the ridge-ω term.
"""

from __future__ import annotations

import triton
import triton.language as tl

from attnbench.kernels.lla.triton_tiles import (
    _key_stop,
    _load_backward_rows,
    _load_key_tile,
    _load_output_stats,
    _load_tile,
    _probabilities,
    _program_tile,
    _project,
    _store_tile,
)


@triton.jit
def _gradient_target_kernel(
    Q,
    K,
    V,
    ROW_MAX,
    OMEGA,
    DELTA_HAT,
    GRAD_OUT,
    OUT,
    n,
    d,
    dv,
    scale,
    CAUSAL: tl.constexpr,
    BLOCK_Q: tl.constexpr,
    BLOCK_K: tl.constexpr,
    BLOCK_D: tl.constexpr,
    BLOCK_DV: tl.constexpr,
):
    """T̂_i = Σ_j p_ij g_ij z_ij / δ̂_i with g_ij = dO_iᵀ v_j."""
    tile, g, rows = _program_tile(BLOCK_Q)
    dims, vdims = tl.arange(0, BLOCK_D), tl.arange(0, BLOCK_DV)
    q = _load_tile(Q + g * n * d, rows, dims, n, d)
    grad_out = _load_tile(GRAD_OUT + g * n * dv, rows, vdims, n, dv)
    row_max, omega, delta_hat = _load_output_stats(ROW_MAX + g * n, OMEGA + g * n, DELTA_HAT + g * n, rows, n)
    acc = tl.zeros([BLOCK_Q, BLOCK_D], q.dtype)
    mass = tl.zeros([BLOCK_Q], q.dtype)
    for start in range(0, _key_stop(tile, n, BLOCK_Q, CAUSAL), BLOCK_K):
        cols = start + tl.arange(0, BLOCK_K)
        keys, values = _load_key_tile(K + g * n * d, V + g * n * dv, cols, dims, vdims, n, d, dv)
        pg = _probabilities(q, keys, rows, cols, n, scale, row_max, omega, CAUSAL) * tl.dot(
            grad_out, tl.trans(values), input_precision="ieee"
        )
        acc += tl.dot(pg, keys, input_precision="ieee")
        mass += tl.sum(pg, 1)
    _store_tile(OUT + g * n * d, (acc - mass[:, None] * q) / delta_hat[:, None], rows, dims, n, d)


@triton.jit
def _pair_terms(
    q,
    keys,
    values,
    grad_out,
    rho,
    adjoint,
    rows,
    cols,
    n,
    scale,
    row_max,
    omega,
    delta_hat,
    beta,
    ridge_term,
    CAUSAL: tl.constexpr,
):
    """The per-pair backward coefficients (see `lla_blockwise_backward`): (∂L/∂logit, c, p(1−r))."""
    p = _probabilities(q, keys, rows, cols, n, scale, row_max, omega, CAUSAL)
    one_minus_r = 1 - _project(rho, keys, tl.sum(rho * q, 1))
    u = _project(adjoint, keys, tl.sum(adjoint * q, 1))
    g_over_delta = tl.dot(grad_out, tl.trans(values), input_precision="ieee") / delta_hat[:, None]
    b = beta[:, None]
    logit_grad = p * (one_minus_r * (g_over_delta - b * one_minus_r - u) + ridge_term[:, None])
    z_coeff = p * (2 * b * one_minus_r - g_over_delta + u)
    return logit_grad, z_coeff, p * one_minus_r


@triton.jit
def _grad_q_kernel(
    Q,
    K,
    V,
    ROW_MAX,
    OMEGA,
    DELTA_HAT,
    BETA,
    RIDGE_TERM,
    RHO,
    ADJOINT,
    GRAD_OUT,
    GRAD_Q,
    n,
    d,
    dv,
    scale,
    CAUSAL: tl.constexpr,
    BLOCK_Q: tl.constexpr,
    BLOCK_K: tl.constexpr,
    BLOCK_D: tl.constexpr,
    BLOCK_DV: tl.constexpr,
):
    """dq_i = scale Σ_j (∂L/∂logit_ij) k_j − (Σ_j p_ij c_ij) ρ_i + δ̂_i Û_i (row-parallel)."""
    tile, g, rows = _program_tile(BLOCK_Q)
    dims, vdims = tl.arange(0, BLOCK_D), tl.arange(0, BLOCK_DV)
    q, rho, adjoint, grad_out, row_max, omega, delta_hat, beta, ridge_term = _load_backward_rows(
        Q, RHO, ADJOINT, GRAD_OUT, ROW_MAX, OMEGA, DELTA_HAT, BETA, RIDGE_TERM, g, rows, dims, vdims, n, d, dv
    )
    acc = tl.zeros([BLOCK_Q, BLOCK_D], q.dtype)
    z_coeff_sum = tl.zeros([BLOCK_Q], q.dtype)
    for start in range(0, _key_stop(tile, n, BLOCK_Q, CAUSAL), BLOCK_K):
        cols = start + tl.arange(0, BLOCK_K)
        keys, values = _load_key_tile(K + g * n * d, V + g * n * dv, cols, dims, vdims, n, d, dv)
        logit_grad, z_coeff, _ = _pair_terms(
            q,
            keys,
            values,
            grad_out,
            rho,
            adjoint,
            rows,
            cols,
            n,
            scale,
            row_max,
            omega,
            delta_hat,
            beta,
            ridge_term,
            CAUSAL,
        )
        acc += scale * tl.dot(logit_grad, keys, input_precision="ieee")
        z_coeff_sum += tl.sum(z_coeff, 1)
    grad_q = acc + delta_hat[:, None] * adjoint - z_coeff_sum[:, None] * rho
    _store_tile(GRAD_Q + g * n * d, grad_q, rows, dims, n, d)


@triton.jit
def _grad_kv_kernel(
    Q,
    K,
    V,
    ROW_MAX,
    OMEGA,
    DELTA_HAT,
    BETA,
    RIDGE_TERM,
    RHO,
    ADJOINT,
    GRAD_OUT,
    GRAD_K,
    GRAD_V,
    n,
    d,
    dv,
    scale,
    CAUSAL: tl.constexpr,
    BLOCK_Q: tl.constexpr,
    BLOCK_K: tl.constexpr,
    BLOCK_D: tl.constexpr,
    BLOCK_DV: tl.constexpr,
):
    """dk_j, dv_j for one key tile, streaming the query tiles that see it (column-parallel)."""
    tile, g, cols = _program_tile(BLOCK_K)
    dims, vdims = tl.arange(0, BLOCK_D), tl.arange(0, BLOCK_DV)
    keys, values = _load_key_tile(K + g * n * d, V + g * n * dv, cols, dims, vdims, n, d, dv)
    grad_k = tl.zeros([BLOCK_K, BLOCK_D], keys.dtype)
    grad_v = tl.zeros([BLOCK_K, BLOCK_DV], keys.dtype)
    first_row = 0
    if CAUSAL:
        first_row = (tile * BLOCK_K) // BLOCK_Q * BLOCK_Q
    for start in range(first_row, n, BLOCK_Q):
        rows = start + tl.arange(0, BLOCK_Q)
        q, rho, adjoint, grad_out, row_max, omega, delta_hat, beta, ridge_term = _load_backward_rows(
            Q, RHO, ADJOINT, GRAD_OUT, ROW_MAX, OMEGA, DELTA_HAT, BETA, RIDGE_TERM, g, rows, dims, vdims, n, d, dv
        )
        logit_grad, z_coeff, p_one_minus_r = _pair_terms(
            q,
            keys,
            values,
            grad_out,
            rho,
            adjoint,
            rows,
            cols,
            n,
            scale,
            row_max,
            omega,
            delta_hat,
            beta,
            ridge_term,
            CAUSAL,
        )
        grad_k += (
            scale * tl.dot(tl.trans(logit_grad), q, input_precision="ieee")
            + tl.dot(tl.trans(z_coeff), rho, input_precision="ieee")
            - tl.dot(tl.trans(p_one_minus_r), adjoint, input_precision="ieee")
        )
        grad_v += tl.dot(tl.trans(p_one_minus_r / delta_hat[:, None]), grad_out, input_precision="ieee")
    _store_tile(GRAD_K + g * n * d, grad_k, cols, dims, n, d)
    _store_tile(GRAD_V + g * n * dv, grad_v, cols, vdims, n, dv)
