"""Targets of the form f*(x_{0:N}) = (1/N) sum_i psi(<x_0, x_i>) for random-feature attention.

Fu, Guo, Bai & Mei (NeurIPS 2023, arXiv 2307.11353) study targets (1/N) sum_i F(x_0, x_i) that are permutation
invariant in the keys, among them correlation targets F = psi(<x_0, x_i>) (notes D1-D2). Their exact input
distribution and simulation targets are [not found]; here the query x_0 and the N keys are i.i.d. uniform
on the unit sphere S^{d-1} and psi is one of

* ``power``:  psi(t) = t^power,
* ``cosine``: psi(t) = cos(frequency * pi * t)  (a harder, oscillating correlation target).

Labels are f* plus optional Gaussian noise; the oracle (the Bayes predictor under squared loss) is f*
itself. Sampling is index-seeded (`attnbench.tasks.base`): batch ``index`` of ``split`` is a pure
function of the config.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch

from attnbench.errors import require
from attnbench.tasks.base import Batch, Split, TaskConfig, torch_generator

TARGETS = ("power", "cosine")


@dataclass(frozen=True)
class RFTargetConfig(TaskConfig):
    """``batch_size`` examples of a query and ``keys`` keys in R^``dim``; psi chosen by ``target``."""

    dim: int = 5
    keys: int = 10
    target: str = "power"
    power: int = 2
    frequency: float = 1.0
    noise_std: float = 0.0
    batch_size: int = 256

    def __post_init__(self) -> None:
        for key in ("dim", "keys", "power", "batch_size"):
            require(int(getattr(self, key)) >= 1, key, f"must be a positive integer, got {getattr(self, key)}")
        require(self.target in TARGETS, "target", f"must be one of {TARGETS}, got {self.target!r}")
        require(self.noise_std >= 0, "noise_std", f"must be >= 0, got {self.noise_std}")

    def sample(self, split: Split, index: int) -> Batch:
        """Batch ``index`` of ``split`` (fp64): inputs (batch, 1 + N, dim) on the sphere, targets (batch,)."""
        generator = torch_generator(self, split, index)
        shape = (self.batch_size, self.keys + 1, self.dim)
        inputs = torch.randn(shape, generator=generator, dtype=torch.float64)
        inputs = inputs / inputs.norm(dim=-1, keepdim=True)
        noise = torch.randn(self.batch_size, generator=generator, dtype=torch.float64)
        targets = self.target_of(inputs) + self.noise_std * noise
        return Batch(inputs=inputs, targets=targets, loss_mask=torch.ones(self.batch_size, dtype=torch.bool))

    def oracle(self, batch: Batch) -> torch.Tensor:
        """The Bayes predictor under squared loss: f* of the batch's inputs, shaped (batch,)."""
        return self.target_of(batch.inputs)

    def target_of(self, inputs: torch.Tensor) -> torch.Tensor:
        """f*(X) = (1/N) sum_i psi(<x_0, x_i>) for inputs (batch, 1 + N, dim), shaped (batch,)."""
        correlations = torch.einsum("bd,bnd->bn", inputs[:, 0], inputs[:, 1:])
        if self.target == "power":
            values = correlations**self.power
        else:
            values = torch.cos(self.frequency * math.pi * correlations)
        return values.mean(dim=-1)
