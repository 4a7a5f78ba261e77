"""The two models that Li et al. 2023 compare, in OUR parameterisation (their protocol is [not found], notes C3).

* GD model: x_1 = one gradient step on L(x) = 1/2||softmax(A x) - b||^2 from x_0 = 0 with a trained step
  eta (`attnbench.theory.softmax_regression.gradient_step`); prediction softmax(A_q x_1). Since b is in
  the simplex, x_1 = (eta/n) A^T (b - 1/n).
* SA model: one softmax attention whose keys are the rows of A_q and whose query is a learned linear
  read-out of the context tokens (a_j, b_j): q = nu (W_b A^T b + W_1 A^T 1/n); prediction
  softmax(A_q q). With W_b = -W_1 = (eta / (n nu)) I it equals the GD model. The shared scale
  nu = (sqrt(n) + sqrt(d))^2 / R^2 makes the optimal parameters O(1).
* `sensitivity`: S P, where S = d b_hat / d b restricted to perturbations of b that keep sum(b) = 1
  (P = I - 1 1^T / n), the "model" of the paper's Model Diff / Model Cos metrics (von Oswald et al. 2023).
"""

from __future__ import annotations

import math

import torch
from torch import nn

from attnbench.tasks.softmax_regression import SoftmaxRegressionConfig, SoftmaxRegressionInstances
from attnbench.theory.softmax_regression import gradient_step, softmax_jacobian, softmax_prediction


def _scale(config: SoftmaxRegressionConfig) -> float:
    return (math.sqrt(config.rows) + math.sqrt(config.dim)) ** 2 / config.radius**2


class OneStepGD(nn.Module):
    """softmax(A_q x_1), x_1 = x_0 - eta grad L(x_0) on the context (A, b), x_0 = 0, eta = n nu gamma."""

    def __init__(self, config: SoftmaxRegressionConfig) -> None:
        super().__init__()
        self.unit = config.rows * _scale(config)
        self.gamma = nn.Parameter(torch.tensor(0.1, dtype=torch.float64))

    def forward(self, matrix: torch.Tensor, target: torch.Tensor, query_matrix: torch.Tensor) -> torch.Tensor:
        """Predicted b_q, shaped (B, n)."""
        start = torch.zeros(matrix.shape[0], matrix.shape[-1], dtype=matrix.dtype)
        return softmax_prediction(query_matrix, gradient_step(matrix, start, target, self.unit * self.gamma))

    def sensitivity(self, matrix: torch.Tensor, target: torch.Tensor, query_matrix: torch.Tensor) -> torch.Tensor:
        """d b_hat / d b = J(b_hat) A_q eta A^T J(f_0), f_0 = 1/n, shaped (B, n, n)."""
        uniform = torch.full_like(target, 1.0 / target.shape[-1])
        inner = self.unit * self.gamma * matrix.transpose(-1, -2) @ softmax_jacobian(uniform)
        prediction = self(matrix, target, query_matrix)
        return softmax_jacobian(prediction) @ query_matrix @ inner


class SingleSoftmaxAttention(nn.Module):
    """softmax over the rows of A_q of the scores A_q q, with query q = nu (W_b A^T b + W_1 A^T 1/n)."""

    def __init__(self, config: SoftmaxRegressionConfig, generator: torch.Generator) -> None:
        super().__init__()
        self.scale = _scale(config)
        shape = (config.dim, config.dim)
        init = 1.0 / math.sqrt(config.dim)
        self.weighted = nn.Parameter(init * torch.randn(shape, generator=generator, dtype=torch.float64))
        self.mean = nn.Parameter(init * torch.randn(shape, generator=generator, dtype=torch.float64))

    def forward(self, matrix: torch.Tensor, target: torch.Tensor, query_matrix: torch.Tensor) -> torch.Tensor:
        """Predicted b_q, shaped (B, n)."""
        weighted = (matrix.transpose(-1, -2) @ target.unsqueeze(-1)).squeeze(-1)
        average = matrix.mean(dim=-2)
        query = self.scale * (weighted @ self.weighted.T + average @ self.mean.T)
        return softmax_prediction(query_matrix, query)

    def sensitivity(self, matrix: torch.Tensor, target: torch.Tensor, query_matrix: torch.Tensor) -> torch.Tensor:
        """d b_hat / d b = J(b_hat) A_q nu W_b A^T, shaped (B, n, n)."""
        prediction = self(matrix, target, query_matrix)
        return softmax_jacobian(prediction) @ query_matrix @ (self.scale * self.weighted) @ matrix.transpose(-1, -2)


def predict(model: nn.Module, data: SoftmaxRegressionInstances) -> torch.Tensor:
    """The model's predicted b_q for every instance, shaped (B, n)."""
    return model(data.matrix, data.target, data.query_matrix)


def loss(model: nn.Module, data: SoftmaxRegressionInstances) -> torch.Tensor:
    """½‖b̂_q − b_q‖², averaged over the instances."""
    return 0.5 * ((predict(model, data) - data.query_target) ** 2).sum(-1).mean()


def sensitivity(model: OneStepGD | SingleSoftmaxAttention, data: SoftmaxRegressionInstances) -> torch.Tensor:
    """S P: closed-form d b_hat / d b per instance (B, n, n), on sum-preserving shifts of b."""
    jacobian = model.sensitivity(data.matrix, data.target, data.query_matrix)
    rows = data.target.shape[-1]
    return jacobian @ (torch.eye(rows, dtype=jacobian.dtype) - 1.0 / rows)
