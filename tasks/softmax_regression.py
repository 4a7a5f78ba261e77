"""In-context softmax regression instances (Li, Song, Xia, Yu & Zhou 2023, arXiv 2304.13276; notes C1, C3).

An instance is a document A in R^{n x d}, a hidden x* in R^d and the target b = softmax(A x*). The
paper's sampling of A and b is [not found]; here A is a standard Gaussian matrix rescaled to spectral norm
exactly R and x* is uniform on the sphere of radius R, so ||A||_2 <= R and ||x*||_2 <= R (the bounded-norm
hypotheses of the notes). For in-context learning each instance also has a query document A_q (same law,
same x*) whose target b_q = softmax(A_q x*) is to be predicted from (A, b, A_q). The oracle knows x* and
predicts b_q exactly (`SoftmaxRegressionConfig.oracle`). Sampling is index-seeded (`attnbench.tasks.base`).
f(x) = softmax(A x) and ||A||_2 are defined here, as the task's ground truth; `attnbench.theory` imports them.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from attnbench.errors import require
from attnbench.tasks.base import Batch, Split, TaskConfig, torch_generator


def softmax_prediction(matrix: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    """f(x) = softmax(A x) over the n rows; ``matrix`` (..., n, d), ``x`` (..., d) -> (..., n)."""
    return torch.softmax((matrix @ x.unsqueeze(-1)).squeeze(-1), dim=-1)


def spectral_norm(matrix: torch.Tensor) -> torch.Tensor:
    """||A||_2 (largest singular value) over the last two axes."""
    return torch.linalg.matrix_norm(matrix, ord=2)


@dataclass(frozen=True)
class SoftmaxRegressionInstances(Batch):
    """In-context instances as a `Batch`: ``inputs`` the query documents A_q (B, n, d), ``targets`` their
    b_q = softmax(A_q x*) (B, n), every row scored; beside them the context documents ``matrix`` A (B, n, d)
    with ``target`` b = softmax(A x*) (B, n), and the hidden ``x_star`` (B, d)."""

    matrix: torch.Tensor
    target: torch.Tensor
    x_star: torch.Tensor


@dataclass(frozen=True)
class SoftmaxRegressionConfig(TaskConfig):
    """``batch_size`` instances: documents of ``rows`` (n) tokens in R^``dim`` (d), norm bound ``radius``;
    ``stream`` numbers independent training streams (one per seed)."""

    rows: int = 25
    dim: int = 5
    radius: float = 1.0
    batch_size: int = 64
    stream: int = 0

    def __post_init__(self) -> None:
        for key in ("rows", "dim", "batch_size"):
            require(int(getattr(self, key)) >= 1, key, f"must be a positive integer, got {getattr(self, key)}")
        require(self.rows >= 2, "rows", f"must be >= 2 (softmax over one row is constant), got {self.rows}")
        require(self.radius > 0, "radius", f"must be > 0, got {self.radius}")

    def sample(self, split: Split, index: int) -> SoftmaxRegressionInstances:
        """Batch ``index`` of ``split`` (fp64), a pure function of (config, split, index)."""
        generator = torch_generator(self, split, index)
        matrix, query_matrix = self._documents(generator), self._documents(generator)
        direction = torch.randn(self.batch_size, self.dim, generator=generator, dtype=torch.float64)
        x_star = self.radius * direction / direction.norm(dim=-1, keepdim=True)
        query_target = softmax_prediction(query_matrix, x_star)
        return SoftmaxRegressionInstances(
            inputs=query_matrix,
            targets=query_target,
            loss_mask=torch.ones_like(query_target, dtype=torch.bool),
            matrix=matrix,
            target=softmax_prediction(matrix, x_star),
            x_star=x_star,
        )

    def oracle(self, batch: Batch) -> torch.Tensor:
        """The exact answer softmax(A_q x*) (the oracle knows x*), shaped (B, n)."""
        if not isinstance(batch, SoftmaxRegressionInstances):
            raise TypeError(f"the oracle needs SoftmaxRegressionInstances (it reads x*), got {type(batch).__name__}")
        return softmax_prediction(batch.inputs, batch.x_star)

    def _documents(self, generator: torch.Generator) -> torch.Tensor:
        shape = (self.batch_size, self.rows, self.dim)
        gaussian = torch.randn(shape, generator=generator, dtype=torch.float64)
        return self.radius * gaussian / spectral_norm(gaussian)[:, None, None]
