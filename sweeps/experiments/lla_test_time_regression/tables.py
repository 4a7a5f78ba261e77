"""Summaries of the lla_test_time_regression table shared by its claims and figures (presentation: the run never
imports this module). Every summary is a position-weighted mean of the stored half-segment means, so it equals
the mean over the positions it covers."""

from __future__ import annotations

import pandas as pd

KEYS = ["segment_length", "dim"]


def halves(rows: pd.DataFrame) -> pd.DataFrame:
    """The ``mse_half`` rows (per seed, estimator, segment and half)."""
    return rows[rows.metric == "mse_half"]


def weighted_mse(rows: pd.DataFrame, index: list[str]) -> pd.DataFrame:
    """Per ``index`` (and seed): each estimator's MSE over the positions of the matching halves (columns =
    estimators), weighting each half by its number of positions."""
    rows = halves(rows).assign(weighted=lambda t: t.value * t.positions)
    sums = rows.groupby([*index, "seed", "estimator"])[["weighted", "positions"]].sum()
    return (sums.weighted / sums.positions).unstack("estimator")


def overall_mse(rows: pd.DataFrame) -> pd.DataFrame:
    """Per (S, d, seed): each estimator's MSE over every scored position t = 1..L−1."""
    return weighted_mse(rows, KEYS)


def segment_mse(rows: pd.DataFrame) -> pd.DataFrame:
    """Per (S, d, segment, seed): each estimator's MSE over the segment."""
    return weighted_mse(rows, [*KEYS, "segment"])
