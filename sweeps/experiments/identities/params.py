"""Params of the identities experiment (issue 8; notes extra_theory.md §1–7, §11, §13): one nested section per
group of identities (the ``section`` column), each with its own seeds and sizes.

Quick-profile sizes; every identity runs in well under a second per seed on one CPU core.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from attnbench.sweeps.experiments.base import require
from attnbench.sweeps.validation import Params, SectionParams, param, section

STUDIES = ("regression", "monoid", "chunk", "sigmoid", "pathology", "gradient", "hedgehog", "ssm")


def _seeds() -> Any:
    """The ``seeds`` field every section declares (same default in each, so each section is self-contained)."""
    return param(3, ge=1, help="seeds (ctx.seed, ctx.seed + 1, ...)")


@dataclass
class RegressionParams(SectionParams):
    """Attention as regression: Titans' linear memory as the delta rule, RLS as ridge."""

    seeds: int = _seeds()
    length: int = param(40, ge=2, help="sequence length n")


@dataclass
class MonoidParams(SectionParams):
    """The softmax partial-result monoid, the log-sum-exp merge and the Aaren prefix scan (fp64 and fp32)."""

    seeds: int = _seeds()
    lengths: list[int] = param([1, 64, 257], ge=1, help="lengths of the Aaren prefix scan")
    logit_scales: list[float] = param([1.0, 50.0], gt=0, help="logit scales of the scan")


@dataclass
class ChunkParams(SectionParams):
    """Chunked forms equal their recurrences: Lightning Attention-2 tiling and chunked DeltaNet."""

    seeds: int = _seeds()
    tiling_length: int = param(300, ge=2, help="sequence length of Lightning tiling")
    block_sizes: list[int] = param([1, 7, 64], ge=1, help="Lightning block sizes")
    decays: list[float] = param([1.0, 0.97], gt=0, le=1, help="Lightning decays")
    chunk_length: int = param(64, ge=2, help="sequence length of chunked DeltaNet")
    chunk_sizes: list[int] = param([1, 16, 50], ge=1, help="DeltaNet chunk sizes")


@dataclass
class SigmoidParams(SectionParams):
    """Sigmoid attention: tiling, row sums and the sequence-duplication bound with its 1/n rate."""

    seeds: int = _seeds()
    lengths: list[int] = param([16, 128, 512, 1024, 2048, 4096], ge=1, help="sequence lengths of the duplication study")
    slope_min_length: int = param(512, ge=1, help="smallest n of the 1/n slope fit")

    def check(self) -> None:
        """The 1/n slope is fitted on the lengths ≥ slope_min_length: at least three of them, so that the fit
        has a standard error."""
        require(
            sum(n >= self.slope_min_length for n in self.lengths) >= 3,
            "params.sigmoid.slope_min_length",
            "at least three of params.sigmoid.lengths must be >= slope_min_length (the 1/n slope is fitted on them)",
        )


@dataclass
class PathologyParams(SectionParams):
    """Linear-attention pathologies: ReLU-kernel non-injectivity and the MALA closed form."""

    seeds: int = _seeds()
    mala_magnitudes: list[float] = param([0.5, 1.0, 4.0], gt=0, help="MALA query magnitudes m")


@dataclass
class GradientParams(SectionParams):
    """Gradient scaling of homogeneous kernels."""

    seeds: int = _seeds()


@dataclass
class HedgehogParams(SectionParams):
    """The Taylor-2 kernel and the Hedgehog properties of softmax vs 1+elu weights."""

    seeds: int = _seeds()


@dataclass
class SSMParams(SectionParams):
    """Normalised linear attention and gated recurrences as state-space recurrences."""

    seeds: int = _seeds()


@dataclass
class IdentitiesParams(Params):
    """The groups of identities a run computes and each group's params."""

    sections: list[str] = param(list(STUDIES), choices=STUDIES, help="the studies this run computes")
    regression: RegressionParams = section(RegressionParams, help="attention as regression")
    monoid: MonoidParams = section(MonoidParams, help="the softmax monoid and the Aaren scan")
    chunk: ChunkParams = section(ChunkParams, help="Lightning tiling and chunked DeltaNet")
    sigmoid: SigmoidParams = section(SigmoidParams, help="sigmoid attention and its duplication bound")
    pathology: PathologyParams = section(PathologyParams, help="linear-attention pathologies, MALA")
    gradient: GradientParams = section(GradientParams, help="gradient scaling of homogeneous kernels")
    hedgehog: HedgehogParams = section(HedgehogParams, help="Taylor-2 kernel and Hedgehog properties")
    ssm: SSMParams = section(SSMParams, help="linear attention as a state-space recurrence")
