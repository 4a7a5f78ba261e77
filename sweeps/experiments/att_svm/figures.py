"""The att_svm figures, drawn from the table alone, with the theory and the notebook values (notes A5) beside
each measurement. Each file name here is what a claim's ``figure`` links to.

The notebook values a claim tests come from `notebook`, which the claims read too."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd

from attnbench.sweeps.experiments.att_svm.common import PARAMETERISATIONS
from attnbench.sweeps.experiments.att_svm.notebook import (
    NOTEBOOK_CORR_AT_1000,
    NOTEBOOK_DIR,
    NOTEBOOK_STEP,
    PAPER_NUCLEAR_RANK_2N,
)
from attnbench.sweeps.plotting import PANEL, legend_outside, panels, plt, proportion_interval, save

CORR_FIGURE = "corr_vs_iteration.png"
RANK_FIGURE = "rank_vs_d.png"
OVERPARAM_FIGURE = "overparam.png"
NONLINEAR_FIGURE = "nonlinear.png"
JOINT_FIGURE = "joint.png"
PAPER_NONLINEAR_EQ = {4: 0.035, 6: 0.017, 8: 0.011, 10: 0.0055}  # notes A5, read from the notebook's plot
SVM_LABELS = {
    "corr_fro": r"corr$(W, W^{mm}_\alpha)$ (Frobenius SVM)",
    "corr_nuc": r"corr$(W, W^{mm}_{\star,\alpha})$ (nuclear SVM)",
}
GAP_LABELS = {"eq": r"SVM-eq $W^{fin} + R\,W^{dir}$", "dir": r"multi-token $W^{dir}$", "1token": r"one-token $W^{mm}$"}
GAP_STYLES = {"eq": "-", "dir": ":", "1token": "--"}
LEGEND_WIDTH = 2.6  # inches added beside a panel for its legend
FLOAT_EPS = float(np.finfo(np.float64).eps)


def section(table: pd.DataFrame, name: str) -> pd.DataFrame:
    """The rows of study ``name``."""
    return table[table["section"] == name] if "section" in table else table.iloc[0:0]


def _band(ax: plt.Axes, rows: pd.DataFrame, label: str, **style: object) -> None:
    """Mean over runs with a ±1 std band, against the iteration."""
    stats = rows.groupby("step")["value"].agg(["mean", "std"])
    line = ax.plot(stats.index, stats["mean"], label=label, **style)[0]
    ax.fill_between(
        stats.index, stats["mean"] - stats["std"], stats["mean"] + stats["std"], color=line.get_color(), alpha=0.2, lw=0
    )


def _draw_local(sec: pd.DataFrame, out: Path) -> Path:

    fig, axes = panels(1, 3, sharey=True)
    for ax, param in zip(axes[0, :2], PARAMETERISATIONS, strict=True):
        rows = sec[sec["param"] == param]
        for metric, label in SVM_LABELS.items():
            _band(ax, rows[rows["metric"] == metric], label)
        ax.axhline(1.0, color="k", lw=0.8, ls="--", label="theory: its own SVM → 1")
        ax.set(
            title=f"{param}-trained (mean ± std, {rows['seed'].nunique()} runs)",
            xlabel="iteration",
            ylabel="correlation",
        )
    axes[0, 0].plot([NOTEBOOK_STEP], [NOTEBOOK_CORR_AT_1000], "k*", ms=9, label="notebook (W-trained)")
    handles, labels = axes[0, 0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="outside lower center", ncol=4)
    for param in PARAMETERISATIONS:
        _band(axes[0, 2], sec[(sec["param"] == param) & (sec["metric"] == "selected_prob")], f"{param}-trained")
    axes[0, 2].axhline(1.0, color="k", lw=0.8, ls="--", label="theory → 1")
    axes[0, 2].set(title="softmax mass on the selected tokens", xlabel="iteration", ylabel=r"mean$_i\ s_{i\alpha_i}$")
    axes[0, 2].yaxis.set_tick_params(labelleft=True)
    axes[0, 2].legend(loc="lower right")
    return save(fig, out, CORR_FIGURE)


def _draw_rank(sec: pd.DataFrame, out: Path) -> Path:

    n = int(sec["n"].dropna().iloc[0])
    fig, axes = panels(1, 2)
    ax = axes[0, 0]
    ranks = sec[sec["metric"].isin(["rank_fro", "rank_nuc"])].groupby(["metric", "d"])["value"].agg(["mean", "std"])
    for metric, marker, label in (
        ("rank_fro", "o", r"rank $W^{mm}$ (Frobenius)"),
        ("rank_nuc", "s", r"rank $W^{mm}_\star$ (nuclear)"),
    ):
        stats = ranks.loc[metric]
        ax.errorbar(stats.index, stats["mean"], yerr=stats["std"], marker=marker, capsize=3, label=label)
    dims = np.array(sorted(sec["d"].dropna().unique()))
    ax.plot(dims, np.minimum(dims, n), "k--", lw=1, label=r"notebook: rank $W^{mm} = \min(n, d)$")
    ax.errorbar(
        [2 * n + 0.2],
        [PAPER_NUCLEAR_RANK_2N],
        yerr=[0.3],
        fmt="k*",
        ms=10,
        capsize=4,
        label=rf"notebook: rank $W^{{mm}}_\star \approx {PAPER_NUCLEAR_RANK_2N}$ at $d = 2n$ (± 0.3)",
    )
    ax.set(
        xlabel=r"dimension $d$",
        ylabel="mean rank (± std over instances)",
        ylim=(0, n + 0.8),
        title=rf"SVM solution rank at $\alpha$ = opt ($n = {n}$)",
    )
    fig.legend(*ax.get_legend_handles_labels(), loc="outside lower center", ncol=2)
    feasible = sec[sec["metric"] == "feasible"].groupby("d")["value"].agg(["sum", "count"])
    interval = proportion_interval(feasible["sum"].to_numpy(), feasible["count"].to_numpy())
    share = feasible["sum"] / feasible["count"]
    axes[0, 1].errorbar(feasible.index, share, yerr=np.abs(interval - share.to_numpy()), marker="o", capsize=3)
    axes[0, 1].set(
        xlabel=r"dimension $d$",
        ylabel="fraction of instances feasible",
        ylim=(0, 1.05),
        title=f"SVM feasible (95% CI, {int(feasible['count'].max())} instances)",
    )
    for ax in axes[0]:
        ax.set_xticks(dims)
    return save(fig, out, RANK_FIGURE)


def _draw_overparam(sec: pd.DataFrame, out: Path) -> Path:
    runs = sec.groupby("d")["value"].agg(["sum", "count"])
    share = runs["sum"] / runs["count"]
    interval = proportion_interval(runs["sum"].to_numpy(), runs["count"].to_numpy())
    fig, axes = panels(1, 1)
    ax = axes[0, 0]
    ax.errorbar(
        runs.index,
        share,
        yerr=np.abs(interval - share.to_numpy()),
        marker="o",
        capsize=3,
        label=f"measured (95% Clopper-Pearson, {int(runs['count'].min())} runs per $d$)",
    )
    ax.set(
        xlabel=r"dimension $d$",
        ylabel="fraction of runs selecting opt",
        ylim=(0, 1.05),
        xscale="log",
        title=r"Over-parameterisation (theory: rises with $d$)",
    )
    ax.set_xticks(runs.index, [f"{int(d)}" for d in runs.index])
    ax.minorticks_off()
    fig.legend(*ax.get_legend_handles_labels(), loc="outside lower center")
    return save(fig, out, OVERPARAM_FIGURE)


def _draw_nonlinear(sec: pd.DataFrame, out: Path) -> Path:

    fig, axes = panels(1, 2)
    fig.set_size_inches(2 * PANEL[0] + 2 * LEGEND_WIDTH, PANEL[1] + 0.3)
    gaps = sec[sec["metric"].str.startswith("one_minus_corr")].assign(
        target=lambda t: t["metric"].str.removeprefix("one_minus_corr_")
    )
    accepted = gaps.groupby("d")["seed"].nunique()
    colours = dict(zip(accepted.index, ("C0", "C3", "C2", "C4"), strict=False))
    for (d, target), rows in gaps[gaps["target"] != "1token"].groupby(["d", "target"]):
        curve = rows.groupby("step")["value"].mean()
        axes[0, 0].semilogy(
            curve.index,
            curve.to_numpy(),
            ls=GAP_STYLES[target],
            color=colours[d],
            label=f"$d = {int(d)}$, {GAP_LABELS[target]}",
        )
    axes[0, 0].set(
        xlabel="iteration",
        ylabel=r"mean $1 - \mathrm{corr}(W, \mathrm{target})$",
        title="Nonlinear head: gap to each target",
    )
    legend_outside(axes[0, 0])
    final = gaps[gaps["step"] == gaps["step"].max()].groupby(["target", "d"])["value"].mean()
    for target in GAP_LABELS:
        if target in final.index.get_level_values(0):
            axes[0, 1].semilogy(
                final[target].index,
                final[target].to_numpy(),
                marker="o",
                ls=GAP_STYLES[target],
                label=f"measured, {GAP_LABELS[target]}",
            )
    for values, marker, what in ((PAPER_NONLINEAR_EQ, "*", "SVM-eq"), (NOTEBOOK_DIR, "P", "multi-token")):
        axes[0, 1].semilogy(
            list(values),
            list(values.values()),
            color="k",
            marker=marker,
            ms=8,
            ls="--",
            lw=0.8,
            label=f"notebook plot, {what}",
        )
    axes[0, 1].set(
        xlabel=r"dimension $d$ (accepted runs)", ylabel=r"final mean $1 - \mathrm{corr}$", title="Final gap against $d$"
    )
    ticks = sorted({*accepted.index, *PAPER_NONLINEAR_EQ})
    axes[0, 1].set_xticks(ticks, [f"{int(d)}\n({accepted[d]})" if d in accepted else f"{int(d)}" for d in ticks])
    legend_outside(axes[0, 1])
    return save(fig, out, NONLINEAR_FIGURE)


def _draw_joint(sec: pd.DataFrame, out: Path) -> Path:
    fig, axes = panels(1, 1)
    fig.set_size_inches(PANEL[0] + LEGEND_WIDTH, PANEL[1] + 0.3)
    ax = axes[0, 0]
    names = {"corr_v": r"$1 - \mathrm{corr}(v, v^{mm})$", "corr_p": r"$1 - \mathrm{corr}(p, p^{mm})$"}
    for (instance, metric), rows in sec.groupby(["instance", "metric"]):
        ax.semilogy(
            rows["step"],
            np.maximum(1 - rows["value"], FLOAT_EPS / 2),
            color="C0" if instance == "relaxed" else "C1",
            ls="-" if metric == "corr_v" else "--",
            label=f"{instance} SVM: {names[metric]}",
        )
    ax.axhline(FLOAT_EPS, color="grey", lw=0.8, ls=":", label=r"float64 $\epsilon$ (theory: $\to 0$)")
    ax.set(xlabel="iteration", ylabel=r"$1 - \mathrm{corr}$", title=r"Joint $(v, p)$ training")
    legend_outside(ax)
    return save(fig, out, JOINT_FIGURE)


DRAWERS: dict[str, Callable[[pd.DataFrame, Path], Path]] = {
    "local_converge": _draw_local,
    "rank": _draw_rank,
    "overparam": _draw_overparam,
    "nonlinear": _draw_nonlinear,
    "joint": _draw_joint,
}


def draw(table: pd.DataFrame, out_dir: Path) -> list[Path]:
    """The family's figures, from the table alone (a study without rows draws nothing)."""
    out_dir = Path(out_dir)
    paths = []
    for name, drawer in DRAWERS.items():
        sec = section(table, name)
        if not sec.empty and (name != "nonlinear" or sec["metric"].str.startswith("one_minus").any()):
            paths.append(drawer(sec, out_dir))
    return paths
