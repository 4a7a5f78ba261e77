"""The params of the rf_attention family (Fu, Guo, Bai & Mei 2023, arXiv 2307.11353): one nested section per study.

Each study's params hold exactly the fields its run reads; the values several studies share (``dim``, ``keys``,
``power``, ``test_size``, ``seeds``...) are repeated in each, with the same default, so a study is self-contained
(``params.heads.seeds=5`` changes the heads study only). The defaults are the quick profile (about 30 s on one
core); the paper's simulation sizes are [not found] (notes D1), so the ``paper`` profile only scales ours up.
"""

from __future__ import annotations

from dataclasses import dataclass

from attnbench.sweeps.experiments.base import require
from attnbench.sweeps.validation import Params, SectionParams, param, require_increasing, section

STUDIES = ("heads", "samples", "permutation", "mean", "keys", "gd")


def slope_window(heads_grid: list[int]) -> list[int]:
    """The M values the M^{-1/2} slope of the KRR gap is fitted on: the larger half of the declared grid.

    The rate is an M -> infinity statement whose onset the theory does not give (no constants), so the
    window is fixed by this rule before anything runs, never read off the curve; `HeadsParams.check`
    requires it to lie past the interpolation threshold M (d + 1) = n, below which the ridge predictor is
    governed by the rank of the feature Gram matrix rather than by its concentration around the kernel.
    """
    return sorted(heads_grid)[len(heads_grid) // 2 :]


@dataclass
class HeadsParams(SectionParams):
    """Ridge on M heads at fixed n: the test error and the distance to the kernel-ridge predictor, per M."""

    dim: int = param(5, ge=1, help="token dimension d")
    keys: int = param(10, ge=1, help="keys N per sequence")
    power: int = param(1, ge=1, help="odd correlation target psi(t) = t^power")
    ridge: float = param(1e-4, gt=0, help="ridge")
    grid: list[int] = param([10, 20, 40, 80, 160, 320, 640, 1280], ge=1, help="the heads M")
    train_size: int = param(400, ge=1, help="training examples n")
    test_size: int = param(500, ge=1, help="test examples")
    seeds: int = param(3, ge=2, help="seeds (the checks' replicates)")

    def check(self) -> None:
        require_increasing(self.grid, "params.heads.grid")
        window = slope_window(self.grid)
        require(
            window[0] * (self.dim + 1) > self.train_size,
            "params.heads.grid",
            f"the slope window {window} must lie past the interpolation threshold M (dim + 1) > train_size",
        )


@dataclass
class SamplesParams(SectionParams):
    """The test error of RFA at fixed M and of kernel ridge, per n."""

    dim: int = param(5, ge=1, help="token dimension d")
    keys: int = param(10, ge=1, help="keys N per sequence")
    power: int = param(1, ge=1, help="odd correlation target psi(t) = t^power")
    ridge: float = param(1e-4, gt=0, help="ridge")
    grid: list[int] = param([50, 100, 200, 400], ge=1, help="the training sizes n")
    heads: int = param(160, ge=1, help="heads M")
    test_size: int = param(500, ge=1, help="test examples")
    seeds: int = param(3, ge=2, help="seeds (the checks' replicates)")

    def check(self) -> None:
        require_increasing(self.grid, "params.samples.grid")


@dataclass
class PermutationParams(SectionParams):
    """The largest relative change of f(X) over random permutations of the keys."""

    dim: int = param(5, ge=1, help="token dimension d")
    keys: int = param(10, ge=1, help="keys N per sequence")
    power: int = param(1, ge=1, help="correlation target psi(t) = t^power of the inputs")
    heads: int = param(160, ge=1, help="heads M")
    test_size: int = param(500, ge=1, help="test examples")
    permutations: int = param(8, ge=1, help="random key permutations per seed")
    seeds: int = param(3, ge=2, help="seeds (the checks' replicates)")


@dataclass
class MeanParams(SectionParams):
    """Zero-mean vs non-zero-mean W on an even correlation target, and on an odd one for contrast."""

    dim: int = param(5, ge=1, help="token dimension d")
    keys: int = param(10, ge=1, help="keys N per sequence")
    power: int = param(2, ge=1, help="even correlation target psi(t) = t^power (the claim's)")
    contrast_power: int = param(1, ge=1, help="odd correlation target psi(t) = t^contrast_power (the contrast)")
    grid: list[float] = param([0.0, 1.0, 2.0, 4.0, 8.0], ge=0, help="the means c of W")
    heads: int = param(50, ge=1, help="heads M")
    ridge: float = param(1e-3, gt=0, help="ridge")
    train_size: int = param(400, ge=1, help="training examples n")
    test_size: int = param(500, ge=1, help="test examples")
    seeds: int = param(3, ge=2, help="seeds (the checks' replicates)")

    def check(self) -> None:
        require(
            0.0 in self.grid and any(c > 0 for c in self.grid),
            "params.mean.grid",
            "must contain 0.0 and at least one positive mean",
        )
        require(
            self.power % 2 == 0 and self.contrast_power % 2 == 1,
            "params.mean.power",
            "power must be even and contrast_power odd (the mean study contrasts the two)",
        )


@dataclass
class KeysParams(SectionParams):
    """RFA vs an RF-MLP with the same feature count, per N, each with its validated ridge."""

    dim: int = param(5, ge=1, help="token dimension d")
    power: int = param(1, ge=1, help="odd correlation target psi(t) = t^power")
    grid: list[int] = param([2, 5, 10, 20], ge=1, help="the keys N")
    heads: int = param(50, ge=1, help="heads M (the RF-MLP gets M (d + 1) features)")
    ridges: list[float] = param([1e-5, 1e-4, 1e-3, 1e-2, 1e-1], gt=0, help="the validated ridges")
    train_size: int = param(400, ge=1, help="training examples n")
    test_size: int = param(500, ge=1, help="test (and validation) examples")
    seeds: int = param(3, ge=2, help="seeds (the checks' replicates)")

    def check(self) -> None:
        require_increasing(self.grid, "params.keys.grid")


@dataclass
class GDParams(SectionParams):
    """The values trained by full-batch GD from 0 on the ridge objective, at a fixed number of heads."""

    dim: int = param(5, ge=1, help="token dimension d")
    keys: int = param(10, ge=1, help="keys N per sequence")
    power: int = param(1, ge=1, help="odd correlation target psi(t) = t^power")
    ridge: float = param(1e-3, gt=0, help="ridge")
    heads: int = param(160, ge=1, help="heads M")
    train_size: int = param(400, ge=1, help="training examples n")
    test_size: int = param(500, ge=1, help="test examples")
    steps: int = param(2000, ge=1, help="GD steps")
    record_every: int = param(20, ge=1, help="steps between recorded risks")
    step_fraction: float = param(0.9, gt=0, lt=1, help="the step size as a fraction of 1/L (L: the Lipschitz constant)")
    seeds: int = param(3, ge=2, help="seeds (the checks' replicates)")


@dataclass
class RFAttentionParams(Params):
    """The studies a run computes and each study's params (quick-profile sizes)."""

    sections: list[str] = param(list(STUDIES), choices=STUDIES, help="the studies this run computes")
    heads: HeadsParams = section(HeadsParams, help="error and KRR gap vs the heads M")
    samples: SamplesParams = section(SamplesParams, help="error vs the training size n, KRR beside it")
    permutation: PermutationParams = section(PermutationParams, help="invariance to permuting the keys")
    mean: MeanParams = section(MeanParams, help="zero vs non-zero mean of W on even and odd targets")
    keys: KeysParams = section(KeysParams, help="RFA vs an RF-MLP of equal feature count vs the keys N")
    gd: GDParams = section(GDParams, help="the values trained by GD beside the closed-form trajectory")
