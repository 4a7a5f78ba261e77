"""The state-tracking figure: accuracy vs example length per task, one line per mixer (Grazzi et al. 2025)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from attnbench.sweeps.experiments.state_tracking.claims import ID_CURVE, KEYS
from attnbench.sweeps.plotting import bootstrap_interval, chance_and_oracle, figure_legend, panels, save, seed_range
from attnbench.sweeps.token_claims import accuracies, seed_summary
from attnbench.sweeps.token_figures import learning_curves

NAMES = {
    "softmax": "softmax attention",
    "deltanet": r"DeltaNet, eigenvalues in $[0, 1]$",
    "deltanet_neg": r"DeltaNet, eigenvalues in $[-1, 1]$",
    "lla": "LLA",
}
TASKS = {"S3": r"$S_3$ word problem", "parity": "parity", "mod_arith": "modular arithmetic (mod 5)"}


def summary(table: pd.DataFrame, metric: str = "test_accuracy") -> pd.DataFrame:
    """Mean, seed std, seed standard error and n per (task, model, length bin) of ``metric``."""
    return seed_summary(accuracies(table, metric, KEYS), KEYS)


def _centred(table: pd.DataFrame, metric: str) -> pd.DataFrame:
    """The per-seed accuracies of ``metric`` with the centre of their length bin as ``length``."""
    seeds = accuracies(table, metric, KEYS)
    return seeds.assign(length=(seeds["length_low"] + seeds["length_high"]) / 2)


def draw(table: pd.DataFrame, out_dir: Path) -> list[Path]:
    """Accuracy vs example length per task: one line per mixer (seed mean, bars: its 95% bootstrap interval,
    inside [0, 1]; dots: seeds), the in-distribution point (square, same interval), chance, oracle and the
    train/test boundary, one legend. Writes ``accuracy.png`` and two sets of learning curves: in distribution
    (``learning_curves.png``) and at the test lengths, where the lr is selected
    (``learning_curves_test_lengths.png``)."""
    test, ind = _centred(table, "test_accuracy"), _centred(table, "id_accuracy")
    tasks = list(dict.fromkeys(test["task"]))
    models = list(dict.fromkeys(test["model"]))
    fig, axes = panels(1, len(tasks), sharey=True)
    for ax, name in zip(axes[0], tasks, strict=True):
        for i, model in enumerate(models):
            color, shift = f"C{i}", 1.5 * (i - (len(models) - 1) / 2)  # small offset keeps ties visible
            seed_range(
                ax,
                test[(test["task"] == name) & (test["model"] == model)],
                "length",
                NAMES.get(model, model),
                shift=shift,
                interval="bootstrap",
                color=color,
            )
            own = ind[(ind["task"] == name) & (ind["model"] == model)]
            if not own.empty:
                mean, (low, high) = own["value"].mean(), bootstrap_interval(own["value"].to_numpy())
                ax.errorbar(
                    own["length"].iloc[0] + shift,
                    mean,
                    yerr=[[mean - low], [high - mean]],
                    marker="s",
                    mfc="none",
                    color=color,
                    capsize=3,
                    ls="none",
                )
        chance_and_oracle(ax, float(np.nanmax(table.loc[table["task"] == name, "chance"])))
        ax.axvline(
            table["train_max_len"].dropna().iloc[0], color="k", lw=0.8, alpha=0.5, label="longest training length"
        )
        ax.set(
            title=TASKS.get(name, name),
            xlabel="example length (squares: training lengths)",
            ylabel="accuracy (scored tokens)",
            ylim=(-0.02, 1.05),
        )
    figure_legend(fig, axes, ncols=3)
    return [
        save(fig, out_dir, "accuracy.png"),
        learning_curves(
            table, ("task",), NAMES, out_dir, metric=ID_CURVE, ylabel="validation accuracy (training lengths)"
        ),
        learning_curves(
            table,
            ("task",),
            NAMES,
            out_dir,
            ylabel="validation accuracy (test lengths)",
            name="learning_curves_test_lengths.png",
        ),
    ]
