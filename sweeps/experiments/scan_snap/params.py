"""Params of the Scan and Snap experiment (Tian, Wang, Chen, Du 2023) and the numbers the paper reports.

One nested section per study (``params.<study>.<key>``, ARCHITECTURE.md "Sections"): each holds exactly the
fields its run reads, and a value several studies share (the batch size, η_Z, the seeds) is repeated in each
with the same default, so a study is self-contained. The defaults are the quick profile.
"""

from __future__ import annotations

from dataclasses import dataclass

from attnbench.sweeps.experiments.base import require
from attnbench.sweeps.validation import Params, SectionParams, param, require_increasing, section

# Fig. 6 of Tian et al. 2023, from the authors' scan_snap/figure_6_data.pkl (facebookresearch/luckmatters): each
# cell is stored as "mean ± spread [10]". The spread is pandas' Series.std() (sample standard deviation over the
# 10 seeds, ddof = 1), printed to 3 decimals: the string is built by MeanStdAggFunc.agg in the authors'
# yuandong-tian/tools2 stats.py (unchanged since 2021-08), which their sweep analysis uses. Layout:
# entropy[num_last][lr_z] = values at lr_y/lr_z = 1, 2, 5, 10.
REPORTED_ENTROPY: dict[int, dict[float, tuple[float, float, float, float]]] = {
    1: {
        0.5: (1.971, 2.007, 2.066, 2.092),
        1.0: (1.871, 1.937, 2.022, 2.053),
        2.0: (1.699, 1.810, 1.934, 1.900),
        3.0: (1.551, 1.708, 1.786, 1.825),
    },
    3: {
        0.5: (2.019, 1.988, 2.031, 2.063),
        1.0: (1.963, 1.920, 1.982, 2.024),
        2.0: (1.842, 1.809, 1.899, 1.955),
        3.0: (1.737, 1.715, 1.821, 1.839),
    },
    5: {
        0.5: (2.026, 1.994, 2.020, 2.055),
        1.0: (1.995, 1.931, 1.971, 2.014),
        2.0: (1.906, 1.816, 1.884, 1.926),
        3.0: (1.817, 1.718, 1.802, 1.831),
    },
    10: {
        0.5: (2.033, 2.012, 2.018, 2.051),
        1.0: (2.027, 1.975, 1.976, 2.015),
        2.0: (1.990, 1.888, 1.899, 1.947),
        3.0: (1.940, 1.805, 1.829, 1.875),
    },
}
REPORTED_ENTROPY_SD: dict[int, dict[float, tuple[float, float, float, float]]] = {
    1: {
        0.5: (0.028, 0.032, 0.017, 0.016),
        1.0: (0.052, 0.052, 0.036, 0.030),
        2.0: (0.101, 0.099, 0.068, 0.200),
        3.0: (0.155, 0.152, 0.170, 0.331),
    },
    3: {
        0.5: (0.010, 0.012, 0.007, 0.005),
        1.0: (0.015, 0.018, 0.009, 0.008),
        2.0: (0.024, 0.027, 0.018, 0.020),
        3.0: (0.032, 0.038, 0.030, 0.100),
    },
    5: {
        0.5: (0.005, 0.007, 0.007, 0.006),
        1.0: (0.007, 0.011, 0.010, 0.009),
        2.0: (0.012, 0.022, 0.020, 0.025),
        3.0: (0.021, 0.032, 0.033, 0.050),
    },
    10: {
        0.5: (0.004, 0.004, 0.004, 0.003),
        1.0: (0.003, 0.005, 0.006, 0.006),
        2.0: (0.005, 0.009, 0.013, 0.015),
        3.0: (0.006, 0.013, 0.019, 0.023),
    },
}
REPORTED_ENTROPY_SEEDS = 10
REPORTED_RATIOS = (1.0, 2.0, 5.0, 10.0)
# Fig. 4 run of the authors' repository (scan_snap/figure_4.log via the notes, B6): loss at iteration t, and
# half a unit of the last digit printed (the rounding of the logged value).
REPORTED_FIG4_LOSS: dict[int, float] = {0: 3.526, 4: 0.733, 10: 0.0130, 16: 6.4e-4}
REPORTED_FIG4_ROUNDING: dict[int, float] = {0: 5e-4, 4: 5e-4, 10: 5e-5, 16: 5e-6}


