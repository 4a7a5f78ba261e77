"""Params of the identities experiment (issue 8; notes extra_theory.md §1–7, §11, §13)."""

from __future__ import annotations

from dataclasses import dataclass

from attnbench.sweeps.experiments.base import require
from attnbench.sweeps.validation import Params, param


@dataclass
class IdentitiesParams(Params):
    """Quick-profile sizes; every identity runs in well under a second per seed on one CPU core."""

    seeds: int = param(3, ge=1, help="seeds (ctx.seed, ctx.seed + 1, ...) of every identity")
    regression_length: int = param(40, ge=2, help="regression section: sequence length n")
    scan_lengths: list[int] = param([1, 64, 257], ge=1, help="monoid section: lengths of the Aaren prefix scan")
    scan_logit_scales: list[float] = param([1.0, 50.0], gt=0, help="monoid section: logit scales of the scan")
    tiling_length: int = param(300, ge=2, help="chunk section: sequence length of Lightning tiling")
    block_sizes: list[int] = param([1, 7, 64], ge=1, help="chunk section: Lightning block sizes")
    decays: list[float] = param([1.0, 0.97], gt=0, le=1, help="chunk section: Lightning decays")
    chunk_length: int = param(64, ge=2, help="chunk section: sequence length of chunked DeltaNet")
    chunk_sizes: list[int] = param([1, 16, 50], ge=1, help="chunk section: DeltaNet chunk sizes")
    sigmoid_lengths: list[int] = param([16, 128, 512, 1024, 2048, 4096], ge=1,
                                       help="sigmoid section: sequence lengths of the duplication study")
    slope_min_length: int = param(512, ge=1, help="sigmoid section: smallest n of the 1/n slope fit")
    mala_magnitudes: list[float] = param([0.5, 1.0, 4.0], gt=0, help="pathology section: MALA query magnitudes m")
    tight_epsilons: list[float] = param([1e-2, 1e-4, 1e-6], gt=0, help="gradient section: ε of the tight case")

    def check(self) -> None:
        """The 1/n slope is fitted on the sigmoid lengths ≥ slope_min_length: at least three of them, so that
        the fit has a standard error."""
        require(sum(n >= self.slope_min_length for n in self.sigmoid_lengths) >= 3, "slope_min_length",
                "at least three sigmoid_lengths must be >= slope_min_length (the 1/n slope is fitted on them)")
