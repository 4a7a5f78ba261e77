"""The figure of the ``softmax_regression`` experiment (Li, Song, Xia, Yu & Zhou 2023; notes C), drawn from
its table alone: the training comparison with one GD step (top row and the cosine), and the measured shift
ratios and weight-shift constant beside the derived ½-Lipschitz bounds and the paper's M = n^1.5 exp(10 R²)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.ticker import FormatStrFormatter, LogLocator

from attnbench.sweeps.experiments.softmax_regression.claims import FIGURE
from attnbench.sweeps.plotting import figure_legend, panels, save

SHIFTS = {  # bound-ratio metric -> tick label
    "weight_shift_ratio_random": "weight\nrandom",
    "weight_shift_ratio_adversarial": "weight\nadversarial",
    "data_shift_ratio_random": "data\nrandom",
    "data_shift_ratio_adversarial": "data\nadversarial",
}
ICL = {  # metric -> (title, y-label, log scale)
    "pred_diff": ("prediction difference", r"$\|b_{\mathrm{SA}} - b_{\mathrm{GD}}\|_2$", True),
    "model_diff": ("sensitivity difference", r"$\|S_{\mathrm{SA}} - S_{\mathrm{GD}}\|_F$", True),
    "model_cos": ("sensitivity cosine", r"$\cos(S_{\mathrm{SA}}, S_{\mathrm{GD}})$", False),
}


def _label(rows: float, radius: float) -> str:
    return rf"$n={int(rows)},\ R={radius:g}$"


def _icl(table: pd.DataFrame, metric: str) -> pd.DataFrame:
    """Seed means of ``metric`` per (n, R) x training step."""
    rows = table[(table["section"] == "icl") & (table["metric"] == metric)]
    return rows.groupby(["rows", "radius", "step"])["value"].mean().unstack("step")


def _training(axes: np.ndarray, table: pd.DataFrame) -> None:
    """Test losses of both models, then the three comparisons, against the training step."""
    softmax, descent = _icl(table, "loss_sa"), _icl(table, "loss_gd")
    for i, (key, curve) in enumerate(softmax.iterrows()):
        axes[0].plot(curve.index, curve.values, color=f"C{i}", label=_label(*key))
        axes[0].plot(curve.index, descent.loc[key].values, color=f"C{i}", ls="--")
    axes[0].plot([], [], color="grey", label="softmax attention (solid)")
    axes[0].plot([], [], color="grey", ls="--", label="one GD step (dashed)")
    axes[0].set(title="test loss", ylabel="test MSE", yscale="log")
    for axis, (metric, (title, ylabel, log)) in zip(axes[1:], ICL.items(), strict=True):
        for i, (_, curve) in enumerate(_icl(table, metric).iterrows()):
            axis.plot(curve.index, curve.values, color=f"C{i}")
        axis.set(title=title, ylabel=ylabel, yscale="log" if log else "linear")
        if log:  # labelled minor ticks at 2 and 5: a panel inside one decade still gets numbers
            axis.yaxis.set_minor_locator(LogLocator(subs=(2.0, 5.0)))
            axis.yaxis.set_minor_formatter(FormatStrFormatter("%g"))
    axes[3].axhline(1.0, color="k", ls="--", lw=0.8, label=r"GD sensitivity ($\cos = 1$)")
    axes[3].set_ylim(0, 1.05)
    for axis in axes:
        axis.set_xlabel("training step")


def _groups(axis: Axes, count: int, labels: list[str]) -> np.ndarray:
    positions = np.arange(count, dtype=float)
    axis.set_xticks(positions, labels)
    axis.set_xlim(-0.6, count - 0.4)
    return positions


def _bounds(ratio_axis: Axes, constant_axis: Axes, table: pd.DataFrame) -> None:
    """Worst measured ratio to the derived bound per shift kind, and the constant beside R/2 and M."""
    bounds = table[table["section"] == "bounds"]
    worst = bounds.groupby(["rows", "radius", "metric"])["value"].max()
    keys = list(dict.fromkeys(zip(bounds["rows"], bounds["radius"], strict=True)))
    positions = _groups(ratio_axis, len(SHIFTS), list(SHIFTS.values()))
    for i, key in enumerate(keys):
        ratios = [worst.loc[(*key, metric)] for metric in SHIFTS]
        ratio_axis.plot(positions + 0.12 * (i - (len(keys) - 1) / 2), ratios, "o", color=f"C{i}")
    ratio_axis.axhline(1.0, color="k", ls="--", lw=0.8, label=r"derived bound (ratio $=1$)")
    ratio_axis.set(title="shift ratio to the ½-Lipschitz bound", ylabel="max ratio over trials", ylim=(0, 1.1))
    ratio_axis.tick_params(axis="x", labelsize=7)
    positions = _groups(constant_axis, len(keys), [_label(*key).replace(r",\ ", "$\n$") for key in keys])
    for i, key in enumerate(keys):
        cell = bounds[(bounds["rows"] == key[0]) & (bounds["radius"] == key[1])]
        constant = cell[cell["metric"] == "weight_shift_constant"]
        constant_axis.plot(positions[i], constant["value"].max(), "o", color=f"C{i}")
        constant_axis.hlines(
            constant["predicted"].max(),
            positions[i] - 0.3,
            positions[i] + 0.3,
            color="k",
            ls="--",
            label=r"$R/2$ (derived bound)",
        )
        paper = cell.loc[cell["metric"] == "log10_paper_constant", "value"].max()
        constant_axis.annotate(
            rf"$M=10^{{{paper:.0f}}}$",
            (positions[i], 1.0),
            xycoords=("data", "axes fraction"),
            ha="center",
            va="top",
            fontsize=7,
        )
    constant_axis.set(title="weight-shift constant (paper's $M$ on top)", ylabel="measured constant", yscale="log")
    constant_axis.margins(y=0.35)


def draw(table: pd.DataFrame, out_dir: Path) -> list[Path]:
    """Training comparison per (n, R) (colour) and the bound measurements, one shared legend."""
    figure, axes = panels(2, 3)
    _training(np.array([axes[0, 0], axes[0, 1], axes[0, 2], axes[1, 0]]), table)
    _bounds(axes[1, 1], axes[1, 2], table)
    figure_legend(figure, axes, ncols=3)
    return [save(figure, out_dir, FIGURE)]
