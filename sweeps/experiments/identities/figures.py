"""Figures of the identities experiment, drawn from the table alone."""

from __future__ import annotations

from pathlib import Path

import matplotlib
import pandas as pd

from attnbench.sweeps.experiments.identities.claims import FP64_TOLERANCE
from attnbench.sweeps.plotting import save

matplotlib.use("Agg")
from matplotlib import pyplot as plt  # noqa: E402


def _draw_errors(table: pd.DataFrame, out_dir: Path) -> Path:
    """Max relative error per identity vs the fp64 tolerance."""
    exact = table[(table["predicted"] == 0.0) & (table["metric"] != "aaren_scan_fp32")]  # fp32: own tolerance
    worst = exact.groupby("metric")["value"].max().sort_values()
    fig, ax = plt.subplots(figsize=(7, 0.28 * len(worst) + 1.5))
    ax.barh(worst.index, worst.clip(lower=1e-18).to_numpy(), color="tab:blue")
    ax.axvline(FP64_TOLERANCE, color="tab:red", linestyle="--", label=f"tolerance {FP64_TOLERANCE:g}")
    ax.set_xscale("log")
    ax.set_xlabel("max relative error (fp64; 0 plotted at 1e-18)")
    ax.set_title("Exact identities: measured error (predicted 0)")
    ax.legend(loc="lower right")
    return save(fig, out_dir, "errors.png")


def _draw_duplication(table: pd.DataFrame, out_dir: Path) -> Path:
    """The sigmoid duplication change vs n beside its bound and the E[e^{2s}]/(2n) limit."""
    fig, ax = plt.subplots(figsize=(5.5, 4))
    for metric, label, style, theory_label in (
        ("sigmoid_duplication", "max |Δo| (random V)", "o-", "bound e^{2}/(2n)·Σσ|v|"),
        ("sigmoid_duplication_row_sum", "mean row-sum change (V = 1)", "s-", "E[e^{2s}]/(2n)"),
    ):
        rows = table[table["metric"] == metric].groupby("size")[["value", "predicted"]].mean()
        ax.loglog(rows.index, rows["value"], style, label=label)
        ax.loglog(rows.index, rows["predicted"], "--", label=theory_label)
    ax.set_xlabel("sequence length n")
    ax.set_ylabel("change after duplicating the sequence")
    ax.set_title("Sigmoid attention, b = −log n")
    ax.legend(fontsize=8)
    return save(fig, out_dir, "sigmoid_duplication.png")


def draw(table: pd.DataFrame, out_dir: Path) -> list[Path]:
    """errors.png and sigmoid_duplication.png."""
    return [_draw_errors(table, out_dir), _draw_duplication(table, out_dir)]