def reported_entropy(num_classes: int, lr_z: float, ratio: float) -> tuple[float, float]:
    """(mean, sample SD over the authors' 10 seeds) of the Fig. 6 cell with K = ``num_classes`` classes."""
    index = REPORTED_RATIOS.index(ratio)
    num_last = num_classes // 2
    return REPORTED_ENTROPY[num_last][lr_z][index], REPORTED_ENTROPY_SD[num_last][lr_z][index]


STUDIES = ("decoder", "ode_match", "fig4", "scan", "gain", "reduced", "snap", "entropy")


@dataclass
class DecoderParams(SectionParams):
    """The h*(s) recursion against the Lambert-W h(t) (Lemmas 5–7), per vocabulary size M and η_Y."""

    vocab_sizes: list[int] = param([50, 1000], ge=2, help="vocabulary sizes M")
    lr_ys: list[float] = param([0.1, 0.2, 0.5, 1.0, 2.0, 4.0], gt=0, help="decoder rates η_Y")
    steps: int = param(2000, ge=1, help="steps of the h*(s) recursion")


@dataclass
class OdeMatchParams(SectionParams):
    """SGD on Syn-Small against the population ODE (Lemmas 1–2). ``lr_y``/``lr_z`` are gradient-flow rates: SGD
    with momentum β in ``momenta`` steps with lr·(1−β)."""

    seeds: int = param(4, ge=2, help="SGD seeds per (momentum, T)")
    seq_lens: list[int] = param([16, 64, 256], ge=2, help="context lengths T (increasing)")
    batch_size: int = param(128, ge=1, help="SGD batch size")
    lr_y: float = param(1.0, gt=0, help="gradient-flow rate η_Y")
    lr_z: float = param(1.0, gt=0, help="gradient-flow rate η_Z")
    momenta: list[float] = param([0.0, 0.9], ge=0, lt=1, help="SGD momenta β")
    steps: int = param(200, ge=1, help="SGD steps")
    record_every: int = param(5, ge=1, help="steps between recorded Z snapshots")

    def check(self) -> None:
        """The error's trend in T needs >= 2 increasing lengths."""
        require_increasing(self.seq_lens, "params.ode_match.seq_lens")


@dataclass
class Fig4Params(SectionParams):
    """The authors' Fig. 4 run (notes B6: zero init, η_Y = η_Z = 1, momentum 0.9, T = 128)."""

    seeds: int = param(5, ge=2, help="seeds of the Fig. 4 run")
    batch_size: int = param(128, ge=1, help="SGD batch size (the authors' 128)")


@dataclass
class ScanParams(SectionParams):
    """The long-horizon population ODE of Syn-Small (Thm 2(b), Cor. 2, Thm 3), per η_Y/η_Z."""

    horizon: float = param(5000.0, gt=1, help="ODE time horizon")
    ratios: list[float] = param([1.0, 10.0], gt=0, help="η_Y/η_Z of the long-horizon ODE")
    lr_z: float = param(1.0, gt=0, help="ODE rate η_Z")


@dataclass
class GainParams(SectionParams):
    """The relative-gain identity (Eqn 110 ⇔ Eqn 11) and the Eqn 12 bounds, reduced and joint ODE."""

    lr_z: float = param(0.5, gt=0, help="ODE rate η_Z")
    ratios: list[float] = param([1.0, 10.0, 100.0], gt=0, help="η_Y/η_Z (increasing)")
    steps: float = param(400.0, gt=0, help="ODE time horizon")

    def check(self) -> None:
        """The joint ODE's approach to Eqn 110 is a trend in η_Y/η_Z: >= 2 increasing ratios."""
        require_increasing(self.ratios, "params.gain.ratios")


