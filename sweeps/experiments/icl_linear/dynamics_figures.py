"""The ``icl_linear`` dynamics figures: per seed, the measured (μ_h, ω_h) paths beside the flow of L̃ predicted
from the same initial point (He et al. 2025, notes A2.3), heads coloured by the sign they end with."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from attnbench.sweeps.experiments.icl_linear.dynamics_checks import stall_outcomes
from attnbench.sweeps.plotting import figure_legend, panels, save

SIGN_COLOURS = {1.0: "C3", -1.0: "C0", 0.0: "grey"}


def _grid(rows: pd.DataFrame) -> tuple[list[int], list[int]]:
    return sorted(int(n) for n in rows["train_length"].unique()), sorted(int(s) for s in rows["seed"].unique())


def reduced_dynamics(table: pd.DataFrame, out_dir: Path) -> Path:
    """Phase plane (ω_h, μ_h) per training length (rows) and seed (columns): the flow of L̃ (dashed), the
    reduced model's full-batch GD (solid) and its SGD at the largest batch (thin), each head coloured by the
    sign its GD path ends with (red +, blue −)."""
    rows = table[table["metric"].isin(["reduced_mu", "reduced_omega"])]
    lengths, seeds = _grid(rows)
    largest = rows.loc[rows["method"] == "sgd", "batch"].max()
    fig, axes = panels(len(lengths), len(seeds), sharex=False, sharey=False)
    fig.set_size_inches(2.0 * len(seeds), 1.9 * len(lengths))
    for i, length in enumerate(lengths):
        for j, seed in enumerate(seeds):
            ax = axes[i, j]
            cell = rows[(rows["train_length"] == length) & (rows["seed"] == seed)]
            for _, path in cell.groupby("head"):
                gd = path[path["method"] == "gd"]
                mu = gd[gd["metric"] == "reduced_mu"].sort_values("step")
                omega = gd[gd["metric"] == "reduced_omega"].sort_values("step")
                colour = SIGN_COLOURS[float(np.sign(omega["value"].iloc[-1]))]
                ax.plot(omega["predicted"], mu["predicted"], "--", color="k", lw=1.0, label="flow of L̃ (predicted)")
                ax.plot(omega["value"], mu["value"], "-", color=colour, lw=1.4, label="full-batch GD")
                sgd = path[(path["method"] == "sgd") & (path["batch"] == largest)]
                ax.plot(
                    sgd[sgd["metric"] == "reduced_omega"].sort_values("step")["value"],
                    sgd[sgd["metric"] == "reduced_mu"].sort_values("step")["value"],
                    "-",
                    color=colour,
                    lw=0.6,
                    alpha=0.5,
                    label=f"SGD, batch {largest:g}",
                )
                ax.plot(omega["value"].iloc[0], mu["value"].iloc[0], "ko", ms=3, label="start (step 0)")
            ax.set_title(f"L={length}, seed {seed}", fontsize=8)
            ax.tick_params(labelsize=6)
            if i == len(lengths) - 1:
                ax.set_xlabel(r"$\omega_h$", fontsize=8)
            if j == 0:
                ax.set_ylabel(r"$\mu_h$", fontsize=8)
    figure_legend(fig, axes, ncols=4)
    return save(fig, out_dir, "reduced_dynamics.png")


def adam_paths(table: pd.DataFrame, out_dir: Path) -> Path:
    """The full 2-head model's Adam path per training length: |ω_h| and μ_h against step for every seed, solid
    when the flow from its initialisation predicted ± heads, dotted when it predicted a stall."""
    rows = table[(table["metric"].isin(["omega_path", "mu_path"])) & (table["heads"] == 2)]
    outcomes = stall_outcomes(table)
    lengths, seeds = _grid(rows)
    fig, axes = panels(2, len(lengths), sharex=False, sharey="row")
    fig.set_size_inches(4.0 * len(lengths), 5.6)
    for j, length in enumerate(lengths):
        for seed in seeds:
            predicted = bool(outcomes.loc[(length, seed), "predicted"]) if (length, seed) in outcomes.index else False
            style = ":" if predicted else "-"
            label = "flow predicted a stall" if predicted else "flow predicted ± heads"
            for _, path in rows[(rows["train_length"] == length) & (rows["seed"] == seed)].groupby("head"):
                omega = path[path["metric"] == "omega_path"].sort_values("step")
                mu = path[path["metric"] == "mu_path"].sort_values("step")
                colour = SIGN_COLOURS[float(np.sign(omega["value"].iloc[-1]))]
                axes[0, j].plot(omega["step"], omega["value"].abs(), style, color=colour, lw=0.9, label=label)
                axes[1, j].plot(mu["step"], mu["value"], style, color=colour, lw=0.9, label=label)
        axes[0, j].set(title=f"Adam, L={length}", ylabel=r"$|\omega_h|$")
        axes[1, j].set(xlabel="step", ylabel=r"$\mu_h$")
    for sign, name in ((1.0, "head ending with ω > 0"), (-1.0, "head ending with ω < 0")):
        axes[0, 0].plot([], [], "-", color=SIGN_COLOURS[sign], label=name)
    figure_legend(fig, axes, ncols=4)
    return save(fig, out_dir, "adam_paths.png")
