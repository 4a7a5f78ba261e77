# ruff: noqa: ANN001, ANN202  (arguments of @triton.jit functions are typed by Triton itself, not by hints)
"""Triton kernels for FlashLLA's key sweeps (notes §3.2-3.3), plugged into the blockwise algorithm.

`TritonStreams` overrides the five sweeps of `BlockwiseStreams` with fused kernels; the batched CG loop,
the Cholesky path and the autograd logic are shared with the PyTorch version (``blockwise.py``), so the
backward is the same exact gradient (including the ridge-ω term). Each query-tile kernel owns ``BLOCK_Q``
rows of one (batch·head) slice and streams the causal key tiles; the dK/dV kernel owns ``BLOCK_K`` keys and
streams the query tiles at or after them (FlashAttention-2 style, no atomics). One CG iteration is one
launch of the mat-vec kernel (the per-row masking and the early stop stay in PyTorch).

Accumulation is in the input dtype (float32, or float64 where the device supports it), with IEEE (no TF32)
dot products. Tested on the CPU with ``TRITON_INTERPRET=1``; timed only on a GPU.
"""

from __future__ import annotations

import torch
import triton
import triton.language as tl

from attnbench.kernels.lla.blockwise import BlockwiseStreams


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
        coeff = _probabilities(q, keys, rows, cols, n, scale, row_max, omega, CAUSAL) * _project(
            x, keys, x_dot_q
        )
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


def _padded(size: int) -> int:
    """tl.dot needs every tile dimension to be a power of two and at least 16."""
    return max(16, triton.next_power_of_2(size))


class TritonStreams(BlockwiseStreams):
    """`BlockwiseStreams` with Triton key sweeps (query/key tiles of ``block_size``, padded to 2^k >= 16)."""

    def _grid(self) -> tuple[int, int]:
        g, n, _ = self.q.shape
        return triton.cdiv(n, _padded(self.block_size)), g

    def _sizes(self, with_values: bool) -> dict[str, object]:
        """Runtime sizes and compile-time tile sizes shared by every launch."""
        g, n, d = self.q.shape
        tile = _padded(self.block_size)
        sizes: dict[str, object] = {"n": n, "d": d}
        if with_values:
            sizes |= {"dv": self.v.shape[-1], "BLOCK_DV": _padded(self.v.shape[-1])}
        return sizes | {
            "scale": self.scale,
            "CAUSAL": self.causal,
            "BLOCK_Q": tile,
            "BLOCK_K": tile,
            "BLOCK_D": _padded(d),
        }

    def compute_statistics(self, need_squares: bool) -> None:
        g, n, _ = self.q.shape
        self.row_max = self.q.new_empty(g, n)
        self.omega = self.q.new_empty(g, n)
        self.key_mean = torch.empty_like(self.q)
        self.key_sq_mean = torch.empty_like(self.q) if need_squares else None
        squares = self.key_sq_mean if need_squares else self.key_mean  # pointer unused when SQUARES is off
        _statistics_kernel[self._grid()](
            self.q,
            self.k,
            self.row_max,
            self.omega,
            self.key_mean,
            squares,
            SQUARES=need_squares,
            **self._sizes(with_values=False),
        )

    def system_matvec(self, x: torch.Tensor) -> torch.Tensor:
        out = torch.empty_like(x)
        _matvec_kernel[self._grid()](
            self.q,
            self.k,
            self.row_max,
            self.omega,
            x.contiguous(),
            out,
            ridge=self.ridge,
            **self._sizes(with_values=False),
        )
        return out

    def output(self, rho: torch.Tensor, delta_hat: torch.Tensor) -> torch.Tensor:
        out = self.q.new_empty(*self.q.shape[:2], self.v.shape[-1])
        _output_kernel[self._grid()](
            self.q,
            self.k,
            self.v,
            self.row_max,
            self.omega,
            rho.contiguous(),
            delta_hat.contiguous(),
            out,
            **self._sizes(with_values=True),
        )
        return out

    def gradient_target(self, grad_out: torch.Tensor, delta_hat: torch.Tensor) -> torch.Tensor:
        out = torch.empty_like(self.q)
        _gradient_target_kernel[self._grid()](
            self.q,
            self.k,
            self.v,
            self.row_max,
            self.omega,
            delta_hat.contiguous(),
            grad_out.contiguous(),
            out,
            **self._sizes(with_values=True),
        )
        return out

    def gradient(
        self,
        grad_out: torch.Tensor,
        rho: torch.Tensor,
        adjoint: torch.Tensor,
        delta_hat: torch.Tensor,
        beta: torch.Tensor,
        ridge_term: torch.Tensor,
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        grad_q, grad_k, grad_v = torch.empty_like(self.q), torch.empty_like(self.k), torch.empty_like(self.v)
        shared = (
            self.q,
            self.k,
            self.v,
            self.row_max,
            self.omega,
            delta_hat.contiguous(),
            beta.contiguous(),
            ridge_term.contiguous(),
            rho.contiguous(),
            adjoint.contiguous(),
            grad_out.contiguous(),
        )
        sizes = self._sizes(with_values=True)
        _grad_q_kernel[self._grid()](*shared, grad_q, **sizes)
        _grad_kv_kernel[self._grid()](*shared, grad_k, grad_v, **sizes)
        return grad_q, grad_k, grad_v
