"""The MQAR figure: accuracy vs width per mixer, one line per K, with each mixer's capacity prediction
(Arora et al. 2024, Fig. 2 layout; the capacity from `attnbench.theory.recall_capacity`)."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd

from attnbench.sweeps.experiments.mqar.claims import KEYS, RECALLS
from attnbench.sweeps.plotting import chance_and_oracle, figure_legend, panels, save, seed_range
from attnbench.sweeps.token_claims import accuracies, seed_summary
from attnbench.sweeps.token_figures import learning_curves, mixer_order

NAMES = {
    "softmax": "softmax attention",
    "linear": "linear attention (identity)",
    "linear_elu": "linear attention (elu+1)",
    "lla": "LLA",
    "sigmoid": "sigmoid attention",
    "deltanet": "DeltaNet",
    "gated_linear": "gated linear attention",
    "random_feature": "random-feature attention",
}
COLUMNS = 4


def summary(table: pd.DataFrame) -> pd.DataFrame:
    """Test accuracy per (model, width, kv_pairs): mean, seed standard deviation, standard error, n."""
    return seed_summary(accuracies(table, "test_accuracy", KEYS), KEYS)


def _capacity_widths(table: pd.DataFrame, model: str, pairs: list[int]) -> dict[int, float] | None:
    """Per K: the width at which ``model``'s state starts to hold K pairs (capacity ∝ width); ``{}`` for a
    growing cache (every stored capacity infinite), None where no capacity is stored or it is mixed."""
    own = table[(table["model"] == model) & (table["metric"] == "test_accuracy")]
    per_width = own.groupby("width")["capacity"].first().dropna() if "capacity" in own else pd.Series(dtype=float)
    if per_width.empty:
        return None
    if all(math.isinf(c) for c in per_width):
        return {}
    if not all(math.isfinite(c) for c in per_width):
        return None
    pairs_per_width = float((per_width / per_width.index.to_series()).iloc[0])
    return {k: k / pairs_per_width for k in pairs}


def draw(table: pd.DataFrame, out_dir: Path) -> list[Path]:
    """Accuracy vs width, one panel per mixer on shared axes, one colour per K: the seed mean with its 95%
    bootstrap interval (dots: the seeds; outcomes are often bimodal), chance, oracle and the claims' recall gate;
    for a mixer with a fixed-size state a dotted line per K at the width where the state starts to hold K pairs
    (recall should fail to its left). Writes ``accuracy.png`` and the learning curves."""
    seeds = accuracies(table, "test_accuracy", KEYS)
    models = mixer_order(seeds["model"], NAMES)
    widths = sorted(seeds["width"].unique())
    pairs = sorted(seeds["kv_pairs"].unique())
    rows = -(-len(models) // COLUMNS)
    fig, axes = panels(rows, min(COLUMNS, len(models)), sharex=True, sharey=True)
    chance = table["chance"].dropna().max() if "chance" in table else np.nan
    for ax in axes.flat[len(models) :]:
        ax.set_visible(False)
    for ax, model in zip(axes.flat, models, strict=False):
        ax.set_xscale("log", base=2)
        for i, kv in enumerate(pairs):
            own = seeds[(seeds["model"] == model) & (seeds["kv_pairs"] == kv)]
            if not own.empty:
                shift = 0.02 * (i - (len(pairs) - 1) / 2)
                seed_range(ax, own, "width", rf"$K={kv}$ pairs", shift=shift, interval="bootstrap", color=f"C{i}")
        capacity = _capacity_widths(table, model, pairs)
        drawn = [kv for kv in (capacity or {}) if widths[0] / 1.4 <= capacity[kv] <= widths[-1] * 1.4]
        for kv in drawn:
            label = "width whose state holds $K$ pairs (capacity; colour: $K$)"
            ax.axvline(capacity[kv], color=f"C{pairs.index(kv)}", lw=1.0, ls=":", label=label)
        if capacity == {}:
            ax.annotate("no fixed-size state", (0.5, 0.06), xycoords="axes fraction", ha="center", fontsize=7)
        elif capacity and not drawn:
            ax.annotate("state holds every $K$ here", (0.5, 0.06), xycoords="axes fraction", ha="center", fontsize=7)
        chance_and_oracle(ax, chance)
        ax.axhline(RECALLS, color="C3", lw=0.8, ls="-.", label=f"recall gate of the claims ({RECALLS:g})")
        ax.set(
            xlabel=r"model width $d$",
            ylabel="test accuracy (query tokens)",
            title=NAMES.get(model, model),
            ylim=(-0.02, 1.05),
        )
    first = axes.flat[0]
    first.set_xticks(widths, [str(w) for w in widths])
    first.set_xlim(widths[0] / 1.4, widths[-1] * 1.4)
    first.minorticks_off()
    figure_legend(fig, axes, ncols=3)
    return [save(fig, out_dir, "accuracy.png"), learning_curves(table, ("width", "kv_pairs"), NAMES, out_dir)]
