"""Summaries of the lla_bias_variance table shared by its claims and its figure (presentation: the run never
imports this module)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats

ESTIMATORS = ("global_linear", "nadaraya_watson", "local_linear")


def tuned_imse(table: pd.DataFrame, estimator: str, region: str = "uniform") -> pd.DataFrame:
    """Per (seed, n): IMSE on the region's test points at the bandwidth minimising its seed average for that n
    (oracle tuning; the global-linear estimator has no bandwidth and is scored on the uniform set)."""
    metric = "imse_uniform" if estimator == "global_linear" else f"imse_{region}"
    subset = table[(table.estimator == estimator) & (table.metric == metric)]
    if estimator == "global_linear":
        return subset[["seed", "n", "value"]]
    mean_by_h = subset.groupby(["n", "bandwidth"]).value.mean()
    best = mean_by_h.groupby(level="n").idxmin().map(lambda index: index[1])
    chosen = subset[subset.bandwidth.to_numpy() == subset.n.map(best).to_numpy()]
    return chosen[["seed", "n", "value"]]


@dataclass(frozen=True)
class Slope:
    """A fitted log-log slope with its standard error and residual degrees of freedom."""

    slope: float
    stderr: float
    dof: int

    def half_width(self, level: float, sides: int) -> float:
        """The Student-t half-width t_{1 − level/sides, dof} · stderr."""
        return float(stats.t.ppf(1 - level / sides, self.dof) * self.stderr)


def log_log_slope(n: pd.Series, value: pd.Series) -> Slope:
    """scipy.stats.linregress of log ``value`` on log ``n`` over every (seed, n) point: the seeds are
    independent draws at each n, so the residuals are independent."""
    fit = stats.linregress(np.log(n.astype(float)), np.log(value))
    return Slope(float(fit.slope), float(fit.stderr), len(n) - 2)
