"""The state-tracking figure: accuracy vs example length per task, one line per mixer (Grazzi et al. 2025)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from attnbench.sweeps.experiments.state_tracking.claims import KEYS
from attnbench.sweeps.plotting import chance_and_oracle, plt, save, seed_errorbar
from attnbench.sweeps.token_claims import accuracies, seed_summary


def summary(table: pd.DataFrame, metric: str = "test_accuracy") -> pd.DataFrame:
    """Mean, seed std, seed standard error and n per (task, model, length bin) of ``metric``."""
    return seed_summary(accuracies(table, metric, KEYS), KEYS)


def draw(table: pd.DataFrame, out_dir: Path) -> list[Path]:
    """Accuracy vs example length per task: one line per mixer (mean ± seed std), in-distribution point,
    chance level, and the train/test boundary. Writes ``accuracy.png``."""
    test, ind = summary(table), summary(table, "id_accuracy")
    tasks = list(dict.fromkeys(test["task"]))
    fig, axes = plt.subplots(1, len(tasks), figsize=(4.2 * len(tasks), 3.4), squeeze=False, sharey=True)
    for ax, name in zip(axes[0], tasks, strict=True):
        groups = list(test[test["task"] == name].groupby("model"))
        for i, (model, cells) in enumerate(groups):
            color, shift = f"C{i}", 1.5 * (i - (len(groups) - 1) / 2)  # small offset keeps ties visible
            centres = (cells["length_low"] + cells["length_high"]) / 2 + shift
            seed_errorbar(ax, centres, cells, model, color=color)
            own = ind[(ind["task"] == name) & (ind["model"] == model)]
            ax.errorbar((own["length_low"] + own["length_high"]) / 2 + shift, own["mean"], yerr=own["std"],
                        marker="s", mfc="none", color=color, capsize=3, ls="none")
        chance_and_oracle(ax, float(np.nanmax(table.loc[table["task"] == name, "chance"])))
        ax.axvline(table["train_max_len"].dropna().iloc[0], color="k", lw=0.8, alpha=0.5)
        ax.set(title=name, xlabel="example length (squares: train lengths)", ylim=(-0.02, 1.05))
        ax.legend(fontsize=7)
    axes[0][0].set_ylabel("accuracy (scored tokens)")
    return [save(fig, out_dir, "accuracy.png")]
