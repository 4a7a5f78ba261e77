"""Helpers shared by the Scan and Snap claims: a section's scope, a metric's rows, and the statistical tests.

Every claim receives only its own study's rows: its scope restricts the column ``section``.
"""

from __future__ import annotations

import pandas as pd
from scipy import stats

from attnbench.sweeps.experiments.base import Scope


def section_scope(*sections: str, cells: tuple[str, ...] = (), metrics: tuple[str, ...] = ()) -> Scope:
    """The rows of ``sections`` (and of ``metrics`` when given), split into ``cells``."""
    where: dict[str, tuple] = {"section": sections}
    if metrics:
        where["metric"] = metrics
    studies = " and ".join(sections)
    return Scope(cells=cells, where=where, reason=f"the claim is about the {studies} study (its rows only)")


def metric(rows: pd.DataFrame, name: str) -> pd.DataFrame:
    """The rows of metric ``name``."""
    return rows[rows["metric"] == name]


def welch_decrease(before: pd.Series, after: pd.Series, level: float) -> tuple[bool, float, float]:
    """One-sided Welch t-test (scipy.stats.ttest_ind, unequal variances) of mean(before) > mean(after).

    Returns (significant at ``level``, p-value, the smallest decrease the test detects at this size: the
    critical value times the standard error of the difference, i.e. a decrease found with probability ½).
    """
    test = stats.ttest_ind(before, after, equal_var=False, alternative="greater")
    se = (before.var(ddof=1) / len(before) + after.var(ddof=1) / len(after)) ** 0.5
    return bool(test.pvalue < level), float(test.pvalue), float(stats.t.ppf(1 - level, test.df) * se)
