"""Non-stationary piecewise-linear stream for test-time regression (Zuo et al. 2025, arXiv 2510.01450, §5, Fig. 2).

The paper's generator parameters are [not found] (notes papers/lla.md §4); this is our reconstruction
[derived; a proposal, not the paper's]: values y_t = A_{s(t)} x_t + σ ε_t with ε_t ~ N(0, I_d); the map A_s
(d×d, entries N(0, τ²), τ² = 1/d) is redrawn independently every ``segment_length`` tokens, s(t) = ⌊t / S⌋.
Keys x_t = c_{s(t)} + r ξ_t with ξ_t ~ N(0, I_d) and a segment centre c_s ~ N(0, shift² I_d).

- ``key_shift = 0, key_spread = 1`` is the notes' literal proposal (keys N(0, I_d), stationary): y is then not a
  function of x (the map depends on time only), so no estimator that is local in key space can tell segments
  apart.
- ``key_shift > 0`` makes the regression function piecewise linear *in x* (one affine-free linear piece per
  region of key space) and the stream non-stationary in x: our reading of the paper's "piecewise-linear"
  regression function and of "LLA improves as in-distribution data accumulates" (notes §2, §4).

Position t is predicted from the past (x_j, y_j)_{j<t} and the query x_t; position 0 has no past and is never
scored.

A batch is ``inputs`` (B, L, 2d) = tokens (x_t, y_t), ``targets`` (B, L, d) = y_t and ``loss_mask`` (B, L), True
for t ≥ 1. Oracles (closed form, causal, fp64): ridge regression on the whole prefix with and without an
intercept (MesaNet-type "global linear" test-time regressors), and the segment-aware Bayes predictor
(`PiecewiseLinearConfig.oracle`: ridge on the current segment's prefix with λ = σ²/τ²: the posterior mean given
the segment boundaries).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from attnbench.errors import require
from attnbench.tasks.base import Batch, Split, TaskConfig, torch_generator


@dataclass(frozen=True)
class PiecewiseLinearConfig(TaskConfig):
    """``stream`` selects one of many independent data streams (one per seed)."""

    dim: int = 8
    length: int = 1024
    segment_length: int = 128
    noise_var: float = 0.1
    key_shift: float = 1.0
    key_spread: float = 0.5
    batch_size: int = 8
    stream: int = 0

    def __post_init__(self) -> None:
        require(self.dim >= 1, "dim", f"must be >= 1, got {self.dim}")
        require(self.length >= 2, "length", f"must be >= 2, got {self.length}")
        require(
            1 <= self.segment_length <= self.length,
            "segment_length",
            f"must be in [1, length={self.length}], got {self.segment_length}",
        )
        require(self.noise_var >= 0, "noise_var", f"must be >= 0, got {self.noise_var}")
        require(self.batch_size >= 1, "batch_size", f"must be >= 1, got {self.batch_size}")
        require(self.key_shift >= 0, "key_shift", f"must be >= 0, got {self.key_shift}")
        require(self.key_spread > 0, "key_spread", f"must be > 0, got {self.key_spread}")

    @property
    def prior_var(self) -> float:
        """τ² = 1/d, the variance of each entry of A_s."""
        return 1.0 / self.dim

    @property
    def bayes_ridge(self) -> float:
        """λ = σ²/τ²: ridge on one segment's data with this λ is the posterior mean of A_s x_t."""
        return self.noise_var / self.prior_var

    def segment_index(self) -> torch.Tensor:
        """s(t) = ⌊t/S⌋ for t = 0..L−1."""
        return torch.arange(self.length) // self.segment_length

    def sample(self, split: Split, index: int, dtype: torch.dtype = torch.float64) -> Batch:
        """Batch ``index`` of ``split``: a pure function of (config, split, index); ``dtype`` of the draws."""
        gen = torch_generator(self, split, index)
        b, n, d = self.batch_size, self.length, self.dim
        segments = int(self.segment_index()[-1]) + 1
        centres = torch.randn(b, segments, d, generator=gen, dtype=dtype) * self.key_shift
        x = centres[:, self.segment_index()] + torch.randn(b, n, d, generator=gen, dtype=dtype) * self.key_spread
        maps = torch.randn(b, segments, d, d, generator=gen, dtype=dtype) * self.prior_var**0.5
        noise = torch.randn(b, n, d, generator=gen, dtype=dtype) * self.noise_var**0.5
        y = torch.einsum("btij,btj->bti", maps[:, self.segment_index()], x) + noise
        mask = torch.ones(b, n, dtype=torch.bool)
        mask[:, 0] = False
        return Batch(inputs=torch.cat([x, y], dim=-1), targets=y, loss_mask=mask)

    def oracle(self, batch: Batch) -> torch.Tensor:
        """Posterior mean of y_t given the past of its own segment (boundaries known): ridge with λ = σ²/τ², no
        intercept, restarted at each boundary (0, the prior mean, at a segment's first token)."""
        x, y = split_tokens(batch.inputs)
        return prefix_ridge_predict(x, y, self.bayes_ridge, intercept=False, restart=self.segment_index())


