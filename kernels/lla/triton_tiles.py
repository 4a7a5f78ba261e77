# ruff: noqa: ANN001, ANN202  (arguments of @triton.jit functions are typed by Triton itself, not by hints)
"""The small @triton.jit tile helpers of the FlashLLA kernels (notes §3.2-3.3): masked tile loads and stores,
the logits and normalised weights ``p_ij`` of a (query tile, key tile) pair, the projections ``x_iᵀz_ij``, the
causal key range of a query tile and the per-row statistics that the kernels load.

The kernels (``triton_forward.py``, ``triton_backward.py``) import them: Triton resolves the jit functions a
kernel calls among the globals of the kernel's module. Dot products are IEEE (no TF32).
"""

from __future__ import annotations

import triton
import triton.language as tl


@triton.jit
def _load_tile(ptr, rows, dims, n_rows, n_dims):
    mask = (rows[:, None] < n_rows) & (dims[None, :] < n_dims)
    return tl.load(ptr + rows[:, None] * n_dims + dims[None, :], mask=mask, other=0.0)


@triton.jit
def _store_tile(ptr, value, rows, dims, n_rows, n_dims):
    mask = (rows[:, None] < n_rows) & (dims[None, :] < n_dims)
    tl.store(ptr + rows[:, None] * n_dims + dims[None, :], value, mask=mask)


@triton.jit
def _logits(q, keys, rows, cols, n, scale, CAUSAL: tl.constexpr):
    """scale·q kᵀ with -inf outside the key range and above the causal diagonal."""
    logits = tl.dot(q, tl.trans(keys), input_precision="ieee") * scale
    valid = cols[None, :] < n
    if CAUSAL:
        valid = valid & (cols[None, :] <= rows[:, None])
    return tl.where(valid, logits, float("-inf"))


@triton.jit
def _probabilities(q, keys, rows, cols, n, scale, row_max, omega, CAUSAL: tl.constexpr):
    """Normalised weights p_ij, zero outside the valid (row, key) range."""
    p = tl.exp(_logits(q, keys, rows, cols, n, scale, CAUSAL) - row_max[:, None]) / omega[:, None]
    return tl.where(rows[:, None] < n, p, 0.0)


@triton.jit
def _project(x, keys, x_dot_q):
    """x_iᵀ z_ij = x_iᵀ k_j − x_iᵀ q_i for a key tile."""
    return tl.dot(x, tl.trans(keys), input_precision="ieee") - x_dot_q[:, None]


@triton.jit
def _key_stop(tile, n, BLOCK_Q: tl.constexpr, CAUSAL: tl.constexpr):
    if CAUSAL:
        return tl.minimum(n, (tile + 1) * BLOCK_Q)
    return n


@triton.jit
def _program_tile(BLOCK: tl.constexpr):
    """(tile, g, indices) of this program: grid axis 0 tiles the length, axis 1 is the batch·head slice g."""
    tile = tl.program_id(0)
    return tile, tl.program_id(1), tile * BLOCK + tl.arange(0, BLOCK)


@triton.jit
def _load_softmax_stats(ROW_MAX, OMEGA, rows, n):
    """m_i and ω_i of a query tile; padding rows get (0, 1) so their (discarded) weights stay finite."""
    row_max = tl.load(ROW_MAX + rows, mask=rows < n, other=0.0)
    omega = tl.load(OMEGA + rows, mask=rows < n, other=1.0)
    return row_max, omega


@triton.jit
def _load_output_stats(ROW_MAX, OMEGA, DELTA_HAT, rows, n):
    """m_i, ω_i and δ̂_i of a query tile (δ̂ = 1 on padding rows)."""
    row_max, omega = _load_softmax_stats(ROW_MAX, OMEGA, rows, n)
    return row_max, omega, tl.load(DELTA_HAT + rows, mask=rows < n, other=1.0)


@triton.jit
def _load_key_tile(K, V, cols, dims, vdims, n, d, dv):
    """Keys and values of one key tile of a (batch·head) slice (pointers already offset to the slice)."""
    return _load_tile(K, cols, dims, n, d), _load_tile(V, cols, vdims, n, dv)


@triton.jit
def _load_backward_rows(
    Q, RHO, ADJOINT, GRAD_OUT, ROW_MAX, OMEGA, DELTA_HAT, BETA, RIDGE_TERM, g, rows, dims, vdims, n, d, dv
):
    """Everything the backward needs of a query tile: q, ρ, Û, dO, m, ω, δ̂, β̂ and the ridge-ω term."""
    q = _load_tile(Q + g * n * d, rows, dims, n, d)
    rho = _load_tile(RHO + g * n * d, rows, dims, n, d)
    adjoint = _load_tile(ADJOINT + g * n * d, rows, dims, n, d)
    grad_out = _load_tile(GRAD_OUT + g * n * dv, rows, vdims, n, dv)
    row_max, omega, delta_hat = _load_output_stats(ROW_MAX + g * n, OMEGA + g * n, DELTA_HAT + g * n, rows, n)
    beta = tl.load(BETA + g * n + rows, mask=rows < n, other=0.0)
    ridge_term = tl.load(RIDGE_TERM + g * n + rows, mask=rows < n, other=0.0)
    return q, rho, adjoint, grad_out, row_max, omega, delta_hat, beta, ridge_term
