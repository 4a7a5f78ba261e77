"""Figures of the Scan and Snap experiment (Tian et al. 2023), drawn from the table alone, theory beside
measurement: the population ODE beside SGD (Lemmas 1–2), the scan's within-distinct shares ordered by P(l|n)
(Thm 2), the snap's ‖g_n‖ beside γ(t) and t_0 (Thm 4), and the Fig. 6 entropies beside ours."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
from matplotlib.colors import BoundaryNorm
from matplotlib.lines import Line2D

from attnbench.sweeps.experiments.scan_snap.params import REPORTED_ENTROPY_SEEDS, reported_entropy
from attnbench.sweeps.plotting import PANEL, legend_outside, panels, plt, save

LEGEND_WIDTH = 1.6  # inches added beside a panel for its legend


def _rows(table: pd.DataFrame, section: str, metric: str | None = None) -> pd.DataFrame:
    rows = table[table["section"] == section]
    return rows if metric is None else rows[rows["metric"] == metric]


def _draw_ode_match(ax: plt.Axes, table: pd.DataFrame) -> None:
    match = _rows(table, "ode_match", "common_mass")
    momentum = match["momentum"].min()
    match = match[match["momentum"] == momentum]
    for seq_len, group in match.groupby("seq_len"):
        mean = group.groupby("step")["value"].mean()
        ax.plot(mean.index, mean.to_numpy(), label=f"SGD, $T = {int(seq_len)}$ ({group['seed'].nunique()} seeds)")
    pred = match.groupby("step")["predicted"].first()
    ax.plot(pred.index, pred.to_numpy(), "k--", label="population ODE")
    ax.set(
        xlabel="SGD step",
        ylabel="attention mass on common tokens",
        title=rf"SGD against the ODE ($\beta = {momentum:g}$)",
    )
    legend_outside(ax)


def _draw_scan(fig: plt.Figure, ax: plt.Axes, table: pd.DataFrame) -> None:
    scan = _rows(table, "scan")
    ratio = scan["ratio"].max()
    scan = scan[(scan["ratio"] == ratio) & scan["metric"].str.startswith("distinct_share_")]
    share = scan.pivot_table(index="step", columns="metric", values="value")
    share = share[sorted(share.columns, key=lambda name: int(name.rsplit("_", 1)[1]))]
    count = share.shape[1]
    norm = BoundaryNorm(np.arange(count + 1) - 0.5, plt.cm.viridis.N)
    for rank, column in enumerate(share.columns):
        ax.plot(share.index, share[column], color=plt.cm.viridis(norm(rank)))
    ax.set(
        xscale="symlog",
        xlim=(0, None),
        xlabel=r"ODE time $t$",
        ylabel=r"share of $c_n$ within the distinct tokens",
        title=rf"Scan (ODE, $\eta_Y / \eta_Z = {ratio:g}$)",
    )
    bar = fig.colorbar(plt.cm.ScalarMappable(norm=norm, cmap=plt.cm.viridis), ax=ax, ticks=range(count))
    bar.set_label(r"rank of $P(\ell \mid n)$ (highest = most likely)")


def _draw_snap(ax: plt.Axes, table: pd.DataFrame) -> None:
    snap = _rows(table, "snap", "g_norm")
    t_snap = _rows(table, "snap", "z_speed_peak_time").set_index("lr_y")["predicted"]
    for lr_y, rows in snap.groupby("lr_y"):
        line = ax.plot(rows["step"], rows["value"], label=rf"$\eta_Y = {lr_y:g}$")[0]
        ax.plot(rows["step"], rows["predicted"], "--", color=line.get_color())
        ax.axvline(t_snap[lr_y], color=line.get_color(), ls=":")
    styles = [
        Line2D([], [], color="grey", ls=style, label=label)
        for style, label in (
            ("-", r"measured $\|g_n\|$"),
            ("--", r"theory $\gamma(t)$"),
            (":", r"theory snap time $t_0$"),
        )
    ]
    ax.set(xscale="symlog", xlim=(0, None), xlabel=r"ODE time $t$", ylabel=r"$\|g_n\|$", title="Snap")
    legend_outside(ax, handles=[*ax.get_legend_handles_labels()[0], *styles])


def _draw_dynamics(table: pd.DataFrame, out_dir: Path) -> Path:
    """SGD vs ODE (common-token mass), the scan (distinct shares, ODE) and the snap (‖g_n‖ vs γ(t), t_0)."""
    fig, axes = panels(1, 3)
    fig.set_size_inches(3 * PANEL[0] + 3 * LEGEND_WIDTH, PANEL[1] + 0.2)
    _draw_ode_match(axes[0, 0], table)
    _draw_scan(fig, axes[0, 1], table)
    _draw_snap(axes[0, 2], table)
    return save(fig, out_dir, "dynamics.png")


def _draw_entropy(entropy: pd.DataFrame, out_dir: Path) -> Path:
    """Ours (seed mean ± SD) beside the reported Fig. 6 cell (mean ± its SD over the authors' seeds), one panel
    per (K, η_Z), against η_Y/η_Z."""
    cells = entropy.groupby(["num_classes", "lr_z", "ratio"])["value"].agg(["mean", "std", "count"]).reset_index()
    groups = list(cells.groupby(["num_classes", "lr_z"]))
    fig, axes = panels(1, len(groups), sharey=True)
    for ax, ((num_classes, lr_z), rows) in zip(axes[0], groups, strict=True):
        paper = np.array([reported_entropy(int(num_classes), float(lr_z), float(r)) for r in rows["ratio"]])
        x = np.arange(len(rows))
        ax.errorbar(
            x - 0.08,
            rows["mean"],
            yerr=rows["std"],
            fmt="o",
            capsize=3,
            label=f"ours (mean ± SD, {int(rows['count'].min())} seeds)",
        )
        ax.errorbar(
            x + 0.08,
            paper[:, 0],
            yerr=paper[:, 1],
            fmt="ks",
            mfc="none",
            capsize=3,
            label=f"Fig. 6 (mean ± SD, {REPORTED_ENTROPY_SEEDS} seeds)",
        )
        ax.set_xticks(x, [f"{r:g}" for r in rows["ratio"]])
        ax.set_xlim(-0.5, len(rows) - 0.5)
        ax.set(
            xlabel=r"$\eta_Y / \eta_Z$",
            ylabel="distinct-token entropy (nats)",
            title=rf"$K = {int(num_classes)}$, $\eta_Z = {lr_z:g}$",
        )
        ax.yaxis.set_tick_params(labelleft=True)
    fig.legend(*axes[0, 0].get_legend_handles_labels(), loc="outside lower center", ncol=2)
    fig.suptitle("Syn-Medium distinct-token entropy against Tian et al. (2023), Fig. 6")
    return save(fig, out_dir, "entropy.png")


def draw(table: pd.DataFrame, out_dir: Path) -> list[Path]:
    """dynamics.png (SGD vs ODE, the scan, the snap) and, when present, entropy.png (measured vs Fig. 6)."""
    paths = [_draw_dynamics(table, out_dir)]
    entropy = _rows(table, "entropy")
    if len(entropy):
        paths.append(_draw_entropy(entropy, out_dir))
    return paths