@dataclass
class ReducedParams(SectionParams):
    """The reduced Z-only ODE against the joint (Y, Z) ODE (Lemma 4), per η_Y/η_Z."""

    lr_z: float = param(0.5, gt=0, help="ODE rate η_Z")
    ratios: list[float] = param([1.0, 10.0, 100.0, 1000.0], gt=0, help="η_Y/η_Z (increasing)")

    def check(self) -> None:
        """The approach of the joint ODE is a trend in η_Y/η_Z: >= 2 increasing ratios."""
        require_increasing(self.ratios, "params.reduced.ratios")


@dataclass
class SnapParams(SectionParams):
    """Peak times of ‖g_n‖ and ‖ż‖ against η_Y (Thm 1, Thm 4 Eqn 14); B_n(t_0) (Eqn 129) against η_Z."""

    lr_ys: list[float] = param([0.5, 1.0, 2.0, 5.0], gt=0, help="η_Y of the peak-time study")
    lr_z: float = param(0.5, gt=0, help="η_Z of the peak-time study")
    lr_zs: list[float] = param([0.5, 1.0, 2.0, 3.0], gt=0, help="η_Z of the B_n(t_0) study")
    ratio: float = param(10.0, gt=0, help="η_Y/η_Z of the B_n(t_0) study")
    c0: float = param(1.0, gt=0, help="C_0 of Eqn 129")

    def check(self) -> None:
        """The 1/η_Y scaling and the independence of η_Z each need >= 2 rates."""
        require(len(self.lr_ys) >= 2, "params.snap.lr_ys", "need >= 2 rates (the 1/η_Y scaling)")
        require(len(self.lr_zs) >= 2, "params.snap.lr_zs", "need >= 2 rates (independence of η_Z)")


@dataclass
class EntropyParams(SectionParams):
    """Syn-Medium (Fig. 6): distinct-token entropy after SGD with momentum, per (K, η_Z, η_Y/η_Z)."""

    num_lasts: list[int] = param([1], choices=tuple(REPORTED_ENTROPY), help="queries (K/2)")
    lr_zs: list[float] = param([0.5, 3.0], choices=tuple(REPORTED_ENTROPY[1]), help="rates η_Z")
    ratios: list[float] = param([1.0, 10.0], choices=REPORTED_RATIOS, help="η_Y/η_Z")
    seeds: int = param(10, ge=2, help="seeds per Fig. 6 cell")
    steps: int = param(100, ge=1, help="SGD steps (the authors' niter)")
    momentum: float = param(0.9, ge=0, lt=1, help="SGD momentum")
    init: str = param("default", choices=("zero", "default"), help="Z/Y initialisation")
    batch_size: int = param(128, ge=1, help="SGD batch size")


@dataclass
class ScanSnapParams(Params):
    """Quick-profile defaults. Syn-Small (Fig. 4): 10 common tokens, 2 queries × 1 class, 10 distinct each."""

    sections: list[str] = param(list(STUDIES), choices=STUDIES, help="the studies this run computes")
    decoder: DecoderParams = section(DecoderParams, help="h*(s) vs the Lambert-W h(t) (Lemmas 5–7)")
    ode_match: OdeMatchParams = section(OdeMatchParams, help="SGD vs the population ODE (Lemmas 1–2)")
    fig4: Fig4Params = section(Fig4Params, help="the Fig. 4 loss vs the authors' log")
    scan: ScanParams = section(ScanParams, help="the long-horizon population ODE (Thm 2(b), Cor. 2, Thm 3)")
    gain: GainParams = section(GainParams, help="the relative-gain identity and Eqn 12 bounds (Thm 3)")
    reduced: ReducedParams = section(ReducedParams, help="the reduced vs the joint ODE (Lemma 4)")
    snap: SnapParams = section(SnapParams, help="peak times vs η_Y and B_n(t_0) vs η_Z (Thms 1, 4; Eqn 129)")
    entropy: EntropyParams = section(EntropyParams, help="the Fig. 6 distinct-token entropy (Syn-Medium)")
