"""The lla_bias_variance figure: tuned IMSE vs n per estimator, with the predicted slopes and the global-linear
prediction (theory beside measurement)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from attnbench.sweeps.experiments.lla_bias_variance.claims import EXPONENTS, FIGURE
from attnbench.sweeps.experiments.lla_bias_variance.tables import ESTIMATORS, tuned_imse
from attnbench.sweeps.plotting import legend_outside, plt, save

NAMES = {"global_linear": "global linear", "nadaraya_watson": "Nadaraya-Watson", "local_linear": "local linear"}


def draw(table: pd.DataFrame, out_dir: Path) -> list[Path]:
    """One log-log panel from the stored table alone."""
    dim = int(table.dim.iloc[0])
    fig, ax = plt.subplots(figsize=(7.2, 3.8), layout="constrained")
    for name in ESTIMATORS:
        mean = tuned_imse(table, name).groupby("n").value.mean()
        line = ax.loglog(mean.index, mean.to_numpy(), marker="o", label=f"{NAMES.get(name, name)} (measured)")[0]
        if name in EXPONENTS:
            boundary = tuned_imse(table, name, "boundary").groupby("n").value.mean()
            ax.loglog(
                boundary.index,
                boundary.to_numpy(),
                marker="x",
                linestyle="-.",
                color=line.get_color(),
                label=f"{NAMES.get(name, name)}, boundary layer",
            )
            exponent = EXPONENTS[name](dim)
            anchor = mean.iloc[0] * (mean.index / mean.index[0]) ** exponent
            ax.loglog(
                mean.index, anchor, linestyle="--", color=line.get_color(), label=f"theory: $n^{{{exponent:.2f}}}$"
            )
    predicted = table[table.estimator == "global_linear"].groupby("n").predicted.first()
    ax.loglog(predicted.index, predicted.to_numpy(), linestyle=":", color="k", label="theory: global linear")
    ax.set(
        xlabel=r"context length $n$",
        ylabel=r"tuned IMSE against $f$ (seed mean)",
        title=f"LLA bias–variance, $d = {dim}$",
    )
    ax.grid(True, which="both", alpha=0.3)
    legend_outside(ax)
    return [save(fig, out_dir, FIGURE)]
