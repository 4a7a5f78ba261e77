"""Softmax regression: the shift bounds (Li, Song, Xia, Yu & Zhou 2023, arXiv 2304.13276; notes C).

Problem (Deng, Li & Song 2023b; notes C1): min_x L(x) = 1/2 ||f(x) - b||_2^2 with f(x) = softmax(A x),
A in R^{n x d}, b in R^n, x in R^d.

* The softmax Jacobian is J(f) = diag f - f f^T, so x -> f(A x) has derivative J(f) A = diag(f) (A - 1 f^T A)
  (the gradient of L and the models built on it: `attnbench.models.softmax_regression`).
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

import torch

from attnbench.tasks.softmax_regression import softmax_prediction, spectral_norm


def weight_shift_bound(matrix: torch.Tensor, shift: torch.Tensor) -> torch.Tensor:
    """1/2 ||A||_2 ||x' - x||_2 [derived], an upper bound on ||f(A x') - f(A x)||_2."""
    return 0.5 * spectral_norm(matrix) * shift.norm(dim=-1)


def data_shift_bound(shift: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    """1/2 ||A' - A||_2 ||x||_2 [derived], an upper bound on ||f(A' x) - f(A x)||_2."""
    return 0.5 * spectral_norm(shift) * x.norm(dim=-1)


def local_weight_shift_constant(matrix: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    """||J(f(A x)) A||_2: the exact sup of ||f(A(x + t)) - f(A x)|| / ||t|| as t -> 0; at most 1/2 ||A||_2.

    J(f) A = diag(f) (A - 1 f^T A), with f = softmax(A x) (module docstring).
    """
    probabilities = softmax_prediction(matrix, x).unsqueeze(-1)  # (..., n, 1)
    return spectral_norm(probabilities * (matrix - probabilities.transpose(-1, -2) @ matrix))


def log10_paper_constant(rows: int, radius: float) -> float:
    """log10 of M = n^{1.5} exp(10 R^2) (Li et al. 2023, Thm 5.1/5.2, via secondary sources)."""
    if rows < 1 or radius < 0:
        raise ValueError(f"need rows >= 1 and radius >= 0, got rows={rows}, radius={radius}")
    return 1.5 * math.log10(rows) + 10.0 * radius**2 / math.log(10.0)
