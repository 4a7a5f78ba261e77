"""The two in-context models that Li et al. 2023 compare for softmax regression (Li, Song, Xia, Yu & Zhou 2023,
arXiv 2304.13276; notes C), in OUR parameterisation (their protocol is [not found], notes C3).

The context is a document A in R^{n x d} with b = softmax(A x*) in the simplex; both models predict the query
target b_q = softmax(A_q x*) from (A, b, A_q).

* Context loss (Deng, Li & Song 2023b; notes C1): L(x) = 1/2 ||f(x) - b||_2^2 with f(x) = softmax(A x). Its
  gradient [derived] is grad L(x) = A^T J(f) (f - b), with the softmax Jacobian J(f) = diag f - f f^T.
* GD model (`OneStepGD`): x_1 = one gradient step on L from x_0 = 0 with a trained step eta = n nu gamma;
  prediction softmax(A_q x_1). Since b is in the simplex, x_1 = (eta/n) A^T (b - 1/n).
* SA model (`SingleSoftmaxAttention`): one softmax attention whose keys are the rows of A_q and whose query is a
  learned linear read-out of the context tokens (a_j, b_j): q = nu (W_b A^T b + W_1 A^T 1/n); prediction
  softmax(A_q q). With W_b = -W_1 = (eta / (n nu)) I it equals the GD model.
* The shared scale nu = (sqrt(n) + sqrt(d))^2 / R^2 (R the norm bound of A and x*) makes the optimal
  parameters O(1).
* ``sensitivity`` (either model): the closed-form d b_hat / d b, the "model" of the paper's Model Diff / Model
  Cos metrics (von Oswald et al. 2023).
"""

from __future__ import annotations

import math

import torch
from torch import nn


def _softmax_of_scores(matrix: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    """softmax(A x) over the n rows of ``matrix`` (..., n, d) for ``x`` (..., d): the models' read-out."""
    return torch.softmax((matrix @ x.unsqueeze(-1)).squeeze(-1), dim=-1)


def softmax_jacobian(probabilities: torch.Tensor) -> torch.Tensor:
    """J(f) = diag(f) - f f^T, shaped (..., n, n)."""
    return torch.diag_embed(probabilities) - probabilities.unsqueeze(-1) * probabilities.unsqueeze(-2)


def loss(matrix: torch.Tensor, x: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """The context loss L(x) = 1/2 ||softmax(A x) - b||_2^2, shaped (...,)."""
    return 0.5 * ((_softmax_of_scores(matrix, x) - target) ** 2).sum(-1)


def gradient(matrix: torch.Tensor, x: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Closed-form grad L(x) = A^T J(f) (f - b), shaped (..., d)."""
    probabilities = _softmax_of_scores(matrix, x)
    residual = (softmax_jacobian(probabilities) @ (probabilities - target).unsqueeze(-1)).squeeze(-1)
    return (matrix.transpose(-1, -2) @ residual.unsqueeze(-1)).squeeze(-1)


def gradient_step(matrix: torch.Tensor, x: torch.Tensor, target: torch.Tensor, step: float) -> torch.Tensor:
    """One gradient-descent update x - step * grad L(x)."""
    return x - step * gradient(matrix, x, target)


def _scale(rows: int, dim: int, radius: float) -> float:
    """nu = (sqrt(n) + sqrt(d))^2 / R^2."""
    return (math.sqrt(rows) + math.sqrt(dim)) ** 2 / radius**2


class OneStepGD(nn.Module):
    """softmax(A_q x_1), x_1 = x_0 - eta grad L(x_0) on the context (A, b), x_0 = 0, eta = n nu gamma."""

    def __init__(self, rows: int, dim: int, radius: float) -> None:
        super().__init__()
        self.unit = rows * _scale(rows, dim, radius)
        self.gamma = nn.Parameter(torch.tensor(0.1, dtype=torch.float64))

    def forward(self, matrix: torch.Tensor, target: torch.Tensor, query_matrix: torch.Tensor) -> torch.Tensor:
        """Predicted b_q, shaped (B, n)."""
        start = torch.zeros(matrix.shape[0], matrix.shape[-1], dtype=matrix.dtype)
        return _softmax_of_scores(query_matrix, gradient_step(matrix, start, target, self.unit * self.gamma))

    def sensitivity(self, matrix: torch.Tensor, target: torch.Tensor, query_matrix: torch.Tensor) -> torch.Tensor:
        """d b_hat / d b = J(b_hat) A_q eta A^T J(f_0), f_0 = 1/n, shaped (B, n, n)."""
        uniform = torch.full_like(target, 1.0 / target.shape[-1])
        inner = self.unit * self.gamma * matrix.transpose(-1, -2) @ softmax_jacobian(uniform)
        prediction = self(matrix, target, query_matrix)
        return softmax_jacobian(prediction) @ query_matrix @ inner


class SingleSoftmaxAttention(nn.Module):
    """softmax over the rows of A_q of the scores A_q q, with query q = nu (W_b A^T b + W_1 A^T 1/n).

    W_b (``weighted``) and W_1 (``mean``) start i.i.d. N(0, 1/d) from ``generator``.
    """

    def __init__(self, rows: int, dim: int, radius: float, generator: torch.Generator) -> None:
        super().__init__()
        self.scale = _scale(rows, dim, radius)
        shape = (dim, dim)
        init = 1.0 / math.sqrt(dim)
        self.weighted = nn.Parameter(init * torch.randn(shape, generator=generator, dtype=torch.float64))
        self.mean = nn.Parameter(init * torch.randn(shape, generator=generator, dtype=torch.float64))

    def forward(self, matrix: torch.Tensor, target: torch.Tensor, query_matrix: torch.Tensor) -> torch.Tensor:
        """Predicted b_q, shaped (B, n)."""
        weighted = (matrix.transpose(-1, -2) @ target.unsqueeze(-1)).squeeze(-1)
        average = matrix.mean(dim=-2)
        query = self.scale * (weighted @ self.weighted.T + average @ self.mean.T)
        return _softmax_of_scores(query_matrix, query)

    def sensitivity(self, matrix: torch.Tensor, target: torch.Tensor, query_matrix: torch.Tensor) -> torch.Tensor:
        """d b_hat / d b = J(b_hat) A_q nu W_b A^T, shaped (B, n, n)."""
        prediction = self(matrix, target, query_matrix)
        return softmax_jacobian(prediction) @ query_matrix @ (self.scale * self.weighted) @ matrix.transpose(-1, -2)
