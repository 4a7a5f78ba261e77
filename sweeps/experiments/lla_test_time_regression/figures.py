"""The lla_test_time_regression figures: per-position MSE (seed means) with the segment boundaries, one panel per
(S, d), per stream kind; and the overall MSE ratio baseline/LLA against d."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from attnbench.sweeps.experiments.lla_test_time_regression.run import COMPETITORS, ESTIMATORS
from attnbench.sweeps.experiments.lla_test_time_regression.tables import KEYS, overall_mse
from attnbench.sweeps.plotting import plt, save


def _per_position(curves: pd.DataFrame, kind: str, out_dir: Path) -> Path:
    configs = curves[KEYS].drop_duplicates().sort_values(KEYS)
    fig, axes = plt.subplots(len(configs), 1, figsize=(9, 2.6 * len(configs)), squeeze=False)
    for ax, (segment_length, dim) in zip(axes[:, 0], configs.itertuples(index=False), strict=True):
        panel = curves[(curves.segment_length == segment_length) & (curves.dim == dim)]
        for name in ESTIMATORS:
            curve = panel[panel.estimator == name].sort_values("step")
            oracle = name == "bayes"
            ax.plot(curve.step, curve.value, lw=0.8, label="segment-aware Bayes (oracle)" if oracle else name,
                    linestyle=":" if oracle else "-", color="k" if oracle else None)
        for boundary in range(segment_length, int(panel.step.max()) + 1, segment_length):
            ax.axvline(boundary, color="grey", lw=0.5, linestyle="--")
        ax.set(yscale="log", ylabel="MSE", title=f"S={segment_length}, d={dim}, {kind} keys")
    axes[-1, 0].set_xlabel("position t")
    axes[0, 0].legend(fontsize=7, ncol=3)
    return save(fig, out_dir, f"per_position_{kind}.png")


def draw(table: pd.DataFrame, out_dir: Path) -> list[Path]:
    """The figures, from the stored table alone."""
    curves = table[table.metric == "mse_curve"]
    paths = [_per_position(rows, kind, out_dir) for kind, rows in curves.groupby("stream")]
    overall = overall_mse(table[table.stream == "drifting"]).groupby(level=KEYS).mean()
    fig, ax = plt.subplots(figsize=(6, 4))
    for segment_length, group in overall.groupby(level="segment_length"):
        dims = group.index.get_level_values("dim")
        for name in COMPETITORS[1:]:
            ax.plot(dims, (group[name] / group["lla"]).to_numpy(), marker="o", label=f"{name}, S={segment_length}")
    ax.axhline(1.0, color="k", lw=0.5)
    ax.set(xscale="log", yscale="log", xlabel="d", ylabel="Σℓ(model) / Σℓ(LLA)", title="overall MSE ratio to LLA")
    ax.legend(fontsize=6, ncol=2)
    paths.append(save(fig, out_dir, "ratio_vs_dim.png"))
    return paths
