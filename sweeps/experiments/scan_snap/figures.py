"""Figures of the Scan and Snap experiment, drawn from the table alone (theory beside measurement)."""

from __future__ import annotations

from pathlib import Path

import matplotlib
import pandas as pd

from attnbench.sweeps.plotting import save

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402


def _rows(table: pd.DataFrame, section: str, metric: str | None = None) -> pd.DataFrame:
    rows = table[table["section"] == section]
    return rows if metric is None else rows[rows["metric"] == metric]


def _draw_dynamics(table: pd.DataFrame, out_dir: Path) -> Path:
    """SGD vs ODE (common-token mass), the scan (distinct shares, ODE) and the snap (‖g_n‖ vs γ(t), t_0)."""
    fig, axes = plt.subplots(1, 3, figsize=(15, 4))
    match = _rows(table, "ode_match", "common_mass")
    match = match[match["momentum"] == match["momentum"].min()]
    for seq_len, group in match.groupby("seq_len"):
        mean = group.groupby("step")["value"].mean()
        axes[0].plot(mean.index, mean.to_numpy(), label=f"SGD T={seq_len}")
    pred = match.groupby("step")["predicted"].first()
    axes[0].plot(pred.index, pred.to_numpy(), "k--", label="population ODE")
    axes[0].set(xlabel="step", ylabel="attention mass on common tokens", title="SGD vs ODE")
    axes[0].legend()
    scan = _rows(table, "scan")
    scan = scan[(scan["ratio"] == scan["ratio"].max()) & scan["metric"].str.startswith("distinct_share_")]
    share = scan.pivot_table(index="step", columns="metric", values="value")
    share = share[sorted(share.columns, key=lambda name: int(name.rsplit("_", 1)[1]))]
    for rank, column in enumerate(share.columns):
        axes[1].plot(share.index, share[column], color=plt.cm.viridis(rank / max(1, share.shape[1] - 1)))
    axes[1].set(xscale="symlog", xlim=(0, None), xlabel="t", ylabel="share of c_n within G_DT (colour = P(l|n))",
                title=f"Scan (ODE, η_Y/η_Z={scan['ratio'].max():g})")
    snap = _rows(table, "snap", "g_norm")
    t_snap = _rows(table, "snap", "z_speed_peak_time").set_index("lr_y")["predicted"]
    for lr_y, rows in snap.groupby("lr_y"):
        line = axes[2].plot(rows["step"], rows["value"], label=f"η_Y={lr_y:g}")[0]
        axes[2].plot(rows["step"], rows["predicted"], "--", color=line.get_color())
        axes[2].axvline(t_snap[lr_y], color=line.get_color(), ls=":")
    axes[2].set(xscale="symlog", xlim=(0, None), xlabel="t", ylabel="‖g_n‖ (solid) vs γ(t) (dashed)",
                title="Snap: t_0 dotted")
    axes[2].legend()
    return save(fig, out_dir, "dynamics.png")


def _draw_entropy(entropy: pd.DataFrame, out_dir: Path) -> Path:
    """Measured vs reported Fig. 6 entropy per cell."""
    fig, ax = plt.subplots(figsize=(6, 4))
    stats = entropy.groupby(["num_classes", "lr_z", "ratio"]).agg(mean=("value", "mean"),
                                                                   reported=("predicted", "first"))
    ax.scatter(stats["reported"], stats["mean"])
    lims = [stats.min().min() - 0.05, stats.max().max() + 0.05]
    ax.plot(lims, lims, "k--")
    ax.set(xlabel="reported entropy (Fig. 6)", ylabel="measured entropy", title="Syn-Medium entropy")
    return save(fig, out_dir, "entropy.png")


def draw(table: pd.DataFrame, out_dir: Path) -> list[Path]:
    """dynamics.png (SGD vs ODE, the scan, the snap) and, when present, entropy.png (measured vs Fig. 6)."""
    paths = [_draw_dynamics(table, out_dir)]
    entropy = _rows(table, "entropy")
    if len(entropy):
        paths.append(_draw_entropy(entropy, out_dir))
    return paths
