"""The lla_bias_variance figure: tuned IMSE vs n per estimator, with the predicted slopes and the global-linear
prediction (theory beside measurement)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from attnbench.sweeps.experiments.lla_bias_variance.claims import EXPONENTS, FIGURE
from attnbench.sweeps.experiments.lla_bias_variance.tables import ESTIMATORS, tuned_imse
from attnbench.sweeps.plotting import plt, save


def draw(table: pd.DataFrame, out_dir: Path) -> list[Path]:
    """One log-log panel from the stored table alone."""
    dim = int(table.dim.iloc[0])
    fig, ax = plt.subplots(figsize=(6, 4.5))
    for name in ESTIMATORS:
        mean = tuned_imse(table, name).groupby("n").value.mean()
        line = ax.loglog(mean.index, mean.to_numpy(), marker="o", label=f"{name} (measured)")[0]
        if name in EXPONENTS:
            boundary = tuned_imse(table, name, "boundary").groupby("n").value.mean()
            ax.loglog(boundary.index, boundary.to_numpy(), marker="x", linestyle="-.", color=line.get_color(),
                      label=f"{name}, boundary layer")
            exponent = EXPONENTS[name](dim)
            anchor = mean.iloc[0] * (mean.index / mean.index[0]) ** exponent
            ax.loglog(mean.index, anchor, linestyle="--", color=line.get_color(), label=f"n^{exponent:.2f} (theory)")
    predicted = table[table.estimator == "global_linear"].groupby("n").predicted.first()
    ax.loglog(predicted.index, predicted.to_numpy(), linestyle=":", color="k", label="global linear (theory)")
    ax.set(xlabel="n (context length)", ylabel="tuned IMSE vs f", title=f"LLA bias–variance, d={dim}")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=7)
    return [save(fig, out_dir, FIGURE)]
