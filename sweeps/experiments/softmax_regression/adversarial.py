"""Adversarial perturbations for the ``bounds`` rows: Adam searches for the shift that moves softmax(A x) the
most, relative to the derived 1/2-Lipschitz bounds (`attnbench.theory.softmax_regression`, notes C2).

The bounds say every ratio measured here is <= 1; the search measures how close a worst case comes.
"""

from __future__ import annotations

from collections.abc import Callable

import torch

from attnbench.tasks.softmax_regression import softmax_prediction, spectral_norm


def _maximise_ratio(
    ratio: Callable[[torch.Tensor], torch.Tensor], direction: torch.Tensor, steps: int, learning_rate: float
) -> float:
    """The largest ``ratio(direction)`` seen over ``steps`` Adam steps of gradient ascent from ``direction``."""
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
