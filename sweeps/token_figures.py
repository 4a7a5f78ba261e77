"""The learning curves of the token tasks (MQAR, state tracking): validation accuracy against step, per mixer
and cell, at the learning rate each cell selects (issue 16: a claim can then say "saturated at step k")."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path

import pandas as pd

from attnbench.sweeps.plotting import figure_legend, panels, save
from attnbench.sweeps.token_claims import PLATEAU, half_step, selected_curves


def mixer_order(models: Iterable[str], names: Mapping[str, str]) -> list[str]:
    """The distinct ``models`` in the order of ``names`` (the figure's panel order), unnamed ones last."""
    present = list(dict.fromkeys(models))
    return [m for m in names if m in present] + [m for m in present if m not in names]


def learning_curves(
    table: pd.DataFrame,
    cell: Sequence[str],
    names: Mapping[str, str],
    out_dir: Path,
    columns: int = 4,
    ylabel: str = "validation accuracy",
    metric: str = "val_accuracy_curve",
    name: str = "learning_curves.png",
) -> Path:
    """One panel per mixer (``columns`` to a row): every cell's ``metric`` learning curve against step at its
    selected lr, the seed mean as a line and each seed as a thin line, with chance (one line, or one per cell in its
    colour where the cells' chances differ), the oracle and the second half of training, where a saturated seed
    stays within `attnbench.sweeps.token_claims.PLATEAU` of its final accuracy
    (`attnbench.sweeps.token_claims.saturation`); ``ylabel`` names what the curve measures; writes ``name``."""
    curves = selected_curves(table, cell, metric)
    models = mixer_order(curves["model"], names)
    fig, axes = panels(-(-len(models) // columns), min(columns, len(models)), sharey=True)
    for ax in axes.flat[len(models) :]:
        ax.set_visible(False)
    chances = curves.groupby(list(cell))["chance"].max().unique() if "chance" in curves else [float("nan")]
    shared_chance = float(chances[0]) if len(chances) == 1 else None
    for ax, model in zip(axes.flat, models, strict=False):
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
        half = half_step(own["step"].to_numpy())
        if half is not None:
            ax.axvspan(
                half,
                own["step"].max(),
                color="grey",
                alpha=0.1,
                lw=0,
                label=f"second half: a saturated seed stays within {PLATEAU} of its end",
            )
        ax.set(xlabel="training step", ylabel=ylabel, title=names.get(model, model), ylim=(-0.02, 1.05))
    figure_legend(fig, axes, ncols=4)
    return save(fig, out_dir, name)
