"""What the att_svm claims share: row selection and the scipy.stats tests they use, each returning its
p-value beside the text the ledger shows. Every test is sized for `FALSE_FAILURE_RATE` (1%)."""

from __future__ import annotations

import pandas as pd
from scipy import stats

from attnbench.sweeps.experiments.base import FALSE_FAILURE_RATE, Scope

SOURCE_TF = "Tarzanagh et al. 2023 (TF-as-SVM, arXiv 2308.16898)"
SOURCE_MM = "Tarzanagh et al. 2023a (Max-Margin Token Selection, arXiv 2306.13596)"
LEVEL = FALSE_FAILURE_RATE


def study(name: str, cells: tuple[str, ...] = (), reason: str = "", **where: tuple[object, ...]) -> Scope:
    """The scope of a claim about study ``name``: its rows only (the studies share one table), split into
    ``cells``; a further restriction ``where`` states its ``reason``."""
    shown = f"the {name} study's rows" + (f"; {reason}" if reason else "")
    return Scope(cells=cells, where={"section": (name,), **where}, reason=shown)


def metric_rows(rows: pd.DataFrame, metric: str, step: int | None = None) -> pd.DataFrame:
    """The rows of ``metric`` at ``step`` (None: the last recorded step of that metric)."""
    rows = rows[rows["metric"] == metric]
    if rows.empty:
        return rows
    return rows[rows["step"] == (rows["step"].max() if step is None else step)]


def per_seed(rows: pd.DataFrame, metric: str, step: int | None = None) -> pd.Series:
    """``metric`` at ``step`` indexed by seed (one value per run)."""
    return metric_rows(rows, metric, step).set_index("seed")["value"]


def sign_test(better: pd.Series, worse: pd.Series, *, ties: float = 0.0) -> tuple[float, str]:
    """One-sided sign test (scipy.stats.binomtest, p = 1/2) that ``better < worse`` in more runs than chance,
    pairs within ``ties`` of each other left out. Returns (p, text)."""
    diff = (worse - better).dropna()
    informative = diff[diff.abs() > ties]
    wins = int((informative > 0).sum())
    if informative.empty:
        return 1.0, f"no informative pair of {len(diff)}"
    p = stats.binomtest(wins, len(informative), 0.5, alternative="greater").pvalue
    shown = f"{wins}/{len(informative)} runs (of {len(diff)}) in the predicted direction, sign-test p = {p:.2g}"
    return float(p), shown


def sign_test_minimum(level: float = LEVEL) -> int:
    """The fewest informative pairs with which a one-sided sign test can reach ``level`` (all in one direction)."""
    n = 1
    while 0.5**n > level:
        n += 1
    return n
