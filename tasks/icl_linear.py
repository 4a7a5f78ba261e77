"""In-context linear regression (He, Pan, Chen, Yang 2025, §2; Garg et al. 2022).

x_i ~ N(0, Σ) (isotropic by default), w ~ N(0, τ² I) with τ² = 1/d by default, y_i = w·x_i + ε_i with
ε_i ~ N(0, σ²). A prompt is L context tokens z_i = (x_i, y_i) and a query token (x_q, 0): He et al.'s
embedding Z = [[x_1 … x_L x_q]; [y_1 … y_L 0]], stored here token-major as (batch, L + 1, d + 1).
The target is y_q; every prompt's query is scored, nothing else.

Oracles (functions of the prompt alone): the posterior mean (`IclLinearConfig.oracle`: ridge with λ = σ²/τ²,
Bayes-optimal), least squares, one step of GD from zero, and debiased GD.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import torch

from attnbench.errors import require
from attnbench.tasks.base import Batch, Split, TaskConfig, torch_generator


@dataclass(frozen=True)
class IclLinearConfig(TaskConfig):
    """``covariance`` is None (identity) or a d×d symmetric positive-definite matrix as nested tuples.
    ``stream`` selects one of many independent data streams (one per ensemble member)."""

    dim: int = 5
    context_length: int = 40
    noise_var: float = 0.1
    weight_var: float | None = None
    covariance: tuple[tuple[float, ...], ...] | None = None
    batch_size: int = 256
    stream: int = 0

    def __post_init__(self) -> None:
        require(self.dim >= 1, "dim", f"must be >= 1, got {self.dim}")
        require(self.context_length >= 1, "context_length", f"must be >= 1, got {self.context_length}")
        require(self.noise_var >= 0, "noise_var", f"must be >= 0, got {self.noise_var}")
        require(self.batch_size >= 1, "batch_size", f"must be >= 1, got {self.batch_size}")
        if self.covariance is not None:
            cov = torch.tensor(self.covariance, dtype=torch.float64)
            require(
                cov.shape == (self.dim, self.dim) and bool(torch.allclose(cov, cov.T)),
                "covariance",
                f"must be a symmetric {self.dim}x{self.dim} matrix",
            )
            require(bool(torch.linalg.eigvalsh(cov).min() > 0), "covariance", "must be positive definite")

    @property
    def prior_var(self) -> float:
        return 1.0 / self.dim if self.weight_var is None else self.weight_var

    def with_length(self, context_length: int) -> IclLinearConfig:
        return replace(self, context_length=context_length)

    def sample(self, split: Split, index: int, dtype: torch.dtype = torch.float32) -> Batch:
        """Batch ``index`` of ``split``: a pure function of (config, split, index); ``dtype`` of the draws."""
        gen = torch_generator(self, split, index)
        b, n, d = self.batch_size, self.context_length + 1, self.dim
        x = torch.randn(b, n, d, generator=gen, dtype=dtype)
        if self.covariance is not None:
            x = x @ torch.linalg.cholesky(torch.tensor(self.covariance, dtype=dtype)).T
        w = torch.randn(b, d, 1, generator=gen, dtype=dtype) * self.prior_var**0.5
        noise = torch.randn(b, n, 1, generator=gen, dtype=dtype) * self.noise_var**0.5
        y = torch.bmm(x, w) + noise
        target = y[:, -1, 0].clone()
        y[:, -1] = 0.0
        return Batch(inputs=torch.cat([x, y], dim=-1), targets=target, loss_mask=torch.ones(b, dtype=torch.bool))

    def oracle(self, batch: Batch) -> torch.Tensor:
        """The posterior mean of y_q: ridge with λ = σ²/τ² (σ² = 0 gives the minimum-norm interpolant)."""
        if self.noise_var == 0:
            return ols_predict(batch.inputs)
        return ridge_predict(batch.inputs, self.noise_var / self.prior_var)


def split_prompt(inputs: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """(context x, context y, query x) of prompts shaped (..., L + 1, d + 1)."""
    return inputs[..., :-1, :-1], inputs[..., :-1, -1], inputs[..., -1, :-1]


def ridge_predict(inputs: torch.Tensor, ridge: float) -> torch.Tensor:
    """ŷ = x_qᵀ (XᵀX + λI)⁻¹ Xᵀy. With λ = σ²/τ² this is the posterior mean: the Bayes-optimal predictor."""
    x, y, query = split_prompt(inputs)
    gram = x.transpose(-1, -2) @ x + ridge * torch.eye(x.shape[-1], dtype=x.dtype)
    weights = torch.linalg.solve(gram, (x.transpose(-1, -2) @ y.unsqueeze(-1))).squeeze(-1)
    return (weights * query).sum(-1)


def ols_predict(inputs: torch.Tensor) -> torch.Tensor:
    """Minimum-norm least squares ŷ = x_qᵀ X⁺ y."""
    x, y, query = split_prompt(inputs)
    weights = (torch.linalg.pinv(x) @ y.unsqueeze(-1)).squeeze(-1)
    return (weights * query).sum(-1)


def gd_predict(inputs: torch.Tensor, eta: float) -> torch.Tensor:
    """One GD step from w = 0 on ½L⁻¹Σ(y − wᵀx)²: ŷ = (η/L) Σ y_ℓ x_ℓᵀx_q."""
    x, y, query = split_prompt(inputs)
    return eta / x.shape[-2] * torch.einsum("...l,...ld,...d->...", y, x, query)


def debiased_gd_predict(inputs: torch.Tensor, eta: float) -> torch.Tensor:
    """He et al. 2025, debiased GD: ŷ = (η/L) Σ y_ℓ (x_ℓ − x̄)ᵀx_q with x̄ the context mean."""
    x, y, query = split_prompt(inputs)
    centred = x - x.mean(dim=-2, keepdim=True)
    return eta / x.shape[-2] * torch.einsum("...l,...ld,...d->...", y, centred, query)
