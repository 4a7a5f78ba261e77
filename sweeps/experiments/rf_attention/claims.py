"""The claims of the rf_attention family (Fu, Guo, Bai & Mei 2023, arXiv 2307.11353; notes D1).

The paper's theorem constants and simulation settings are [not found], so the rates are derived from the
model's definition and its infinite-head kernel; the directions of the non-zero-mean and RF-MLP effects are the
paper's abstract. Each claim receives the rows of its own study (the ``section`` column). The seeds are the
replicates of every statistical check: scipy.stats t-tests over seeds at level `FALSE_FAILURE_RATE`, with
their sidedness stated; the smallest effect a check can detect at the stored size is shown in its verdict.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats

from attnbench.sweeps.experiments.base import FALSE_FAILURE_RATE, Claim, Scope, Tolerance, Verdict
from attnbench.sweeps.experiments.rf_attention.params import slope_window

PREDICTED_GAP_SLOPE = -0.5
PERMUTATION_TOLERANCE = 1e-12
# GD against its closed-form trajectory: the same fp64 iterates computed two ways; round-off accumulates over the
# steps, and this allowance sits orders above it (a cut-off).
TRAJECTORY_TOLERANCE = 1e-8
FIGURE = "rf_attention.png"
GD_FIGURE = "gd_trajectory.png"
SOURCE_DERIVED = "derived (from the model definition; Fu et al. 2023 constants [not found])"
LEVEL = f"{FALSE_FAILURE_RATE:.0%}"


def select(table: pd.DataFrame, metric: str, model: str = "rfa") -> pd.DataFrame:
    """The rows of ``metric`` for ``model``."""
    return table[(table.metric == metric) & (table.model == model)]


def _study(section: str) -> Scope:
    return Scope(
        where={"section": (section,)},
        reason=f"the rows of the {section} study (one cell: the seeds are the replicates of its check)",
    )


def check_gd_trajectory(rows: pd.DataFrame) -> Verdict:
    """Every recorded train and test risk of GD equals the closed-form trajectory's, to `TRAJECTORY_TOLERANCE`."""
    gaps = ((rows["value"] - rows["predicted"]).abs() / rows["predicted"].abs()).groupby(rows["metric"]).max()
    worst = float(gaps.max())
    final = rows[rows["step"] == rows["step"].max()].groupby("metric")["value"].mean()
    return Verdict(
        "pass" if worst <= TRAJECTORY_TOLERANCE else "fail",
        "v_t = Q diag((1 − (1 − 2sμ)^t)/μ) Qᵀ b at every step",
        f"worst relative gap {worst:.2g} over {rows['step'].nunique()} steps "
        f"(final risk: train {final.get('gd_train_risk', np.nan):.3g}, test {final.get('gd_test_risk', np.nan):.3g})",
        f"≤ {TRAJECTORY_TOLERANCE:g} relative",
    )


def _detectable(values: pd.Series, sides: int, level: float = FALSE_FAILURE_RATE) -> float:
    """The smallest mean effect a t-test over these seeds rejects at ``level`` (``sides`` 1 or 2)."""
    return float(stats.t.ppf(1 - level / sides, len(values) - 1) * stats.sem(values))


def _greater(differences: pd.Series, level: float = FALSE_FAILURE_RATE) -> tuple[float, float]:
    """(p, smallest detectable mean at ``level``) of the one-sided t-test over seeds that the mean of the paired
    ``differences`` is > 0 (scipy.stats.ttest_1samp)."""
    pvalue = stats.ttest_1samp(differences, 0.0, alternative="greater").pvalue
    return float(pvalue), _detectable(differences, 1, level)


def gap_slopes(rows: pd.DataFrame) -> pd.Series:
    """Per seed, the scipy.stats.linregress slope of log KRR gap against log M on the `slope_window` heads."""
    gaps = select(rows, "krr_gap")
    window = slope_window(sorted(gaps.heads.unique().tolist()))
    gaps = gaps[gaps.heads.isin(window)]
    return gaps.groupby("seed").apply(lambda g: stats.linregress(np.log(g.heads), np.log(g.value)).slope)


def check_krr_limit(rows: pd.DataFrame) -> Verdict:
    """The seed-mean slope is not distinguishable from -1/2: two-sided one-sample t-test (scipy.stats.ttest_1samp)
    at level `FALSE_FAILURE_RATE`."""
    slopes = gap_slopes(rows)
    test = stats.ttest_1samp(slopes, PREDICTED_GAP_SLOPE)
    window = slope_window(sorted(rows.heads.dropna().unique().tolist()))
    return Verdict(
        "pass" if test.pvalue >= FALSE_FAILURE_RATE else "fail",
        f"slope {PREDICTED_GAP_SLOPE}",
        f"slope {slopes.mean():.3f} ± {slopes.std(ddof=1):.3f} (sd, {len(slopes)} seeds; fit on "
        f"M ∈ {[int(m) for m in window]}); p = {test.pvalue:.2g}; detects |slope + 1/2| ≥ "
        f"{_detectable(slopes, 2):.3f}",
        f"two-sided {LEVEL} t-test",
    )


