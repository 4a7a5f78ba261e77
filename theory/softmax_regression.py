"""Softmax regression: gradient and shift bounds (Li, Song, Xia, Yu & Zhou 2023, arXiv 2304.13276; notes C).

Problem (Deng, Li & Song 2023b; notes C1): min_x L(x) = 1/2 ||f(x) - b||_2^2 with f(x) = softmax(A x),
A in R^{n x d}, b in R^n, x in R^d.

* Gradient [derived]: grad L(x) = A^T (diag f - f f^T)(f - b), with the softmax Jacobian
  J(f) = diag f - f f^T.
* Softmax is 1/2-Lipschitz in l2 [derived]: ||J(f)||_2 <= 1/2 for every f in the simplex (equality at
  f = (1/2, 1/2, 0, ...)), so by the mean-value inequality
    weight shift:  ||f(A x') - f(A x)||_2 <= 1/2 ||A||_2 ||x' - x||_2,
    data shift:    ||f(A' x) - f(A x)||_2 <= 1/2 ||A' - A||_2 ||x||_2.
  These are "ours"; they imply (and are far tighter than) the paper's shift theorems (ICLR-2024 Thm 5.1/5.2,
  [paper: secondary sources]) whose factor is M = n^{1.5} exp(10 R^2) under ||A||, ||x|| <= R (hypotheses
  [unverified]); `log10_paper_constant` reports M beside the measured constants to show its slack.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import torch


def softmax_prediction(matrix: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    """f(x) = softmax(A x) over the n rows; ``matrix`` (..., n, d), ``x`` (..., d) -> (..., n)."""
    return torch.softmax((matrix @ x.unsqueeze(-1)).squeeze(-1), dim=-1)


def softmax_jacobian(probabilities: torch.Tensor) -> torch.Tensor:
    """J(f) = diag(f) - f f^T, shaped (..., n, n)."""
    return torch.diag_embed(probabilities) - probabilities.unsqueeze(-1) * probabilities.unsqueeze(-2)


def loss(matrix: torch.Tensor, x: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """L(x) = 1/2 ||softmax(A x) - b||_2^2, shaped (...,)."""
    return 0.5 * ((softmax_prediction(matrix, x) - target) ** 2).sum(-1)


def gradient(matrix: torch.Tensor, x: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Closed-form grad L(x) = A^T J(f) (f - b), shaped (..., d)."""
    probabilities = softmax_prediction(matrix, x)
    residual = (softmax_jacobian(probabilities) @ (probabilities - target).unsqueeze(-1)).squeeze(-1)
    return (matrix.transpose(-1, -2) @ residual.unsqueeze(-1)).squeeze(-1)


def gradient_step(matrix: torch.Tensor, x: torch.Tensor, target: torch.Tensor, step: float) -> torch.Tensor:
    """One weight-shift update x - step * grad L(x)."""
    return x - step * gradient(matrix, x, target)


def spectral_norm(matrix: torch.Tensor) -> torch.Tensor:
    """||A||_2 (largest singular value) over the last two axes."""
    return torch.linalg.matrix_norm(matrix, ord=2)


def weight_shift_bound(matrix: torch.Tensor, shift: torch.Tensor) -> torch.Tensor:
    """1/2 ||A||_2 ||x' - x||_2 [derived], an upper bound on ||f(A x') - f(A x)||_2."""
    return 0.5 * spectral_norm(matrix) * shift.norm(dim=-1)


def data_shift_bound(shift: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    """1/2 ||A' - A||_2 ||x||_2 [derived], an upper bound on ||f(A' x) - f(A x)||_2."""
    return 0.5 * spectral_norm(shift) * x.norm(dim=-1)


def local_weight_shift_constant(matrix: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    """||J(f(A x)) A||_2: the exact sup of ||f(A(x + t)) - f(A x)|| / ||t|| as t -> 0; at most 1/2 ||A||_2."""
    return spectral_norm(softmax_jacobian(softmax_prediction(matrix, x)) @ matrix)


def log10_paper_constant(rows: int, radius: float) -> float:
    """log10 of M = n^{1.5} exp(10 R^2) (Li et al. 2023, Thm 5.1/5.2, via secondary sources)."""
    if rows < 1 or radius < 0:
        raise ValueError(f"need rows >= 1 and radius >= 0, got rows={rows}, radius={radius}")
    return 1.5 * math.log10(rows) + 10.0 * radius**2 / math.log(10.0)


def _maximise_ratio(
    ratio: Callable[[torch.Tensor], torch.Tensor], direction: torch.Tensor, steps: int, learning_rate: float
) -> float:
    direction = direction.clone().requires_grad_(True)
    optimiser = torch.optim.Adam([direction], lr=learning_rate)
    best = float(ratio(direction.detach()))
    for _ in range(steps):
        optimiser.zero_grad()
        objective = -ratio(direction)
        objective.backward()
        optimiser.step()
        best = max(best, float(ratio(direction.detach())))
    return best


def adversarial_weight_shift_ratio(
    matrix: torch.Tensor,
    x: torch.Tensor,
    radius: float,
    *,
    generator: torch.Generator,
    steps: int = 200,
    learning_rate: float = 0.05,
) -> float:
    """max over ||t|| = radius (Adam on the direction) of ||f(A(x + t)) - f(A x)|| / (1/2 ||A||_2 ||t||).

    The derived weight-shift bound says this is <= 1 for every radius.
    """
    base = softmax_prediction(matrix, x)
    scale = 0.5 * float(spectral_norm(matrix)) * radius

    def ratio(direction: torch.Tensor) -> torch.Tensor:
        shift = radius * direction / direction.norm()
        return (softmax_prediction(matrix, x + shift) - base).norm() / scale

    start = torch.randn(x.shape, generator=generator, dtype=x.dtype)
    return _maximise_ratio(ratio, start, steps, learning_rate)


def adversarial_data_shift_ratio(
    matrix: torch.Tensor,
    x: torch.Tensor,
    radius: float,
    *,
    generator: torch.Generator,
    steps: int = 200,
    learning_rate: float = 0.05,
) -> float:
    """max over ||A' - A||_2 = radius (Adam on the direction) of ||f(A' x) - f(A x)|| / (1/2 radius ||x||).

    The derived data-shift bound says this is <= 1 for every radius.
    """
    base = softmax_prediction(matrix, x)
    scale = 0.5 * radius * float(x.norm())

    def ratio(direction: torch.Tensor) -> torch.Tensor:
        shift = radius * direction / spectral_norm(direction)
        return (softmax_prediction(matrix + shift, x) - base).norm() / scale

    start = torch.randn(matrix.shape, generator=generator, dtype=matrix.dtype)
    return _maximise_ratio(ratio, start, steps, learning_rate)
