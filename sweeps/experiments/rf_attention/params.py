"""The params of the rf_attention family (Fu, Guo, Bai & Mei 2023, arXiv 2307.11353).

One flat dataclass: the ``heads`` and ``samples`` studies share ``dim``/``keys``/``power``/``ridge``/``train_size``,
the other studies use their own prefixed fields. The defaults are the quick profile (about 30 s on one core);
the paper's simulation sizes are [not found] (notes D1), so the ``paper`` profile only scales ours up.
"""

from __future__ import annotations

from dataclasses import dataclass

from attnbench.sweeps.experiments.base import require
from attnbench.sweeps.validation import Params, param

SECTIONS = ("heads", "samples", "mean", "keys", "permutation")


def slope_window(heads_grid: list[int]) -> list[int]:
    """The M values the M^{-1/2} slope of the KRR gap is fitted on: the larger half of the declared grid.

    The rate is an M -> infinity statement whose onset the theory does not give (no constants), so the
    window is fixed by this rule before anything runs, never read off the curve; `RFAttentionParams.check`
    requires it to lie past the interpolation threshold M (d + 1) = n, below which the ridge predictor is
    governed by the rank of the feature Gram matrix rather than by its concentration around the kernel.
    """
    return sorted(heads_grid)[len(heads_grid) // 2:]


@dataclass
class RFAttentionParams(Params):
    """Quick-profile sizes. ``power`` is the odd correlation target psi(t) = t^power of the heads, samples and
    keys studies; ``mean_power`` the even one of the mean study (where zero-mean W fails)."""

    dim: int = param(5, ge=1, help="token dimension d")
    keys: int = param(10, ge=1, help="keys N per sequence (heads, samples, mean, permutation)")
    power: int = param(1, ge=1, help="odd correlation target psi(t) = t^power")
    ridge: float = param(1e-4, gt=0, help="ridge of the heads and samples studies")
    heads_grid: list[int] = param([10, 20, 40, 80, 160, 320, 640, 1280], ge=1, help="heads: the M values")
    train_size: int = param(400, ge=1, help="heads/mean/keys: training examples n")
    samples_grid: list[int] = param([50, 100, 200, 400], ge=1, help="samples: the n values")
    samples_heads: int = param(160, ge=1, help="samples/permutation: heads M")
    test_size: int = param(500, ge=1, help="test (and validation) examples")
    seeds: int = param(3, ge=2, help="seeds per study (the checks' replicates)")
    mean_grid: list[float] = param([0.0, 1.0, 2.0, 4.0, 8.0], ge=0, help="mean: the means c of W")
    mean_power: int = param(2, ge=1, help="mean: even correlation target psi(t) = t^mean_power")
    mean_heads: int = param(50, ge=1, help="mean: heads M")
    mean_ridge: float = param(1e-3, gt=0, help="mean: ridge")
    keys_grid: list[int] = param([2, 5, 10, 20], ge=1, help="keys: the N values")
    keys_heads: int = param(50, ge=1, help="keys: heads M (the RF-MLP gets M (d + 1) features)")
    ridge_grid: list[float] = param([1e-5, 1e-4, 1e-3, 1e-2, 1e-1], gt=0, help="keys: validated ridges")
    permutations: int = param(8, ge=1, help="permutation: random key permutations per seed")

    def check(self) -> None:
        for key in ("heads_grid", "samples_grid", "keys_grid"):
            grid = list(getattr(self, key))
            require(len(grid) >= 2 and grid == sorted(set(grid)), key, f"must be >= 2 increasing values, got {grid}")
        window = slope_window(self.heads_grid)
        require(window[0] * (self.dim + 1) > self.train_size, "heads_grid",
                f"the slope window {window} must lie past the interpolation threshold M (dim + 1) > train_size")
        require(0.0 in self.mean_grid and any(c > 0 for c in self.mean_grid), "mean_grid",
                "must contain 0.0 and at least one positive mean")
        require(self.mean_power % 2 == 0 and self.power % 2 == 1, "mean_power",
                "mean_power must be even and power odd (the mean study contrasts the two)")
