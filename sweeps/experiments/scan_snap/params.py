"""Params of the Scan and Snap experiment (Tian, Wang, Chen, Du 2023) and the numbers the paper reports.

One flat params class: each study reads the fields with its prefix (``decoder_*``, ``gain_*``/``reduced_*``,
``snap_*``, ``scan_*``, ``entropy_*``; the ode_match and fig4 studies use the unprefixed SGD fields).
"""

from __future__ import annotations

from dataclasses import dataclass

from attnbench.sweeps.experiments.base import require
from attnbench.sweeps.validation import Params, param

# Fig. 6 of Tian et al. 2023, from the authors' scan_snap/figure_6_data.pkl (facebookresearch/luckmatters): each
# cell is stored as "mean ± spread [10]". The spread is pandas' Series.std() (sample standard deviation over the
# 10 seeds, ddof = 1), printed to 3 decimals: the string is built by MeanStdAggFunc.agg in the authors'
# yuandong-tian/tools2 stats.py (unchanged since 2021-08), which their sweep analysis uses. Layout:
# entropy[num_last][lr_z] = values at lr_y/lr_z = 1, 2, 5, 10.
REPORTED_ENTROPY: dict[int, dict[float, tuple[float, float, float, float]]] = {
    1: {0.5: (1.971, 2.007, 2.066, 2.092), 1.0: (1.871, 1.937, 2.022, 2.053),
        2.0: (1.699, 1.810, 1.934, 1.900), 3.0: (1.551, 1.708, 1.786, 1.825)},
    3: {0.5: (2.019, 1.988, 2.031, 2.063), 1.0: (1.963, 1.920, 1.982, 2.024),
        2.0: (1.842, 1.809, 1.899, 1.955), 3.0: (1.737, 1.715, 1.821, 1.839)},
    5: {0.5: (2.026, 1.994, 2.020, 2.055), 1.0: (1.995, 1.931, 1.971, 2.014),
        2.0: (1.906, 1.816, 1.884, 1.926), 3.0: (1.817, 1.718, 1.802, 1.831)},
    10: {0.5: (2.033, 2.012, 2.018, 2.051), 1.0: (2.027, 1.975, 1.976, 2.015),
         2.0: (1.990, 1.888, 1.899, 1.947), 3.0: (1.940, 1.805, 1.829, 1.875)},
}
REPORTED_ENTROPY_SD: dict[int, dict[float, tuple[float, float, float, float]]] = {
    1: {0.5: (0.028, 0.032, 0.017, 0.016), 1.0: (0.052, 0.052, 0.036, 0.030),
        2.0: (0.101, 0.099, 0.068, 0.200), 3.0: (0.155, 0.152, 0.170, 0.331)},
    3: {0.5: (0.010, 0.012, 0.007, 0.005), 1.0: (0.015, 0.018, 0.009, 0.008),
        2.0: (0.024, 0.027, 0.018, 0.020), 3.0: (0.032, 0.038, 0.030, 0.100)},
    5: {0.5: (0.005, 0.007, 0.007, 0.006), 1.0: (0.007, 0.011, 0.010, 0.009),
        2.0: (0.012, 0.022, 0.020, 0.025), 3.0: (0.021, 0.032, 0.033, 0.050)},
    10: {0.5: (0.004, 0.004, 0.004, 0.003), 1.0: (0.003, 0.005, 0.006, 0.006),
         2.0: (0.005, 0.009, 0.013, 0.015), 3.0: (0.006, 0.013, 0.019, 0.023)},
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


@dataclass
class ScanSnapParams(Params):
    """Quick-profile defaults. Syn-Small (Fig. 4): 10 common tokens, 2 queries × 1 class, 10 distinct each.

    ``lr_y``/``lr_z`` are gradient-flow rates of the ode_match study: SGD with momentum β in ``momenta``
    steps with lr·(1−β).
    """

    seeds: int = param(4, ge=2, help="SGD seeds per (momentum, T) of the ode_match study")
    seq_lens: list[int] = param([16, 64, 256], ge=2, help="context lengths T of the ode_match study (increasing)")
    batch_size: int = param(128, ge=1, help="SGD batch size (every SGD study)")
    lr_y: float = param(1.0, gt=0, help="ode_match: gradient-flow rate η_Y")
    lr_z: float = param(1.0, gt=0, help="ode_match: gradient-flow rate η_Z")
    momenta: list[float] = param([0.0, 0.9], ge=0, lt=1, help="ode_match: SGD momenta β")
    steps: int = param(200, ge=1, help="ode_match: SGD steps")
    record_every: int = param(5, ge=1, help="ode_match: steps between recorded Z snapshots")
    fig4_seeds: int = param(5, ge=2, help="fig4: seeds of the Fig. 4 run")
    scan_horizon: float = param(5000.0, gt=1, help="scan: ODE time horizon")
    scan_ratios: list[float] = param([1.0, 10.0], gt=0, help="scan: η_Y/η_Z of the long-horizon ODE")
    gain_lr_z: float = param(0.5, gt=0, help="gain, reduced: η_Z")
    gain_ratios: list[float] = param([1.0, 10.0, 100.0], gt=0, help="gain: η_Y/η_Z (increasing)")
    gain_steps: float = param(400.0, gt=0, help="gain: ODE time horizon")
    reduced_ratios: list[float] = param([1.0, 10.0, 100.0, 1000.0], gt=0, help="reduced: η_Y/η_Z (increasing)")
    snap_lr_ys: list[float] = param([0.5, 1.0, 2.0, 5.0], gt=0, help="snap: η_Y of the peak-time study")
    snap_lr_z: float = param(0.5, gt=0, help="snap: η_Z of the peak-time study")
    snap_lr_zs: list[float] = param([0.5, 1.0, 2.0, 3.0], gt=0, help="snap: η_Z of the B_n(t_0) study")
    snap_ratio: float = param(10.0, gt=0, help="snap: η_Y/η_Z of the B_n(t_0) study")
    snap_c0: float = param(1.0, gt=0, help="snap: C_0 of Eqn 129")
    decoder_vocab_sizes: list[int] = param([50, 1000], ge=2, help="decoder: vocabulary sizes M")
    decoder_lr_ys: list[float] = param([0.1, 0.2, 0.5, 1.0, 2.0, 4.0], gt=0, help="decoder: η_Y")
    decoder_steps: int = param(2000, ge=1, help="decoder: steps of the h*(s) recursion")
    entropy_num_lasts: list[int] = param([1], choices=tuple(REPORTED_ENTROPY), help="entropy: queries (K/2)")
    entropy_lr_zs: list[float] = param([0.5, 3.0], choices=tuple(REPORTED_ENTROPY[1]), help="entropy: η_Z")
    entropy_ratios: list[float] = param([1.0, 10.0], choices=REPORTED_RATIOS, help="entropy: η_Y/η_Z")
    entropy_seeds: int = param(10, ge=2, help="entropy: seeds per Fig. 6 cell")
    entropy_steps: int = param(100, ge=1, help="entropy: SGD steps (the authors' niter)")
    entropy_momentum: float = param(0.9, ge=0, lt=1, help="entropy: SGD momentum")
    entropy_init: str = param("default", choices=("zero", "default"), help="entropy: Z/Y initialisation")

    def check(self) -> None:
        """Cross-field rules: the sweeps of rates and lengths are increasing and long enough to show a trend."""
        require(len(self.seq_lens) >= 2 and sorted(self.seq_lens) == list(self.seq_lens), "seq_lens",
                "need >= 2 increasing sequence lengths")
        require(len(self.gain_ratios) >= 2 and sorted(self.gain_ratios) == list(self.gain_ratios), "gain_ratios",
                "need >= 2 increasing ratios")
        require(len(self.reduced_ratios) >= 2 and sorted(self.reduced_ratios) == list(self.reduced_ratios),
                "reduced_ratios", "need >= 2 increasing ratios")
        require(len(self.snap_lr_ys) >= 2, "snap_lr_ys", "need >= 2 rates (the 1/η_Y scaling)")
        require(len(self.snap_lr_zs) >= 2, "snap_lr_zs", "need >= 2 rates (independence of η_Z)")
