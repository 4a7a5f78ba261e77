"""Triton kernels for FlashLLA's key sweeps (notes §3.2-3.3), plugged into the blockwise algorithm.

`TritonStreams` overrides the five sweeps of `BlockwiseStreams` with launches of fused kernels
(``triton_forward.py``, ``triton_backward.py``, built from the tile helpers of ``triton_tiles.py``); the
batched CG loop, the Cholesky path and the autograd logic are shared with the PyTorch version
(``blockwise.py``), so the backward is the same exact gradient (including the ridge-ω term). Each query-tile
kernel owns ``BLOCK_Q`` rows of one (batch·head) slice and streams the causal key tiles; the dK/dV kernel
owns ``BLOCK_K`` keys and streams the query tiles at or after them (FlashAttention-2 style, no atomics). One
CG iteration is one launch of the mat-vec kernel (the per-row masking and the early stop stay in PyTorch).

Accumulation is in the input dtype (float32, or float64 where the device supports it), with IEEE (no TF32)
dot products. Tested on the CPU with ``TRITON_INTERPRET=1``; timed only on a GPU.
"""

from __future__ import annotations

import torch
import triton

from attnbench.kernels.lla.streams import BlockwiseStreams
from attnbench.kernels.lla.triton_backward import _grad_kv_kernel, _grad_q_kernel, _gradient_target_kernel
from attnbench.kernels.lla.triton_forward import _matvec_kernel, _output_kernel, _statistics_kernel


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
