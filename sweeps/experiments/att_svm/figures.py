"""The att_svm figures, drawn from the table alone (theory beside measurement; notes A5 for the notebook
values). Each file name here is what a claim's ``figure`` links to."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from attnbench.sweeps.experiments.att_svm.common import PARAMETERISATIONS
from attnbench.sweeps.plotting import save

CORR_FIGURE = "corr_vs_iteration.png"
RANK_FIGURE = "rank_vs_d.png"
OVERPARAM_FIGURE = "overparam.png"
NONLINEAR_FIGURE = "nonlinear.png"
JOINT_FIGURE = "joint.png"
PAPER_NONLINEAR_EQ = {4: 0.035, 6: 0.017, 8: 0.011, 10: 0.0055}  # notes A5, read from the notebook's plot


def section(table: pd.DataFrame, name: str) -> pd.DataFrame:
    """The rows of study ``name``."""
    return table[table["section"] == name] if "section" in table else table.iloc[0:0]


def _band(ax: plt.Axes, rows: pd.DataFrame, label: str) -> None:
    stats = rows.groupby("step")["value"].agg(["mean", "std"])
    ax.plot(stats.index, stats["mean"], label=label)
    ax.fill_between(stats.index, stats["mean"] - stats["std"], stats["mean"] + stats["std"], alpha=0.25)


def _draw_local(sec: pd.DataFrame, out: Path) -> Path:
    fig, axes = plt.subplots(1, 3, figsize=(15, 4))
    for ax, param in zip(axes[:2], PARAMETERISATIONS, strict=True):
        for metric, label in (("corr_fro", "corr with W^mm_α (Frobenius)"),
                              ("corr_nuc", "corr with W^mm_⋆,α (nuclear)")):
            _band(ax, sec[(sec["param"] == param) & (sec["metric"] == metric)], label)
        ax.axhline(1.0, color="k", lw=0.8, ls="--", label="theory: → 1 for its own SVM")
        ax.set(title=f"{param} parameterisation (mean ± std over runs)", xlabel="iteration", ylabel="correlation")
        ax.legend(fontsize=8)
    for param in PARAMETERISATIONS:
        _band(axes[2], sec[(sec["param"] == param) & (sec["metric"] == "selected_prob")], param)
    axes[2].axhline(1.0, color="k", lw=0.8, ls="--", label="theory: → 1")
    axes[2].set(title="softmax on selected tokens", xlabel="iteration", ylabel="mean_i s_iα_i")
    axes[2].legend(fontsize=8)
    return save(fig, out, CORR_FIGURE)


def _draw_rank(sec: pd.DataFrame, out: Path) -> Path:
    fig, ax = plt.subplots(figsize=(6, 4))
    means = sec[sec["metric"].isin(["rank_fro", "rank_nuc"])].pivot_table(index="d", columns="metric",
                                                                          values="value", aggfunc="mean")
    n = int(sec["n"].dropna().iloc[0])
    ax.plot(means.index, means["rank_fro"], "o-", label="rank W^mm (Frobenius)")
    ax.plot(means.index, means["rank_nuc"], "s-", label="rank W^mm_⋆ (nuclear)")
    ax.plot(means.index, np.minimum(means.index, n), "k--", label="notebook: min(n, d)")
    feasible = sec[sec["metric"] == "feasible"].groupby("d")["value"].mean()
    for d, f in feasible.items():
        ax.annotate(f"{f:.0%} feasible", (d, 0.02), xycoords=("data", "axes fraction"), fontsize=7, ha="center")
    ax.set(xlabel="d", ylabel="mean rank", title=f"SVM solution rank at α = opt (n = {n})")
    ax.legend(fontsize=8)
    return save(fig, out, RANK_FIGURE)


def _draw_overparam(sec: pd.DataFrame, out: Path) -> Path:
    frac = sec.groupby("d")["value"].agg(["mean", "count"])
    err = np.sqrt(frac["mean"] * (1 - frac["mean"]) / frac["count"])
    fig, ax = plt.subplots(figsize=(6, 4))
    ax.errorbar(frac.index, frac["mean"], yerr=err, fmt="o-", capsize=3, label="measured (± binomial se)")
    ax.set(xlabel="d", ylabel="fraction of runs selecting opt", ylim=(0, 1.05),
           title="over-parameterisation (prediction: rises with d)")
    ax.legend(fontsize=8)
    return save(fig, out, OVERPARAM_FIGURE)


def _draw_nonlinear(sec: pd.DataFrame, out: Path) -> Path:
    fig, axes = plt.subplots(1, 2, figsize=(12, 4))
    gaps = sec[sec["metric"].str.startswith("one_minus_corr")]
    for (d, metric), rows in gaps.groupby(["d", "metric"]):
        if metric in ("one_minus_corr_eq", "one_minus_corr_dir"):
            curve = rows.groupby("step")["value"].mean()
            axes[0].semilogy(curve.index, curve.values, ls="-" if metric.endswith("eq") else ":",
                             label=f"d={int(d)} {metric.removeprefix('one_minus_corr_')}")
    axes[0].set(xlabel="iteration", ylabel="mean 1 - corr(W, target)", title="nonlinear head")
    axes[0].legend(fontsize=8)
    final = gaps[gaps["step"] == gaps["step"].max()].groupby(["metric", "d"])["value"].mean()
    for metric in final.index.get_level_values(0).unique():
        axes[1].semilogy(final[metric].index, final[metric].values, "o-", label=metric.removeprefix("one_minus_corr_"))
    axes[1].semilogy(list(PAPER_NONLINEAR_EQ), list(PAPER_NONLINEAR_EQ.values()), "k*--", label="notebook plot (eq)")
    axes[1].set(xlabel="d", ylabel="final mean 1 - corr", title="final gap vs d")
    axes[1].legend(fontsize=8)
    return save(fig, out, NONLINEAR_FIGURE)


def _draw_joint(sec: pd.DataFrame, out: Path) -> Path:
    fig, ax = plt.subplots(figsize=(6, 4))
    for (inst, metric), rows in sec.groupby(["instance", "metric"]):
        ax.semilogy(rows["step"], 1 - rows["value"] + 1e-16, label=f"{inst}: 1 - {metric}")
    ax.set(xlabel="iteration", ylabel="1 - corr (theory: → 0)", title="joint (v, p) training")
    ax.legend(fontsize=8)
    return save(fig, out, JOINT_FIGURE)


DRAWERS: dict[str, Callable[[pd.DataFrame, Path], Path]] = {
    "local_converge": _draw_local, "rank": _draw_rank, "overparam": _draw_overparam, "nonlinear": _draw_nonlinear,
    "joint": _draw_joint}


def draw(table: pd.DataFrame, out_dir: Path) -> list[Path]:
    """The family's figures, from the table alone (a study without rows draws nothing)."""
    out_dir = Path(out_dir)
    paths = []
    for name, drawer in DRAWERS.items():
        sec = section(table, name)
        if not sec.empty and (name != "nonlinear" or sec["metric"].str.startswith("one_minus").any()):
            paths.append(drawer(sec, out_dir))
    return paths
