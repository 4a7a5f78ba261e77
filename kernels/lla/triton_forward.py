# ruff: noqa: ANN001, ANN202  (arguments of @triton.jit functions are typed by Triton itself, not by hints)
"""Triton kernels of the FlashLLA forward (notes §3.2): pass 1 (statistics m_i, ω_i, k̄_i), the CG mat-vec
``A_i x_i`` (one launch per CG iteration) and pass 3 (the output).

Each kernel owns ``BLOCK_Q`` query rows of one (batch·head) slice and streams the causal key tiles;
`TritonStreams` (``triton_lla.py``) launches them. Accumulation is in the input dtype.
"""

from __future__ import annotations

import triton
import triton.language as tl

from attnbench.kernels.lla.triton_tiles import (
    _key_stop,
    _load_key_tile,
    _load_output_stats,
    _load_softmax_stats,
    _load_tile,
    _logits,
    _probabilities,
    _program_tile,
    _project,
    _store_tile,
)


@triton.jit
def _statistics_kernel(
    Q,
    K,
    ROW_MAX,
    OMEGA,
    KEY_MEAN,
    KEY_SQ_MEAN,
    n,
    d,
    scale,
    CAUSAL: tl.constexpr,
    SQUARES: tl.constexpr,
    BLOCK_Q: tl.constexpr,
    BLOCK_K: tl.constexpr,
    BLOCK_D: tl.constexpr,
):
    """Pass 1: running max m, ω and the weighted key means, with max rescaling."""
    tile, g, rows = _program_tile(BLOCK_Q)
    dims = tl.arange(0, BLOCK_D)
    q = _load_tile(Q + g * n * d, rows, dims, n, d)
    row_max = tl.full([BLOCK_Q], float("-inf"), q.dtype)
    omega = tl.zeros([BLOCK_Q], q.dtype)
    key_sum = tl.zeros([BLOCK_Q, BLOCK_D], q.dtype)
    key_sq_sum = tl.zeros([BLOCK_Q, BLOCK_D], q.dtype)
    for start in range(0, _key_stop(tile, n, BLOCK_Q, CAUSAL), BLOCK_K):
        cols = start + tl.arange(0, BLOCK_K)
        keys = _load_tile(K + g * n * d, cols, dims, n, d)
        logits = _logits(q, keys, rows, cols, n, scale, CAUSAL)
        new_max = tl.maximum(row_max, tl.max(logits, 1))
        rescale = tl.exp(row_max - new_max)
        w = tl.exp(logits - new_max[:, None])
        omega = rescale * omega + tl.sum(w, 1)
        key_sum = rescale[:, None] * key_sum + tl.dot(w, keys, input_precision="ieee")
        if SQUARES:
            key_sq_sum = rescale[:, None] * key_sq_sum + tl.dot(w, keys * keys, input_precision="ieee")
        row_max = new_max
    tl.store(ROW_MAX + g * n + rows, row_max, mask=rows < n)
    tl.store(OMEGA + g * n + rows, omega, mask=rows < n)
    _store_tile(KEY_MEAN + g * n * d, key_sum / omega[:, None], rows, dims, n, d)
    if SQUARES:
        _store_tile(KEY_SQ_MEAN + g * n * d, key_sq_sum / omega[:, None], rows, dims, n, d)


@triton.jit
def _matvec_kernel(
    Q,
    K,
    ROW_MAX,
    OMEGA,
    X,
    OUT,
    n,
    d,
    scale,
    ridge,
    CAUSAL: tl.constexpr,
    BLOCK_Q: tl.constexpr,
    BLOCK_K: tl.constexpr,
    BLOCK_D: tl.constexpr,
):
    """One CG product: A_i x_i = Σ_j p_ij (z_ijᵀx_i) z_ij + λ x_i."""
    tile, g, rows = _program_tile(BLOCK_Q)
    dims = tl.arange(0, BLOCK_D)
    q = _load_tile(Q + g * n * d, rows, dims, n, d)
    x = _load_tile(X + g * n * d, rows, dims, n, d)
    row_max, omega = _load_softmax_stats(ROW_MAX + g * n, OMEGA + g * n, rows, n)
    x_dot_q = tl.sum(x * q, 1)
    acc = tl.zeros([BLOCK_Q, BLOCK_D], q.dtype)
    coeff_sum = tl.zeros([BLOCK_Q], q.dtype)
    for start in range(0, _key_stop(tile, n, BLOCK_Q, CAUSAL), BLOCK_K):
        cols = start + tl.arange(0, BLOCK_K)
        keys = _load_tile(K + g * n * d, cols, dims, n, d)
        coeff = _probabilities(q, keys, rows, cols, n, scale, row_max, omega, CAUSAL) * _project(x, keys, x_dot_q)
        acc += tl.dot(coeff, keys, input_precision="ieee")
        coeff_sum += tl.sum(coeff, 1)
    _store_tile(OUT + g * n * d, acc - coeff_sum[:, None] * q + ridge * x, rows, dims, n, d)


@triton.jit
def _output_kernel(
    Q,
    K,
    V,
    ROW_MAX,
    OMEGA,
    RHO,
    DELTA_HAT,
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
    """Pass 3: o_i = Σ_j p_ij (1 − ρ_iᵀz_ij) v_j / δ̂_i."""
    tile, g, rows = _program_tile(BLOCK_Q)
    dims, vdims = tl.arange(0, BLOCK_D), tl.arange(0, BLOCK_DV)
    q = _load_tile(Q + g * n * d, rows, dims, n, d)
    rho = _load_tile(RHO + g * n * d, rows, dims, n, d)
    row_max, omega, delta_hat = _load_output_stats(ROW_MAX + g * n, OMEGA + g * n, DELTA_HAT + g * n, rows, n)
    rho_dot_q = tl.sum(rho * q, 1)
    acc = tl.zeros([BLOCK_Q, BLOCK_DV], q.dtype)
    for start in range(0, _key_stop(tile, n, BLOCK_Q, CAUSAL), BLOCK_K):
        cols = start + tl.arange(0, BLOCK_K)
        keys, values = _load_key_tile(K + g * n * d, V + g * n * dv, cols, dims, vdims, n, d, dv)
        p = _probabilities(q, keys, rows, cols, n, scale, row_max, omega, CAUSAL)
        acc += tl.dot(p * (1 - _project(rho, keys, rho_dot_q)), values, input_precision="ieee")
    _store_tile(OUT + g * n * dv, acc / delta_hat[:, None], rows, vdims, n, dv)