def check_error_vs_heads(rows: pd.DataFrame) -> Verdict:
    """From the smallest to the largest M, per seed: the test error falls and its distance to the KRR error
    shrinks; each a one-sided paired t-test at level `FALSE_FAILURE_RATE`."""
    errors = select(rows, "test_error")
    value = errors.pivot(index="seed", columns="heads", values="value")
    excess = (value - errors.pivot(index="seed", columns="heads", values="predicted")).abs()
    first, last = value.columns.min(), value.columns.max()
    p_error, d_error = _greater(value[first] - value[last])
    p_excess, d_excess = _greater(excess[first] - excess[last])
    ok = max(p_error, p_excess) < FALSE_FAILURE_RATE
    return Verdict(
        "pass" if ok else "fail",
        "error(M) falls; |error(M) − KRR error| shrinks",
        f"error {value[first].mean():.4f} (M={first:g}) -> {value[last].mean():.4f} (M={last:g}), "
        f"p = {p_error:.2g}; |excess over KRR| {excess[first].mean():.4f} -> {excess[last].mean():.4f}, "
        f"p = {p_excess:.2g}; detects drops ≥ {d_error:.2g} (error), ≥ {d_excess:.2g} (excess)",
        f"one-sided paired {LEVEL} t-tests",
    )


def check_error_vs_samples(rows: pd.DataFrame) -> Verdict:
    """Each step of the n grid lowers the log test error of RFA (fixed M) and of KRR: one-sided paired t-tests
    at level `FALSE_FAILURE_RATE` each."""
    worst, parts = 0.0, []
    for model in ("rfa", "krr"):
        errors = np.log(select(rows, "test_error", model).pivot(index="seed", columns="train_size", values="value"))
        tests = [_greater(errors[a] - errors[b]) for a, b in zip(errors.columns[:-1], errors.columns[1:], strict=True)]
        pvalues = [p for p, _ in tests]
        detectable = max(d for _, d in tests)
        worst = max(worst, *pvalues)
        means = ", ".join(f"n={n:g}: {v:.4f}" for n, v in np.exp(errors).mean().items())
        parts.append(f"{model.upper()} {means} (max p {max(pvalues):.2g}; detects log drops ≥ {detectable:.2g})")
    return Verdict(
        "pass" if worst < FALSE_FAILURE_RATE else "fail",
        "decreasing in n",
        " | ".join(parts),
        f"one-sided paired {LEVEL} t-test per step of n",
    )


def check_permutation_invariance(rows: pd.DataFrame) -> Verdict:
    """f(X) is exactly invariant to permuting the keys (up to fp64 summation order)."""
    worst = float(select(rows, "max_relative_change").value.max())
    return Verdict(
        "pass" if worst <= PERMUTATION_TOLERANCE else "fail", "0", f"{worst:.2e}", f"≤ {PERMUTATION_TOLERANCE:.0e}"
    )


def check_nonzero_mean(rows: pd.DataFrame) -> Verdict:
    """On the even target some mean c > 0 has a lower error than c = 0: one-sided paired t-tests, one per c > 0,
    at the Bonferroni level `FALSE_FAILURE_RATE` / (number of c > 0), so choosing c costs nothing."""
    errors = select(rows, "test_error")
    even = errors[errors.target_power % 2 == 0].pivot(index="seed", columns="weight_mean", values="value")
    means = [c for c in even.columns if c > 0]
    level = FALSE_FAILURE_RATE / len(means)
    tests = {c: _greater(even[0.0] - even[c], level) for c in means}
    best = min(tests, key=lambda c: tests[c][0])
    (pvalue, detectable), gain = tests[best], even[0.0] - even[best]
    return Verdict(
        "pass" if pvalue < level else "fail",
        "error(c) < error(0) for some c > 0 (direction: paper abstract)",
        f"c=0: {even[0.0].mean():.3f}, c={best:g}: {even[best].mean():.3f} (gain {gain.mean():.3f} ± "
        f"{stats.sem(gain):.3f} s.e., p = {pvalue:.2g}; detects gains ≥ {detectable:.2g})",
        f"one-sided paired t-test at {level:.2g} per c (Bonferroni over {len(means)})",
    )