def split_tokens(inputs: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """(keys x, values y) of tokens shaped (..., L, 2d)."""
    d = inputs.shape[-1] // 2
    return inputs[..., :d], inputs[..., d:]


def prefix_ridge_predict(
    x: torch.Tensor, y: torch.Tensor, ridge: float, *, intercept: bool, restart: torch.Tensor | None = None
) -> torch.Tensor:
    """ŷ_t from (x_j, y_j)_{j<t} and x_t by ridge regression, for every t; row t = 0 is 0 (no past).

    Without intercept: ŷ_t = (Σ y_j x_jᵀ)(Σ x_j x_jᵀ + λI)⁻¹ x_t (MesaNet's readout, notes §1.1). With an
    unpenalised intercept: ŷ_t = ȳ + C_yx (C_xx + λI)⁻¹ (x_t − x̄), the sums centred on the prefix means.
    ``restart`` (L,) integer labels: sums only run over j < t with the same label as t (segment-aware oracle).
    Cumulative sums over the prefix: O(L d²) memory; shapes x (B, L, d), y (B, L, dv).
    """
    require(ridge > 0, "ridge", f"must be > 0, got {ridge}")
    labels = torch.zeros(x.shape[-2], dtype=torch.long) if restart is None else restart
    ones = torch.ones_like(x[..., :1])
    outer = {"xx": x[..., :, None] * x[..., None, :], "yx": y[..., :, None] * x[..., None, :]}
    sums = {"n": ones, "x": x, "y": y, **{name: term.flatten(-2) for name, term in outer.items()}}
    past = {}
    for name, term in sums.items():  # every term is (B, L, features)
        inclusive = torch.zeros_like(term)
        for label in labels.unique():
            in_segment = labels == label
            inclusive[..., in_segment, :] = term[..., in_segment, :].cumsum(-2)
        past[name] = inclusive - term  # sums over j < t (within the segment)
    for name, term in outer.items():
        past[name] = past[name].unflatten(-1, term.shape[-2:])
    count = past["n"][..., 0].clamp(min=1)
    gram, cross = past["xx"], past["yx"]
    if intercept:
        x_mean, y_mean = past["x"] / count[..., None], past["y"] / count[..., None]
        gram = gram - count[..., None, None] * x_mean[..., :, None] * x_mean[..., None, :]
        cross = cross - count[..., None, None] * y_mean[..., :, None] * x_mean[..., None, :]
        offset = x - x_mean
    else:
        y_mean, offset = torch.zeros_like(y), x
    eye = torch.eye(x.shape[-1], dtype=x.dtype)
    solved = torch.linalg.solve(gram + ridge * eye, offset[..., None])
    prediction = y_mean + (cross @ solved)[..., 0]
    return prediction * (past["n"] > 0)
