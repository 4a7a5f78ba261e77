"""The figure of the ``softmax_regression`` experiment, drawn from its table alone."""

from __future__ import annotations

from pathlib import Path

import matplotlib.pyplot as plt
import pandas as pd

from attnbench.sweeps.plotting import save


def _icl(table: pd.DataFrame, metric: str) -> pd.DataFrame:
    """Seed means of ``metric`` per (n, R) x training step."""
    rows = table[(table["section"] == "icl") & (table["metric"] == metric)]
    return rows.groupby(["rows", "radius", "step"])["value"].mean().unstack("step")


def draw(table: pd.DataFrame, out_dir: Path) -> list[Path]:
    """ICL metrics vs training step for every (n, R); measured shift constants beside R/2 and M."""
    metrics = ("loss_sa", "loss_gd", "pred_diff", "model_diff", "model_cos")
    figure, axes = plt.subplots(1, len(metrics) + 1, figsize=(4 * (len(metrics) + 1), 3.6))
    for axis, metric in zip(axes, metrics, strict=False):
        for (rows, radius), curve in _icl(table, metric).iterrows():
            axis.plot(curve.index, curve.values, label=f"n={int(rows)}, R={radius:g}")
        axis.set(xlabel="training step", title=metric, yscale="linear" if metric == "model_cos" else "log")
    axes[0].legend(fontsize=6)
    bounds = table[table["section"] == "bounds"]
    summary = bounds[bounds["metric"] == "weight_shift_constant"].groupby(["rows", "radius"])[
        ["value", "predicted"]].max().reset_index()
    paper = bounds[bounds["metric"] == "log10_paper_constant"].groupby(["rows", "radius"])["value"].max().values
    labels = [f"n={int(n)},R={r:g}" for n, r in zip(summary["rows"], summary["radius"], strict=True)]
    positions = range(len(labels))
    axes[-1].semilogy(positions, summary["value"], "o", label="measured constant")
    axes[-1].semilogy(positions, summary["predicted"], "k_", label="R/2 (derived bound)")
    axes[-1].semilogy(positions, 10.0**paper, "r^", label="n^1.5 e^{10R^2} (paper)")
    axes[-1].set_xticks(list(positions), labels, rotation=90, fontsize=6)
    axes[-1].legend(fontsize=6)
    axes[-1].set(title="weight-shift constant")
    return [save(figure, out_dir, "softmax_regression.png")]
