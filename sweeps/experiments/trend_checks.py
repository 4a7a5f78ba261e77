"""A check shared by the dynamics families: a gap to a prediction falls as a size grows (a larger batch, a
longer context), judged per consecutive pair of sizes by a one-sided t-test on the per-seed log gaps at the
suite's false-failure rate."""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats

from attnbench.sweeps.experiments.base import FALSE_FAILURE_RATE, Verdict


def gap_shrinks(rows: pd.DataFrame, by: str, *, paired: bool, what: str = "the gap to the flow") -> Verdict:
    """Per seed (``seed``) and size (column ``by``), ``value`` is one gap. For each size and the next, the gaps
    at the larger size are smaller: one-sided paired t-test of the log gaps (``scipy.stats.ttest_rel``) when
    the sizes share each seed's starting point, else Welch's (``ttest_ind``, unequal variances), each at level
    `FALSE_FAILURE_RATE`."""
    gaps = np.log(rows.pivot_table(index="seed", columns=by, values="value"))
    sizes = sorted(gaps.columns)
    pvalues = []
    for small, large in zip(sizes[:-1], sizes[1:], strict=True):
        if paired:
            result = stats.ttest_rel(gaps[small], gaps[large], alternative="greater")
        else:
            result = stats.ttest_ind(gaps[small].dropna(), gaps[large].dropna(), equal_var=False, alternative="greater")
        pvalues.append(float(result.pvalue))
    ok = bool(pvalues) and all(p < FALSE_FAILURE_RATE for p in pvalues)
    test = "paired" if paired else "Welch"
    means = ", ".join(f"{by}={s:g}: {np.exp(gaps[s]).mean():.3g}" for s in sizes)
    return Verdict(
        "pass" if ok else "fail",
        f"{what} falls as {by} grows",
        f"mean gap {means}; p = {', '.join(f'{p:.2g}' for p in pvalues)} (n={len(gaps)} seeds)",
        f"one-sided {test} t-test on log gaps, p < {FALSE_FAILURE_RATE:g} per pair",
    )
