"""The figure of the ``lsa_dynamics`` experiment (Zhang, Frei & Bartlett 2023; notes B1), drawn from its table
alone: per seed, the population flow (the prediction, black) beside full-batch GD and mini-batch SGD."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from attnbench.sweeps.experiments.lsa_dynamics.claims import FIGURE
from attnbench.sweeps.plotting import figure_legend, panels, save

PANELS = {  # metric -> (title, y-label, y-scale)
    "b_error": ("distance to the optimum", r"$\|uA^\top - B^*\|_F\,/\,\|B^*\|_F$", "log"),
    "flow_gap": ("distance to the flow", r"$\|uA^\top - B_{\mathrm{flow}}(t)\|_F\,/\,\|B^*\|_F$", "log"),
    "u": ("value scale", r"$u = W^{PV}_{d+1,d+1}$", "linear"),
    "balance": ("balance (conserved by the flow)", r"$u^2 - \|A\|_F^2$", "symlog"),
}


def _key(method: str, eta: float, batch: float) -> str:
    """The style key of one trajectory: the flow has no η, GD no batch."""
    if method == "flow":
        return "flow"
    return f"gd {eta:g}" if method == "gd" else f"sgd {eta:g} {int(batch)}"


def _styles(table: pd.DataFrame) -> dict[str, dict[str, object]]:
    """One style per trajectory kind: the flow black, GD dashed greys by η, SGD colours by batch."""
    styles: dict[str, dict[str, object]] = {"flow": {"color": "k", "lw": 1.6, "label": "population flow (prediction)"}}
    gd = sorted(table.loc[table["method"] == "gd", "step_size"].dropna().unique(), reverse=True)
    for i, eta in enumerate(gd):
        styles[_key("gd", eta, np.nan)] = {
            "color": str(round(0.15 + 0.55 * i / max(len(gd) - 1, 1), 3)),
            "ls": "--",
            "lw": 1.0,
            "label": rf"full-batch GD, $\eta$={eta:g}",
        }
    sgd = table[table["method"] == "sgd"][["step_size", "batch"]].dropna().drop_duplicates()
    smallest = sgd["step_size"].min()
    for (eta, batch), colour in zip(
        sgd.sort_values(["step_size", "batch"]).itertuples(index=False), range(len(sgd)), strict=True
    ):
        styles[_key("sgd", eta, batch)] = {
            "color": f"C{colour}",
            "lw": 0.9,
            "alpha": 0.8,
            "ls": "-" if eta == smallest else ":",
            "label": rf"SGD, $\eta$={eta:g}, batch {int(batch)}",
        }
    return styles


def draw(table: pd.DataFrame, out_dir: Path) -> list[Path]:
    """Four panels against flow time t = η · step, one line per seed and trajectory."""
    trajectories = table[table["time"].notna()].copy()
    for column in ("step_size", "batch"):
        if column not in trajectories:
            trajectories[column] = np.nan
    styles = _styles(trajectories)
    fig, axes = panels(2, 2)
    for ax, (metric, (title, ylabel, scale)) in zip(axes.flat, PANELS.items(), strict=True):
        rows = trajectories[trajectories["metric"] == metric]
        labelled: set[str] = set()
        for (method, eta, batch, _), curve in rows.groupby(["method", "step_size", "batch", "seed"], dropna=False):
            key = _key(method, eta, batch)
            style = {**styles[key], **({"label": "_nolegend_"} if key in labelled else {})}
            labelled.add(key)
            curve = curve.sort_values("time")
            ax.plot(curve["time"], curve["value"], **style)
        ax.set(title=title, xlabel=r"flow time $t = \eta \cdot$ step", ylabel=ylabel)
        ax.set_yscale(scale, **({"linthresh": 1e-3} if scale == "symlog" else {}))
    figure_legend(fig, axes, ncols=3)
    fig.suptitle(f"Linear self-attention, {trajectories['seed'].nunique()} seeds: GD and SGD beside the flow")
    return [save(fig, out_dir, FIGURE)]
