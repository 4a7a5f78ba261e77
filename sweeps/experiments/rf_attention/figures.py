"""The rf_attention figure (Fu, Guo, Bai & Mei 2023; notes D1): error and KRR gap vs M, error vs n, the mean
sweep and RFA vs RF-MLP vs N, each measurement (seed mean, bars: seed range, dots: seeds) beside the
prediction its claim tests (dashed)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.ticker import FormatStrFormatter, LogLocator, NullLocator

from attnbench.sweeps.experiments.rf_attention.claims import FIGURE, GD_FIGURE, PREDICTED_GAP_SLOPE, select
from attnbench.sweeps.experiments.rf_attention.params import slope_window
from attnbench.sweeps.plotting import figure_legend, panels, save, seed_range

ERROR = "normalised test MSE"
MODELS = {"rfa": ("RFA", "C0"), "rf_mlp": ("RF-MLP", "C4")}


def _log_axes(ax: Axes, grid: list[float], xlabel: str) -> None:
    """Log-log axes with one labelled tick per grid value (no colliding minor labels)."""
    ax.set(xscale="log", yscale="log", xlabel=xlabel)
    ax.set_xticks(grid, [f"{g:g}" for g in grid])
    ax.xaxis.set_minor_locator(NullLocator())
    ax.yaxis.set_minor_locator(LogLocator(subs=(2.0, 5.0)))  # labelled: a panel inside one decade gets numbers
    ax.yaxis.set_minor_formatter(FormatStrFormatter("%g"))


def _heads(error: Axes, gap: Axes, rows: pd.DataFrame) -> None:
    """Test error vs M beside the KRR error (M → ∞), and the KRR gap beside the M^{-1/2} rate."""
    grid = sorted(rows["heads"].dropna().unique())
    for ax in (error, gap):
        _log_axes(ax, grid, r"heads $M$")
    errors = select(rows, "test_error")
    seed_range(error, errors, "heads", "RFA ridge (measured)", color="C0")
    error.axhline(errors["predicted"].mean(), color="k", ls="--", label=r"KRR error, $M\to\infty$ (predicted)")
    error.set(title=r"test error vs $M$", ylabel=ERROR)
    error.margins(y=0.1)
    gaps = select(rows, "krr_gap")
    seed_range(gap, gaps, "heads", "distance to KRR (measured)", color="C1")
    window = np.array(slope_window(grid), dtype=float)
    anchor = gaps[gaps["heads"] == window[0]]["value"].mean()
    gap.plot(
        window,
        anchor * (window / window[0]) ** PREDICTED_GAP_SLOPE,
        "k--",
        label=r"$\propto M^{-1/2}$ on the fit window (predicted)",
    )
    gap.set(title="distance to kernel ridge", ylabel=r"$\|f_M - f_{\mathrm{KRR}}\| / \mathrm{sd}(y)$")


def _samples(ax: Axes, rows: pd.DataFrame) -> None:
    """Test error vs n beside the KRR error at each n."""
    _log_axes(ax, sorted(rows["train_size"].dropna().unique()), r"train size $n$")
    errors = select(rows, "test_error")
    seed_range(ax, errors, "train_size", "RFA ridge (measured)", color="C0")
    krr = errors.groupby("train_size")["predicted"].mean()
    ax.plot(krr.index, krr.values, "k--", label=r"KRR error at each $n$ (predicted limit)")
    ax.set(title=r"test error vs $n$", ylabel=ERROR)


def _mean(ax: Axes, rows: pd.DataFrame) -> None:
    """Test error vs the mean c of W, per target, beside the zero-mean error the claim compares with."""
    for i, (power, group) in enumerate(select(rows, "test_error").groupby("target_power", sort=False)):
        seed_range(ax, group, "weight_mean", rf"target $\psi(t) = t^{{{power:g}}}$", color=f"C{i + 2}")
        if power % 2 == 0:  # the claim is about even targets
            ax.axhline(
                group.loc[group["weight_mean"] == 0, "value"].mean(),
                color=f"C{i + 2}",
                ls="--",
                lw=0.8,
                label=r"zero-mean error, even target (claim: beaten at some $c>0$)",
            )
    ax.set(title="non-zero-mean weights", xlabel=r"mean $c$ of $W$", ylabel=ERROR)


def _keys(error: Axes, ratio: Axes, rows: pd.DataFrame) -> None:
    """Errors of RFA and the RF-MLP with equal feature count vs N, and their ratio beside 1 (no gain)."""
    grid = sorted(rows["keys"].dropna().unique())
    for ax in (error, ratio):
        _log_axes(ax, grid, r"keys $N$")
    for model, group in rows.groupby("model"):
        name, colour = MODELS[model]
        seed_range(error, group, "keys", name, color=colour)
    error.set(title="equal feature count", ylabel=ERROR)
    pivot = rows.pivot_table(index=["keys", "seed"], columns="model", values="value").reset_index()
    pivot["value"] = pivot["rf_mlp"] / pivot["rfa"]
    seed_range(ratio, pivot, "keys", "error ratio RF-MLP / RFA", color="C6")
    ratio.axhline(1.0, color="k", ls="--", label="no gain (ratio 1); claim: above, growing in $N$")
    ratio.set(title="RFA's gain over the RF-MLP", ylabel="error ratio RF-MLP / RFA")


GD_PANELS = {"gd_train_risk": "training risk", "gd_test_risk": "test risk"}


def draw(table: pd.DataFrame, out_dir: Path) -> list[Path]:
    """The studies' figure (six panels, 2 x 3, one legend) and the GD trajectory's, from the stored table alone."""
    sections = {name: rows for name, rows in table.groupby("section")}
    figure, axes = panels(2, 3)
    _heads(axes[0, 0], axes[0, 1], sections["heads"])
    _samples(axes[0, 2], sections["samples"])
    _mean(axes[1, 0], sections["mean"])
    _keys(axes[1, 1], axes[1, 2], sections["keys"])
    figure_legend(figure, axes, ncols=3)
    return [save(figure, out_dir, FIGURE), _gd(sections["gd"], out_dir)]


def _gd(rows: pd.DataFrame, out_dir: Path) -> Path:
    """Train and test risk of GD per step, each seed's measurement beside its closed-form trajectory."""
    figure, axes = panels(1, 2, sharey=True)
    for ax, (metric, title) in zip(axes[0], GD_PANELS.items(), strict=True):
        for i, (seed, curve) in enumerate(rows[rows["metric"] == metric].groupby("seed")):
            curve = curve.sort_values("step")
            ax.plot(
                curve["step"],
                curve["predicted"],
                color="k",
                lw=1.4,
                label="closed form (prediction)" if i == 0 else None,
            )
            ax.plot(curve["step"][::5], curve["value"][::5], "o", ms=3, color=f"C{i}", label=f"GD, seed {seed}")
        ax.set(title=title, xlabel="GD step", ylabel="risk / Var(y)", yscale="log")
    figure_legend(figure, axes, ncols=4)
    return save(figure, out_dir, GD_FIGURE)
