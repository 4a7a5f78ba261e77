"""Seed summaries and statistical comparisons shared by the MQAR and state-tracking claims and figures.

Presentation code (not part of the runs' code fingerprint, `attnbench.sweeps.fingerprint`): editing a claim's
statistics never makes a stored run stale. Every comparison is Welch's two-sample t-test over seeds
(``scipy.stats.ttest_ind(equal_var=False)``), or the paired t-test (``scipy.stats.ttest_rel``) where the same
seeds are measured on both sides, at the suite's false-failure rate
(`attnbench.sweeps.experiments.base.FALSE_FAILURE_RATE`), Bonferroni-split over the comparisons of one cell.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np
import pandas as pd
from scipy import stats

from attnbench.sweeps.experiments.base import FALSE_FAILURE_RATE

# The "learns" / "solves" gate on a seed-mean accuracy: an arbitrary cut-off (basis ``cut-off``, flagged).
GATE = 0.9
ROUND_OFF = 1e-12  # a standard error below this is seeds that agree exactly (t-tests lose all precision)
# A seed's learning curve has settled once it stays within this of its final accuracy: an arbitrary cut-off, not
# a ledger tolerance (it only words the notes of failing cells). The binomial standard error of one validation
# estimate at the quick profiles is 0.006-0.044 (MQAR 384-1536 scored tokens, state tracking 128 for parity and
# modular arithmetic, ≈3200 for S3); where it exceeds the cut-off a flat but noisy curve reads as not saturated.
PLATEAU = 0.02
Alternative = Literal["two-sided", "less", "greater"]


def distinct_seeds(rows: pd.DataFrame, keys: list[str]) -> pd.DataFrame:
    """``rows`` without repeats of one measurement: the same cell (``keys``), seed, lr and value stored by two
    runs (e.g. a plain run beside the jobs of a sweep that covers the same cells) counts once."""
    subset = [c for c in (*keys, "metric", "seed", "lr", "value") if c in rows.columns]
    return rows.drop_duplicates(subset=subset)


def seed_summary(rows: pd.DataFrame, keys: list[str]) -> pd.DataFrame:
    """Per group of ``keys``: the seed mean of ``value``, its seed standard deviation (0 for a single seed),
    the standard error of the mean sem = std/√n, and the number of seeds n."""
    out = rows.groupby(keys)["value"].agg(mean="mean", std="std", n="count").reset_index()
    out["std"] = out["std"].fillna(0.0)
    out["sem"] = out["std"] / np.sqrt(out["n"])
    return out


def accuracies(rows: pd.DataFrame, metric: str, keys: list[str]) -> pd.DataFrame:
    """The per-seed values of ``metric``, one measurement per (``keys``, seed)."""
    return distinct_seeds(rows[rows["metric"] == metric], keys)


@dataclass(frozen=True)
class Comparison:
    """Welch's t-test of mean(a) − mean(b) over seeds.

    ``significant``: the test rejects at ``level`` (``alternative`` as in scipy: ``less`` = a below b).
    ``detectable``: the smallest difference of means that would be significant at this level with the
    measured spreads and seed counts (the critical t times the standard error of the difference).
    """

    difference: float
    pvalue: float
    level: float
    detectable: float

    @property
    def significant(self) -> bool:
        return self.pvalue < self.level


def above_chance(accuracy: float, tokens: float, chance: float) -> bool:
    """A seed's accuracy on ``tokens`` scored tokens is significantly above ``chance``: one-sided binomial test
    (scipy.stats.binomtest) at `FALSE_FAILURE_RATE`."""
    test = stats.binomtest(round(accuracy * tokens), int(tokens), chance, alternative="greater")
    return bool(test.pvalue < FALSE_FAILURE_RATE)


def compare(a: Sequence[float], b: Sequence[float], alternative: Alternative, comparisons: int = 1) -> Comparison:
    """Welch's t-test of ``a`` against ``b`` at `FALSE_FAILURE_RATE` / ``comparisons`` (Bonferroni).

    When both samples have no spread (seeds that agree, up to round-off) the difference is exact: it is
    significant exactly when it is non-zero in the tested direction.
    """
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    if min(len(a), len(b)) < 2:
        raise ValueError(f"a t-test needs at least 2 seeds per side, got {len(a)} and {len(b)}")
    level = FALSE_FAILURE_RATE / comparisons
    difference = float(a.mean() - b.mean())
    se = float(np.sqrt(a.var(ddof=1) / len(a) + b.var(ddof=1) / len(b)))
    if se <= ROUND_OFF:
        return _exact(difference, alternative, level)
    result = stats.ttest_ind(a, b, equal_var=False, alternative=alternative)
    tail = level / 2 if alternative == "two-sided" else level
    return Comparison(difference, float(result.pvalue), level, float(stats.t.ppf(1 - tail, result.df) * se))


def compare_paired(
    a: Sequence[float], b: Sequence[float], alternative: Alternative, comparisons: int = 1
) -> Comparison:
    """The paired t-test of ``a`` against ``b`` (entry i of both from the same seed) at `FALSE_FAILURE_RATE` /
    ``comparisons``: a test of the mean of the differences a − b. Differences that agree exactly (up to
    round-off) make the difference exact, as in `compare`."""
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    if len(a) != len(b) or len(a) < 2:
        raise ValueError(f"a paired t-test needs two equal samples of at least 2 seeds, got {len(a)} and {len(b)}")
    level = FALSE_FAILURE_RATE / comparisons
    differences = a - b
    difference = float(differences.mean())
    se = float(differences.std(ddof=1) / np.sqrt(len(differences)))
    if se <= ROUND_OFF:
        return _exact(difference, alternative, level)
    result = stats.ttest_rel(a, b, alternative=alternative)
    tail = level / 2 if alternative == "two-sided" else level
    return Comparison(difference, float(result.pvalue), level, float(stats.t.ppf(1 - tail, len(a) - 1) * se))


def _exact(difference: float, alternative: Alternative, level: float) -> Comparison:
    """A difference measured without spread: significant exactly when it is non-zero in the tested direction."""
    toward = {
        "two-sided": abs(difference) > ROUND_OFF,
        "less": difference < -ROUND_OFF,
        "greater": difference > ROUND_OFF,
    }[alternative]
    return Comparison(difference, 0.0 if toward else 1.0, level, 0.0)


def shown(comparison: Comparison) -> str:
    """A comparison as text: the difference, its p-value and the smallest detectable difference."""
    return (
        f"Δ {comparison.difference:+.3f} (p={comparison.pvalue:.2g}, level {comparison.level:.2g}, "
        f"detectable |Δ| ≥ {comparison.detectable:.3f})"
    )


def selected_curves(table: pd.DataFrame, cell: Sequence[str], metric: str = "val_accuracy_curve") -> pd.DataFrame:
    """The ``metric`` learning-curve rows of the lr each (model, *cell*, seed) selected: the lr its ``test_accuracy``
    rows carry (`attnbench.sweeps.token_training.select_learning_rate` scores only that one), of the scored
    stage only where the rows carry a ``stage`` (an lr search on calibration seeds is never scored); a point
    stored by two runs counts once. A seed scored at two lrs (two runs that selected differently) is dropped:
    its curve is ambiguous."""
    keys = ["model", *cell, "seed", *(["stage"] if "stage" in table.columns else [])]
    chosen = table.loc[table["metric"] == "test_accuracy", [*keys, "lr"]].drop_duplicates()
    chosen = chosen[~chosen.duplicated(keys, keep=False)]
    curves = table[table["metric"] == metric].drop_duplicates([*keys, "lr", "step"])
    return curves.merge(chosen, on=[*keys, "lr"])


@dataclass(frozen=True)
class SeedCurve:
    """One seed's validation learning curve, read against the `PLATEAU` cut-off.

    ``settled_at``: the earliest recorded step from which every later point lies within `PLATEAU` of the
    final accuracy (None: only the final point does); ``half``: the last recorded step at or below half of
    training (None: no such step, or fewer than two points); ``last``: the final step; ``change``: the accuracy
    gained from ``half`` to ``last`` (NaN without ``half``). Points that are not finite are left out."""

    seed: int
    settled_at: int | None
    half: int | None
    last: int
    change: float

    @property
    def saturated(self) -> bool:
        """Settled over the whole second half of training, while the lr of
        `attnbench.sweeps.token_training.warmup_cosine` (10% warm-up) is still ≥ 0.59 × its peak; a curve that
        settles only later may be flattening because the lr decays to 0."""
        return self.half is not None and self.settled_at is not None and self.settled_at <= self.half

    def describe(self) -> str:
        """The seed's settling step (or "not settled") and its change over the second half, as text."""
        settled = f"settled from step {self.settled_at}" if self.settled_at is not None else "not settled"
        if self.half is None:
            return f"seed {self.seed} {settled}; too short to judge"
        return f"seed {self.seed} {settled}, {self.change:+.3f} over steps {self.half}→{self.last}"


