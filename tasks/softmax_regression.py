"""In-context softmax regression instances (Li, Song, Xia, Yu & Zhou 2023, arXiv 2304.13276; notes C1, C3).

An instance is a document A in R^{n x d}, a hidden x* in R^d and the target b = softmax(A x*). The
paper's sampling of A and b is [not found]; here A is a standard Gaussian matrix rescaled to spectral norm
exactly R and x* is uniform on the sphere of radius R, so ||A||_2 <= R and ||x*||_2 <= R (the bounded-norm
hypotheses of the notes). For in-context learning each instance also has a query document A_q (same law,
same x*) whose target b_q = softmax(A_q x*) is to be predicted from (A, b, A_q). The oracle knows x* and
predicts b_q exactly. Sampling is index-seeded (`attnbench.tasks.base`).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from attnbench.tasks.base import Batch, Split, torch_generator
from attnbench.theory.softmax_regression import softmax_prediction, spectral_norm


@dataclass(frozen=True)
class SoftmaxRegressionConfig:
    """``batch_size`` instances: documents of ``rows`` (n) tokens in R^``dim`` (d), norm bound ``radius``."""

    rows: int = 25
    dim: int = 5
    radius: float = 1.0
    batch_size: int = 64

    def __post_init__(self) -> None:
        for key in ("rows", "dim", "batch_size"):
            if int(getattr(self, key)) < 1:
                raise ValueError(f"{key} must be a positive integer, got {getattr(self, key)}")
        if self.rows < 2:
            raise ValueError(f"rows must be >= 2 (softmax over one row is constant), got {self.rows}")
        if not self.radius > 0:
            raise ValueError(f"radius must be > 0, got {self.radius}")


@dataclass(frozen=True)
class SoftmaxRegressionInstances:
    """Documents ``matrix`` (B, n, d) and ``query_matrix`` (B, n, d), hidden ``x_star`` (B, d), targets
    ``target`` = softmax(A x*) and ``query_target`` = softmax(A_q x*) (B, n)."""

    matrix: torch.Tensor
    query_matrix: torch.Tensor
    x_star: torch.Tensor
    target: torch.Tensor
    query_target: torch.Tensor

    def to_batch(self) -> Batch:
        """The plain softmax-regression `Batch`: inputs A, targets b, every row scored."""
        return Batch(inputs=self.matrix, targets=self.target, loss_mask=torch.ones_like(self.target, dtype=torch.bool))


def _documents(config: SoftmaxRegressionConfig, generator: torch.Generator) -> torch.Tensor:
    shape = (config.batch_size, config.rows, config.dim)
    gaussian = torch.randn(shape, generator=generator, dtype=torch.float64)
    return config.radius * gaussian / spectral_norm(gaussian)[:, None, None]


def sample(config: SoftmaxRegressionConfig, split: Split, index: int) -> SoftmaxRegressionInstances:
    """Batch ``index`` of ``split`` (fp64), a pure function of (config, split, index)."""
    generator = torch_generator(config, split, index)
    matrix, query_matrix = _documents(config, generator), _documents(config, generator)
    direction = torch.randn(config.batch_size, config.dim, generator=generator, dtype=torch.float64)
    x_star = config.radius * direction / direction.norm(dim=-1, keepdim=True)
    return SoftmaxRegressionInstances(
        matrix=matrix,
        query_matrix=query_matrix,
        x_star=x_star,
        target=softmax_prediction(matrix, x_star),
        query_target=softmax_prediction(query_matrix, x_star),
    )


def oracle_query_prediction(instances: SoftmaxRegressionInstances) -> torch.Tensor:
    """The exact answer softmax(A_q x*) (the oracle knows x*)."""
    return softmax_prediction(instances.query_matrix, instances.x_star)
