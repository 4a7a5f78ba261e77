"""Batched matrix-free conjugate gradient for FlashLLA's per-query systems (notes §3.2, paper §3).

Every query i has its own symmetric positive-definite system ``A_i x_i = b_i`` (d×d, never formed): one CG
iteration applies all of them at once through a streamed mat-vec (`BlockwiseStreams.system_matvec` in
``streams.py``, or its Triton kernel), and each row stops on its own once its relative residual is small.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch


@dataclass(frozen=True)
class CGSettings:
    """Conjugate-gradient knobs: at most ``max_iters`` iterations, a row stops once its residual satisfies
    ``‖r‖ ≤ tol ‖b‖``; ``jacobi`` turns on the diagonal preconditioner (notes §3.2)."""

    max_iters: int = 32
    tol: float | None = None  # None: 1e-12 for float64, 1e-6 otherwise
    jacobi: bool = False

    def __post_init__(self) -> None:
        if self.max_iters < 1:
            raise ValueError(f"cg max_iters must be >= 1, got {self.max_iters}")
        if self.tol is not None and not self.tol >= 0:
            raise ValueError(f"cg tol must be >= 0, got {self.tol}")

    def resolved_tol(self, dtype: torch.dtype) -> float:
        if self.tol is not None:
            return self.tol
        return 1e-12 if dtype == torch.float64 else 1e-6


@dataclass(frozen=True)
class CGReport:
    """What a batched CG solve did: iterations run and the worst final relative residual over rows."""

    iterations: int
    max_relative_residual: float


def conjugate_gradient(
    matvec: Callable[[torch.Tensor], torch.Tensor],
    rhs: torch.Tensor,
    *,
    max_iters: int,
    tol: float,
    diagonal: torch.Tensor | None = None,
) -> tuple[torch.Tensor, CGReport]:
    """Solve ``A x = rhs`` row-wise for symmetric positive-definite ``A`` (Hestenes–Stiefel CG, x₀ = 0).

    ``rhs`` is (..., d): every leading index is an independent system and ``matvec`` applies all of them at
    once. A row is frozen once ``‖r‖ ≤ tol ‖rhs‖`` or on breakdown (curvature ``pᵀAp`` not positive and
    finite, e.g. an exactly zero residual when ``tol = 0``); the loop stops early when every row is frozen.
    ``diagonal`` (same shape as rhs) turns on Jacobi preconditioning ``M = diag(A)``.
    """
    x = torch.zeros_like(rhs)
    residual = rhs.clone()
    rhs_norm_sq = (rhs * rhs).sum(-1)
    threshold = tol * tol * rhs_norm_sq
    precondition = (lambda r: r / diagonal) if diagonal is not None else (lambda r: r)
    z = precondition(residual)
    direction = z.clone()
    rz = (residual * z).sum(-1)
    active = (residual * residual).sum(-1) > threshold
    iterations = 0
    while iterations < max_iters and bool(active.any()):
        iterations += 1
        a_direction = matvec(direction)
        curvature = (direction * a_direction).sum(-1)
        active = active & (curvature > 0) & torch.isfinite(curvature)  # breakdown: freeze the row
        step = torch.where(active, rz / torch.where(active, curvature, 1.0), 0.0)
        x = x + step[..., None] * direction
        residual = residual - step[..., None] * a_direction
        active = active & ((residual * residual).sum(-1) > threshold)
        z = precondition(residual)
        rz_new = (residual * z).sum(-1)
        momentum = torch.where(active, rz_new / torch.where(active, rz, 1.0), 0.0)
        direction = torch.where(active[..., None], z + momentum[..., None] * direction, direction)
        rz = torch.where(active, rz_new, rz)
    relative = ((residual * residual).sum(-1) / rhs_norm_sq.clamp_min(torch.finfo(rhs.dtype).tiny)).sqrt()
    return x, CGReport(iterations, float(relative.max()) if relative.numel() else 0.0)
