"""Shared helpers for the LLA kernel tests: seeded inputs and an independent direct weighted least squares."""

from __future__ import annotations

import numpy as np
import torch


def random_qkv(
    batch: int,
    heads: int,
    length: int,
    dim: int,
    *,
    seed: int,
    dtype: torch.dtype = torch.float64,
    value_dim: int | None = None,
    requires_grad: bool = False,
) -> tuple[torch.Tensor, ...]:
    """Standard-normal (q, k, v) from a fixed seed."""
    generator = torch.Generator().manual_seed(seed)
    shapes = [(batch, heads, length, dim)] * 2 + [(batch, heads, length, value_dim or dim)]
    return tuple(torch.randn(shape, generator=generator, dtype=dtype).requires_grad_(requires_grad) for shape in shapes)


def direct_weighted_least_squares(
    weights: np.ndarray, q: np.ndarray, k: np.ndarray, v: np.ndarray, ridge: float
) -> np.ndarray:
    """Intercept of ``argmin_{b,W} Σ_j w_j‖v_j − b − W(k_j − q)‖² + λ(Σ_j w_j)‖W‖²`` for one query.

    Solved as an augmented least-squares problem with design rows ``√w_j [1, (k_j − q)ᵀ]`` and ridge rows
    ``√(λω) [0, e_lᵀ]`` (the intercept is not penalised): independent of the ρ/δ and centred forms.
    """
    d = k.shape[-1]
    root_w = np.sqrt(weights)[:, None]
    design = np.concatenate([np.ones((len(k), 1)), k - q], axis=1) * root_w
    penalty = np.concatenate([np.zeros((d, 1)), np.sqrt(ridge * weights.sum()) * np.eye(d)], axis=1)
    lhs = np.concatenate([design, penalty])
    rhs = np.concatenate([v * root_w, np.zeros((d, v.shape[-1]))])
    solution, *_ = np.linalg.lstsq(lhs, rhs, rcond=None)
    return solution[0]