def half_step(steps: np.ndarray) -> int | None:
    """The last recorded step at or below half of training (the last of ``steps``); None if there is none."""
    early = steps[steps <= steps.max() / 2]
    return int(early.max()) if len(early) else None


def seed_curve(seed: int, curve: pd.Series) -> SeedCurve:
    """``curve``: one seed's accuracies indexed by step (at least one finite point)."""
    curve = curve[np.isfinite(curve.to_numpy(dtype=float))].sort_index()
    steps, values = curve.index.to_numpy(dtype=int), curve.to_numpy(dtype=float)
    within = np.abs(values - values[-1]) <= PLATEAU + ROUND_OFF
    first = len(within) - int(np.argmin(within[::-1])) if not within.all() else 0
    settled = int(steps[first]) if first < len(steps) - 1 else None
    half = half_step(steps) if len(steps) >= 2 else None
    if half is None:
        return SeedCurve(seed, settled, None, int(steps[-1]), float("nan"))
    return SeedCurve(seed, settled, half, int(steps[-1]), float(values[-1] - values[steps == half][0]))


def saturation(
    rows: pd.DataFrame,
    cell: Sequence[str],
    model: str,
    where: Mapping[str, object] | None = None,
    metric: str = "val_accuracy_curve",
) -> str:
    """Whether ``model``'s ``metric`` learning curves at its selected lr (`selected_curves`) saturated, as text:
    when every seed did (`SeedCurve.saturated`), the step by which the last one settled; otherwise every seed's
    settling step and its change over the second half of training (`SeedCurve.describe`). The curves are those
    of the rows matching ``where``."""
    if not {"lr", "step", "seed"} <= set(rows.columns):
        return f"{model}: no learning curve stored"
    curves = selected_curves(rows, cell, metric)
    curves = curves[(curves["model"] == model) & np.isfinite(curves["value"])]
    for column, value in (where or {}).items():
        curves = curves[curves[column] == value]
    if curves.empty:
        return f"{model}: no learning curve stored"
    seeds = [seed_curve(int(s), group.set_index("step")["value"]) for s, group in curves.groupby("seed")]
    if all(c.saturated for c in seeds):
        return (
            f"{model} curves saturated (every seed within {PLATEAU} of its final accuracy from step "
            f"{max(c.settled_at or 0 for c in seeds)} of {max(c.last for c in seeds)})"
        )
    return (
        f"{model} curves not saturated (within {PLATEAU} of the final accuracy: "
        + "; ".join(c.describe() for c in seeds)
        + ")"
    )
