"""Figures of the identities experiment, drawn from the table alone."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
from matplotlib.patches import Patch

from attnbench.sweeps.experiments.identities.claims import FP64_TOLERANCE
from attnbench.sweeps.plotting import legend_outside, plt, save

ZERO_AT = 1e-18  # where an error of exactly 0 is drawn on the log axis


def _draw_errors(table: pd.DataFrame, out_dir: Path) -> Path:
    """Max relative error per identity vs the fp64 tolerance."""
    exact = table[(table["predicted"] == 0.0) & (table["metric"] != "aaren_scan_fp32")]  # fp32: own tolerance
    worst = exact.groupby("metric")["value"].max().sort_values()
    fig, ax = plt.subplots(figsize=(8, 0.28 * len(worst) + 1.5), layout="constrained")
    names = worst.index.str.replace("_", " ")
    zero = (worst <= 0).to_numpy()
    ax.barh(names, worst.clip(lower=ZERO_AT).to_numpy(), color=["tab:grey" if z else "tab:blue" for z in zero])
    handles = [
        Patch(color="tab:blue", label="measured (fp64)"),
        Patch(color="tab:grey", label=f"exactly 0 (drawn at {ZERO_AT:g})"),
    ]
    ax.axvline(FP64_TOLERANCE, color="tab:red", linestyle="--", label=f"tolerance {FP64_TOLERANCE:g}")
    ax.set_xscale("log")
    ax.set(
        xlabel="max relative error (theory: 0)",
        ylabel="identity",
        title="Exact identities: measured error against the fp64 tolerance",
    )
    legend_outside(ax, handles=[*handles, *ax.get_legend_handles_labels()[0]])
    return save(fig, out_dir, "errors.png")


def _draw_duplication(table: pd.DataFrame, out_dir: Path) -> Path:
    """The sigmoid duplication change vs n beside its bound and the E[e^{2s}]/(2n) limit."""
    fig, ax = plt.subplots(figsize=(6.8, 3.6), layout="constrained")
    for metric, label, style, theory_label in (
        ("sigmoid_duplication", r"max $|\Delta o|$ (random $V$)", "o-", r"bound $\frac{e^{2}}{2n} \sum \sigma |v|$"),
        ("sigmoid_duplication_row_sum", r"mean row-sum change ($V = 1$)", "s-", r"limit $\mathbb{E}[e^{2s}] / (2n)$"),
    ):
        rows = table[table["metric"] == metric].groupby("size")[["value", "predicted"]].mean()
        ax.loglog(rows.index, rows["value"], style, label=label)
        ax.loglog(rows.index, rows["predicted"], "--", label=theory_label)
    ax.set(
        xlabel=r"sequence length $n$",
        ylabel="change after duplicating the sequence",
        title=r"Sigmoid attention, $b = -\log n$",
    )
    legend_outside(ax)
    return save(fig, out_dir, "sigmoid_duplication.png")


def draw(table: pd.DataFrame, out_dir: Path) -> list[Path]:
    """errors.png and sigmoid_duplication.png."""
    return [_draw_errors(table, out_dir), _draw_duplication(table, out_dir)]
