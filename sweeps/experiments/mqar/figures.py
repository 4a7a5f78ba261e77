"""The MQAR figure: accuracy vs width per mixer, one line per K (Arora et al. 2024, Fig. 2 layout)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from attnbench.sweeps.experiments.mqar.claims import KEYS
from attnbench.sweeps.plotting import chance_and_oracle, plt, save, seed_errorbar
from attnbench.sweeps.token_claims import accuracies, seed_summary


def summary(table: pd.DataFrame) -> pd.DataFrame:
    """Test accuracy per (model, width, kv_pairs): mean, seed standard deviation, standard error, n."""
    return seed_summary(accuracies(table, "test_accuracy", KEYS), KEYS)


def draw(table: pd.DataFrame, out_dir: Path) -> list[Path]:
    """Accuracy vs width, one panel per mixer, one line per K (mean ± seed std, dots: the seeds; outcomes are
    often bimodal), chance and oracle. Writes ``accuracy.png``."""
    s = summary(table)
    seeds = table[table["metric"] == "test_accuracy"]
    models = list(dict.fromkeys(s["model"]))
    fig, axes = plt.subplots(1, len(models), figsize=(4 * len(models), 3.4), squeeze=False, sharey=True)
    chance = table["chance"].dropna().max() if "chance" in table else np.nan
    for ax, model in zip(axes[0], models, strict=True):
        for i, (kv, cells) in enumerate(s[s["model"] == model].groupby("kv_pairs")):
            cells = cells.sort_values("width")
            seed_errorbar(ax, cells["width"], cells, f"K={kv}", color=f"C{i}")
            own = seeds[(seeds["model"] == model) & (seeds["kv_pairs"] == kv)]
            ax.scatter(own["width"], own["value"], s=12, color=f"C{i}", alpha=0.45, zorder=3)
        chance_and_oracle(ax, chance)
        widths = sorted(s.loc[s["model"] == model, "width"].unique())
        ax.set(xscale="log", xlabel="model width d", title=model, ylim=(-0.02, 1.05))
        ax.set_xticks(widths, [str(w) for w in widths])
        ax.minorticks_off()
        ax.legend(fontsize=7)
    axes[0][0].set_ylabel("test accuracy (query tokens; dots: seeds)")
    return [save(fig, out_dir, "accuracy.png")]
