"""The MQAR figure: accuracy vs width per mixer, one line per K (Arora et al. 2024, Fig. 2 layout)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from attnbench.sweeps.experiments.mqar.claims import KEYS
from attnbench.sweeps.plotting import chance_and_oracle, figure_legend, panels, save, seed_range
from attnbench.sweeps.token_claims import GATE, accuracies, seed_summary
from attnbench.sweeps.token_figures import learning_curves

NAMES = {"softmax": "softmax attention", "linear": "linear attention", "lla": "LLA"}


def summary(table: pd.DataFrame) -> pd.DataFrame:
    """Test accuracy per (model, width, kv_pairs): mean, seed standard deviation, standard error, n."""
    return seed_summary(accuracies(table, "test_accuracy", KEYS), KEYS)


def draw(table: pd.DataFrame, out_dir: Path) -> list[Path]:
    """Accuracy vs width, one panel per mixer on shared axes, one colour per K (seed mean, bars: the seed
    range, dots: the seeds; outcomes are often bimodal), chance, oracle and the claims' recall gate, one
    legend; each recurrent state's size beside the largest K (the capacity prediction). Writes ``accuracy.png``."""
    seeds = accuracies(table, "test_accuracy", KEYS)
    models = list(dict.fromkeys(seeds["model"]))
    widths = sorted(seeds["width"].unique())
    pairs = sorted(seeds["kv_pairs"].unique())
    fig, axes = panels(1, len(models), sharex=True, sharey=True)
    chance = table["chance"].dropna().max() if "chance" in table else np.nan
    for ax, model in zip(axes[0], models, strict=True):
        ax.set_xscale("log")
        for i, kv in enumerate(pairs):
            own = seeds[(seeds["model"] == model) & (seeds["kv_pairs"] == kv)]
            if not own.empty:
                seed_range(ax, own, "width", rf"$K={kv}$ pairs", shift=0.02 * (i - (len(pairs) - 1) / 2), color=f"C{i}")
        chance_and_oracle(ax, chance)
        ax.axhline(GATE, color="C3", lw=0.8, ls="-.", label=f"recall gate of the claims ({GATE:g})")
        ax.set(
            xlabel=r"model width $d$",
            ylabel="test accuracy (query tokens)",
            title=NAMES.get(model, model),
            ylim=(-0.02, 1.05),
        )
        states = table.loc[table["model"] == model].groupby("width")["state_size"].max().dropna()
        if len(states):  # the capacity prediction: recall degrades only once K exceeds the state
            ax.annotate(
                f"state {', '.join(f'{s:.0f}' for s in states)} floats $> K = {max(pairs)}$: capacity not reached",
                (0.5, 0.1),
                xycoords="axes fraction",
                ha="center",
                fontsize=7,
                color="grey",
            )
        trained = sorted(seeds.loc[seeds["model"] == model, "width"].unique())
        if len(trained) < len(widths):
            ax.annotate(
                f"trained at $d = {', '.join(map(str, trained))}$ only",
                (0.5, 0.5),
                xycoords="axes fraction",
                ha="center",
                fontsize=8,
                color="grey",
            )
    axes[0, 0].set_xticks(widths, [str(w) for w in widths])
    axes[0, 0].set_xlim(widths[0] / 1.4, widths[-1] * 1.4)
    axes[0, 0].minorticks_off()
    figure_legend(fig, axes, ncols=3)
    return [save(fig, out_dir, "accuracy.png"), learning_curves(table, ("width", "kv_pairs"), NAMES, out_dir)]