def check_beats_rf_mlp(rows: pd.DataFrame) -> Verdict:
    """At equal feature count: log(error RF-MLP / error RFA) > 0 at the largest N, and larger at the largest N
    than at the smallest; one-sided t-tests over seeds at level `FALSE_FAILURE_RATE` each."""
    errors = rows[rows.metric == "test_error"].pivot_table(index="seed", columns=["keys", "model"], values="value")
    ratio = np.log(errors.xs("rf_mlp", axis=1, level="model") / errors.xs("rfa", axis=1, level="model"))
    first, last = ratio.columns.min(), ratio.columns.max()
    (p_beats, d_beats), (p_grows, d_grows) = _greater(ratio[last]), _greater(ratio[last] - ratio[first])
    shown = ", ".join(f"N={n:g}: {v:.1f}" for n, v in np.exp(ratio).mean().items())
    return Verdict(
        "pass" if max(p_beats, p_grows) < FALSE_FAILURE_RATE else "fail",
        "RFA < RF-MLP at the largest N; ratio RF-MLP/RFA larger at the largest N than at the smallest",
        f"ratio {shown}; p(beats) = {p_beats:.2g}, p(grows) = {p_grows:.2g}; detects log ratios "
        f"≥ {d_beats:.2g} (beats), log-ratio growth ≥ {d_grows:.2g}",
        f"one-sided {LEVEL} t-tests of the log ratio over seeds",
    )


def _t_test(sides: str, what: str) -> Tolerance:
    return Tolerance(
        f"{LEVEL} {sides} t-test",
        "derived",
        f"scipy.stats.ttest_1samp over seeds of {what}; the verdict shows p and the smallest detectable effect",
    )


CLAIMS = (
    Claim(
        "rf_attention.krr_limit",
        "RFA ridge approaches kernel ridge as M grows, gap ~ M^{-1/2}",
        SOURCE_DERIVED,
        "theorem",
        _study("heads"),
        Tolerance(
            f"{LEVEL} two-sided t-test",
            "derived",
            "scipy.stats.ttest_1samp of the per-seed linregress slopes against -1/2; the fit window (the "
            "larger half of params.heads.grid, past M (d+1) = n) is a rule fixed before running, not read off "
            "the curve; no allowance for pre-asymptotic curvature",
        ),
        check_krr_limit,
        FIGURE,
    ),
    Claim(
        "rf_attention.error_vs_heads",
        "test error falls in M and approaches the KRR error",
        SOURCE_DERIVED,
        "theorem",
        _study("heads"),
        _t_test("one-sided paired", "the error and its excess at the smallest vs the largest M"),
        check_error_vs_heads,
        FIGURE,
    ),
    Claim(
        "rf_attention.error_vs_samples",
        "test error falls in n (RFA at fixed M and KRR)",
        SOURCE_DERIVED,
        "theorem",
        _study("samples"),
        _t_test("one-sided paired", "the log error at consecutive n"),
        check_error_vs_samples,
        FIGURE,
    ),
    Claim(
        "rf_attention.permutation_invariance",
        "the layer is exactly invariant to permuting the keys",
        "derived; stated by Fu et al. 2023 (abstract)",
        "consistency",
        _study("permutation"),
        Tolerance(
            f"{PERMUTATION_TOLERANCE:g} relative",
            "cut-off",
            "fp64 summation-order round-off (~1e-16 per operation); the bound needs the terms' "
            "cancellation, which is not stored",
        ),
        check_permutation_invariance,
    ),
    Claim(
        "rf_attention.nonzero_mean",
        "non-zero-mean W beats zero mean on an even correlation target",
        "Fu et al. 2023 (abstract: direction only; magnitude and best c [not found])",
        "theorem",
        _study("mean"),
        _t_test("one-sided paired (Bonferroni over c)", "error(0) − error(c)"),
        check_nonzero_mean,
        FIGURE,
    ),
    Claim(
        "rf_attention.beats_rf_mlp",
        "RFA beats an RF-MLP with equal feature count, more so as N grows",
        "Fu et al. 2023 (abstract: sample-complexity gain; our sizes)",
        "theorem",
        _study("keys"),
        _t_test("one-sided", "log(error RF-MLP / error RFA)"),
        check_beats_rf_mlp,
        FIGURE,
    ),
    Claim(
        "rf_attention.gd_trajectory",
        "the values trained by full-batch GD follow the closed-form trajectory: train and test risk at every step",
        "derived (the layer is linear in its values: GD on the ridge objective has a closed form)",
        "consistency",
        Scope(
            cells=("seed",),
            where={"section": ("gd",)},
            reason="the rows of the gd study",
        ),
        Tolerance(f"{TRAJECTORY_TOLERANCE:g} relative", "cut-off", "fp64 round-off of the same iterates, two ways"),
        check_gd_trajectory,
        GD_FIGURE,
    ),
)
