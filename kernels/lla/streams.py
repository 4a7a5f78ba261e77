"""FlashLLA's key sweeps in PyTorch, with O(length·dim) memory (notes §3, paper §3).

Nothing of size length×length or length×dim×dim is ever materialised: keys are streamed in blocks of
``block_size`` and all queries at or after a block (causal) are processed against it at once, so the largest
temporary is (batch·heads, length, block_size). Everything is expressed with the normalised weights
``p_ij = w_ij/ω_i`` and the normalised system ``A_i = Σ_i/ω_i = Σ_j p_ij z_ij z_ijᵀ + λI`` (same solution ρ_i
as ``Σ_i ρ = μ_i``, right-hand side ``μ_i/ω_i = k̄_i − q_i``), so CG tolerances are scale free. The sweeps
(statistics, mat-vec, output, gradient target, gradient; notes §3.2-3.3) are combined in ``blockwise.py``.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

import torch

from attnbench.kernels.lla.common import causal_logit_mask


@dataclass
class BlockwiseStreams:
    """The key-streaming primitives of FlashLLA on flattened (G = batch·heads, N, D) tensors, in PyTorch.

    Every method sweeps the key blocks once; `TritonStreams` (``triton_lla.py``) overrides the same methods
    with fused kernels, so the solver and the autograd logic (``blockwise.py``) are shared by both backends.
    """

    q: torch.Tensor  # (G, N, D)
    k: torch.Tensor  # (G, N, D)
    v: torch.Tensor  # (G, N, Dv)
    scale: float
    ridge: float
    causal: bool
    block_size: int
    row_max: torch.Tensor | None = None  # m_i (G, N)
    omega: torch.Tensor | None = None  # ω_i relative to exp(m_i) (G, N)
    key_mean: torch.Tensor | None = None  # k̄_i (G, N, D)
    key_sq_mean: torch.Tensor | None = None  # Σ_j p_ij k_j⊙k_j (G, N, D), for Jacobi only
    keep_factors: bool = False  # exact solver: keep the forward's Cholesky factors for the backward
    cholesky_factors: list[torch.Tensor] = field(default_factory=list)  # per query block

    def blocks(self) -> Iterator[tuple[slice, slice]]:
        """(query rows, key block) pairs; causal: only queries at or after the block's first key."""
        n = self.k.shape[1]
        for start in range(0, n, self.block_size):
            stop = min(start + self.block_size, n)
            yield slice(start if self.causal else 0, self.q.shape[1]), slice(start, stop)

    def logits(self, rows: slice, keys: slice) -> torch.Tensor:
        logits = self.scale * self.q[:, rows] @ self.k[:, keys].transpose(-1, -2)
        if not self.causal:
            return logits
        mask = causal_logit_mask(logits.shape[-2], keys.start, keys.stop, rows.start, logits.device)
        return logits.masked_fill(mask, float("-inf"))

    def probabilities(self, rows: slice, keys: slice) -> torch.Tensor:
        """Normalised weights ``p_ij`` for the given query rows and key block, zero where masked."""
        return torch.exp(self.logits(rows, keys) - self.row_max[:, rows, None]) / self.omega[:, rows, None]

    def project(self, x: torch.Tensor, rows: slice, keys: slice) -> torch.Tensor:
        """``x_iᵀ z_ij = x_iᵀ k_j − x_iᵀ q_i`` for a key block (the paper's relmm)."""
        x_rows = x[:, rows]
        return x_rows @ self.k[:, keys].transpose(-1, -2) - (x_rows * self.q[:, rows]).sum(-1, keepdim=True)

    def compute_statistics(self, need_squares: bool) -> None:
        """Pass 1: m_i, ω_i, k̄_i (and the k⊙k mean) in one sweep with running-max rescaling."""
        g, n, d = self.q.shape
        row_max = self.q.new_full((g, n), float("-inf"))
        omega = self.q.new_zeros(g, n)
        key_sum = self.q.new_zeros(g, n, d)
        key_sq_sum = self.q.new_zeros(g, n, d) if need_squares else None
        for rows, keys in self.blocks():
            logits = self.logits(rows, keys)
            new_max = torch.maximum(row_max[:, rows], logits.amax(-1))
            rescale = torch.exp(row_max[:, rows] - new_max)
            w = torch.exp(logits - new_max[..., None])
            row_max[:, rows] = new_max
            omega[:, rows] = rescale * omega[:, rows] + w.sum(-1)
            key_sum[:, rows] = rescale[..., None] * key_sum[:, rows] + w @ self.k[:, keys]
            if key_sq_sum is not None:
                key_sq_sum[:, rows] = rescale[..., None] * key_sq_sum[:, rows] + w @ (self.k[:, keys] ** 2)
        self.row_max, self.omega, self.key_mean = row_max, omega, key_sum / omega[..., None]
        self.key_sq_mean = None if key_sq_sum is None else key_sq_sum / omega[..., None]

    def system_matvec(self, x: torch.Tensor) -> torch.Tensor:
        """``A_i x_i = Σ_j p_ij (z_ijᵀx_i) z_ij + λ x_i`` for every query, streamed over key blocks."""
        out = self.ridge * x
        for rows, keys in self.blocks():
            coeff = self.probabilities(rows, keys) * self.project(x, rows, keys)
            out[:, rows] += coeff @ self.k[:, keys] - coeff.sum(-1, keepdim=True) * self.q[:, rows]
        return out

    def output(self, rho: torch.Tensor, delta_hat: torch.Tensor) -> torch.Tensor:
        """Pass 3: ``o_i = Σ_j p_ij (1 − ρ_iᵀz_ij) v_j / δ̂_i``."""
        out = self.q.new_zeros(*self.q.shape[:2], self.v.shape[-1])
        for rows, keys in self.blocks():
            s = self.probabilities(rows, keys) * (1 - self.project(rho, rows, keys))
            out[:, rows] += s @ self.v[:, keys]
        return out / delta_hat[..., None]

    def gradient_target(self, grad_out: torch.Tensor, delta_hat: torch.Tensor) -> torch.Tensor:
        """``T̂_i = Σ_j p_ij g_ij z_ij / δ̂_i``, ``g_ij = dO_iᵀ v_j``: right-hand side of the adjoint solve."""
        weighted_keys = torch.zeros_like(self.q)
        weighted_mass = self.q.new_zeros(self.q.shape[:2])
        for rows, keys in self.blocks():
            pg = self.probabilities(rows, keys) * (grad_out[:, rows] @ self.v[:, keys].transpose(-1, -2))
            weighted_keys[:, rows] += pg @ self.k[:, keys]
            weighted_mass[:, rows] += pg.sum(-1)
        return (weighted_keys - weighted_mass[..., None] * self.q) / delta_hat[..., None]

    def gradient(
        self,
        grad_out: torch.Tensor,
        rho: torch.Tensor,
        adjoint: torch.Tensor,
        delta_hat: torch.Tensor,
        beta: torch.Tensor,
        ridge_term: torch.Tensor,
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """The final sweep of the backward (formulas in `lla_blockwise_backward`)."""
        q, k, v, scale = self.q, self.k, self.v, self.scale
        grad_q, grad_k, grad_v = torch.zeros_like(q), torch.zeros_like(k), torch.zeros_like(v)
        z_coeff_sum = q.new_zeros(q.shape[:2])
        for rows, keys in self.blocks():
            p = self.probabilities(rows, keys)
            one_minus_r = 1 - self.project(rho, rows, keys)
            u = self.project(adjoint, rows, keys)
            g_over_delta = (grad_out[:, rows] @ v[:, keys].transpose(-1, -2)) / delta_hat[:, rows, None]
            b = beta[:, rows, None]
            logit_grad = p * (one_minus_r * (g_over_delta - b * one_minus_r - u) + ridge_term[:, rows, None])
            z_coeff = p * (2 * b * one_minus_r - g_over_delta + u)
            p_one_minus_r = p * one_minus_r
            grad_q[:, rows] += scale * logit_grad @ k[:, keys]
            z_coeff_sum[:, rows] += z_coeff.sum(-1)
            grad_k[:, keys] += (
                scale * logit_grad.transpose(-1, -2) @ q[:, rows]
                + z_coeff.transpose(-1, -2) @ rho[:, rows]
                - p_one_minus_r.transpose(-1, -2) @ adjoint[:, rows]
            )
            grad_v[:, keys] += (p_one_minus_r / delta_hat[:, rows, None]).transpose(-1, -2) @ grad_out[:, rows]
        grad_q += delta_hat[..., None] * adjoint - z_coeff_sum[..., None] * rho
        return grad_q, grad_k, grad_v

    def jacobi_diagonal(self) -> torch.Tensor:
        """``diag(A_i) = Σ_j p_ij k_j⊙k_j − 2 k̄_i⊙q_i + q_i⊙q_i + λ``."""
        if self.key_sq_mean is None:
            raise RuntimeError("the Jacobi diagonal needs the k⊙k statistic from the forward pass")
        return self.key_sq_mean - 2 * self.key_mean * self.q + self.q * self.q + self.ridge

    def explicit_systems(self, query_rows: slice) -> torch.Tensor:
        """The explicit ``A_i`` (G, block, d, d) for one query block; memory O(block·d²).

        ``A_i = Σ_j p_ij k_j k_jᵀ − k̄_i q_iᵀ − q_i k̄_iᵀ + q_i q_iᵀ + λI``, built in place as the Gram sum plus
        the rank-2 correction ``u_i u_iᵀ − k̄_i k̄_iᵀ`` (``u_i = q_i − k̄_i``), one batched product.
        """
        q_rows = self.q[:, query_rows]
        g, rows, d = q_rows.shape
        gram = q_rows.new_zeros(g, rows, d * d)
        last_key = query_rows.stop if self.causal else self.k.shape[1]
        for start in range(0, last_key, self.block_size):
            keys = slice(start, min(start + self.block_size, last_key))
            k_block = self.k[:, keys]
            outer = (k_block[..., :, None] * k_block[..., None, :]).flatten(-2)  # (G, BC, d²)
            gram.baddbmm_(self.probabilities(query_rows, keys), outer)
        kbar = self.key_mean[:, query_rows]
        offset = q_rows - kbar
        systems = gram.view(g * rows, d, d)
        systems.baddbmm_(
            torch.stack((offset, -kbar), -1).view(g * rows, d, 2), torch.stack((offset, kbar), -2).view(g * rows, 2, d)
        )
        systems.diagonal(dim1=-2, dim2=-1).add_(self.ridge)
        return gram.view(g, rows, d, d)
