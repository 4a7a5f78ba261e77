"""The learning curves of the token tasks (MQAR, state tracking): validation accuracy against step, per mixer
and cell, at the learning rate each cell selects (issue 16: a claim can then say "saturated at step k")."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

import pandas as pd

from attnbench.sweeps.plotting import figure_legend, panels, save


def selected_curves(table: pd.DataFrame, cell: Sequence[str]) -> pd.DataFrame:
    """The ``val_accuracy_curve`` rows of the lr each (model, *cell*) selected: the lr its ``test_accuracy``
    rows carry (`attnbench.sweeps.token_training.select_learning_rate` scores only that one)."""
    keys = ["model", *cell, "lr"]
    chosen = table.loc[table["metric"] == "test_accuracy", keys].drop_duplicates()
    return table[table["metric"] == "val_accuracy_curve"].merge(chosen, on=keys)


def learning_curves(table: pd.DataFrame, cell: Sequence[str], names: Mapping[str, str], out_dir: Path) -> Path:
    """One panel per mixer: every cell's validation accuracy against step at its selected lr, the seed mean as a
    line and each seed as a thin line, with chance (one line, or one per cell in its colour where the cells'
    chances differ) and the oracle; writes ``learning_curves.png``."""
    curves = selected_curves(table, cell)
    models = list(dict.fromkeys(curves["model"]))
    fig, axes = panels(1, len(models), sharey=True)
    chances = curves.groupby(list(cell))["chance"].max().unique() if "chance" in curves else [float("nan")]
    shared_chance = float(chances[0]) if len(chances) == 1 else None
    for ax, model in zip(axes[0], models, strict=True):
        own = curves[curves["model"] == model]
        for i, (key, group) in enumerate(own.groupby(list(cell))):
            label = ", ".join(f"{k}={v}" for k, v in zip(cell, key if isinstance(key, tuple) else (key,), strict=True))
            for _, seed in group.groupby("seed"):
                ax.plot(seed["step"], seed["value"], color=f"C{i}", lw=0.5, alpha=0.5)
            mean = group.groupby("step")["value"].mean()
            ax.plot(mean.index, mean.to_numpy(), "o-", color=f"C{i}", ms=3, label=label)
            if shared_chance is None:
                ax.axhline(group["chance"].max(), color=f"C{i}", lw=0.8, ls="--", label=f"chance, {label}")
        if shared_chance is not None:
            ax.axhline(shared_chance, color="grey", lw=0.8, ls="--", label="chance")
        ax.axhline(1.0, color="k", lw=0.8, ls=":", label="oracle")
        ax.set(xlabel="training step", ylabel="validation accuracy", title=names.get(model, model), ylim=(-0.02, 1.05))
    figure_legend(fig, axes, ncols=4)
    return save(fig, out_dir, "learning_curves.png")
