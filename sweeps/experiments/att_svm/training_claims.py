"""Claims of the over-parameterisation, nonlinear-head, joint-training and single-input studies
(TF-as-SVM and Max-Margin Token Selection; notes A2-A5)."""

from __future__ import annotations

import pandas as pd
from scipy import stats

from attnbench.sweeps.experiments.att_svm.common_claims import (
    LEVEL,
    SOURCE_MM,
    SOURCE_TF,
    metric_rows,
    per_seed,
    sign_test,
    sign_test_minimum,
    study,
)
from attnbench.sweeps.experiments.att_svm.figures import JOINT_FIGURE, NONLINEAR_FIGURE, OVERPARAM_FIGURE
from attnbench.sweeps.experiments.att_svm.notebook import NOTEBOOK_DIR
from attnbench.sweeps.experiments.base import Claim, KnownFailure, Tolerance, Verdict

GAPS = ("one_minus_corr_eq", "one_minus_corr_dir", "one_minus_corr_1token")
TIE = 1e-9  # 1 - corr values this close are the same SVM (one selected token: W^dir = W^1token)
FEW_RUNS = 10  # accepted runs at the largest d below which the quick profile's trend test is underpowered


def _fisher_p(hi_hits: int, hi_runs: int, lo_hits: int, lo_runs: int) -> float:
    table = [[hi_hits, hi_runs - hi_hits], [lo_hits, lo_runs - lo_hits]]
    return float(stats.fisher_exact(table, alternative="greater").pvalue)


def check_overparam(rows: pd.DataFrame) -> Verdict:
    """More runs select opt at the largest d than at the smallest (one-sided Fisher exact test)."""
    hits = rows.groupby("d")["value"].agg(["sum", "count"]).astype(int)
    (lo_hits, lo_runs), (hi_hits, hi_runs) = hits.iloc[0], hits.iloc[-1]
    p = _fisher_p(hi_hits, hi_runs, lo_hits, lo_runs)
    needed = next((k for k in range(lo_hits, hi_runs + 1) if _fisher_p(k, hi_runs, lo_hits, lo_runs) <= LEVEL), None)
    shown = ", ".join(f"d={int(d)}: {r['sum'] / r['count']:.2f}" for d, r in hits.iterrows())
    return Verdict(
        "pass" if p <= LEVEL else "fail",
        "fraction at opt rises with d",
        f"{shown} (of {lo_runs} runs each); Fisher p = {p:.2g}",
        f"p <= {LEVEL:g}: detects a rise from {lo_hits}/{lo_runs} to >= {needed}/{hi_runs}",
    )


def _final_gaps(rows: pd.DataFrame) -> pd.DataFrame:
    """1 - corr with each target at the last step, one row per accepted run."""
    gaps = rows[rows["metric"].isin(GAPS)]
    gaps = gaps[gaps["step"] == gaps["step"].max()]
    return gaps.pivot_table(index="seed", columns="metric", values="value")


def _accepted(rows: pd.DataFrame) -> str:
    accepted = per_seed(rows, "accepted")
    return f"d = {int(rows['d'].iloc[0])}: {int(accepted.sum())}/{len(accepted)} runs accepted"


def check_nonlinear_svmeq(rows: pd.DataFrame) -> Verdict:
    """The fitted SVM-eq is on average no farther from W than W^dir or the one-token SVM."""
    gaps = _final_gaps(rows)
    predicted = "mean gap eq ≤ dir and eq ≤ 1token"
    if gaps.empty:
        return Verdict("fail", predicted, _accepted(rows), note="no accepted run")
    eq, direction, one = (gaps[m].mean() for m in GAPS)
    return Verdict(
        "pass" if eq <= direction and eq <= one else "fail",
        predicted,
        f"{_accepted(rows)}; eq {eq:.4f}, dir {direction:.4f}, 1token {one:.4f}",
    )


def check_nonlinear_dir(rows: pd.DataFrame) -> Verdict:
    """W^dir (no fitted scalar) is closer to W than the one-token SVM in more runs than chance (sign test)."""
    gaps = _final_gaps(rows)
    predicted = "1 − corr(W, W^dir) < 1 − corr(W, W^1token)"
    if gaps.empty:
        return Verdict("fail", predicted, _accepted(rows), note="no accepted run")
    p, text = sign_test(gaps["one_minus_corr_dir"], gaps["one_minus_corr_1token"], ties=TIE)
    return Verdict(
        "pass" if p <= LEVEL else "fail",
        predicted,
        f"{_accepted(rows)}; dir {gaps['one_minus_corr_dir'].mean():.4f}, 1token "
        f"{gaps['one_minus_corr_1token'].mean():.4f}; {text}",
    )


def _too_few_multi_token_runs(rows: pd.DataFrame) -> bool:
    """Fewer informative (multi-token) runs than the sign test needs, and none where W^1token is closer."""
    gaps = _final_gaps(rows)
    diff = gaps["one_minus_corr_1token"] - gaps["one_minus_corr_dir"] if not gaps.empty else pd.Series(dtype=float)
    informative = diff[diff.abs() > TIE]
    return len(informative) < sign_test_minimum() and bool((informative > 0).all())


def check_nonlinear_falls_with_d(rows: pd.DataFrame) -> Verdict:
    """1 - corr(W, W^dir) at the last step is larger at the smallest d than at the largest (Mann-Whitney)."""
    gaps = rows[rows["metric"] == "one_minus_corr_dir"]
    gaps = gaps[gaps["step"] == gaps["step"].max()]
    ds = sorted(gaps["d"].unique())
    predicted = ", ".join(f"d={d}: {v}" for d, v in NOTEBOOK_DIR.items()) + " (notebook): falls with d"
    if len(ds) < 2:
        return Verdict("fail", predicted, f"accepted runs at {len(ds)} dimension(s)")
    lo, hi = (gaps[gaps["d"] == d]["value"] for d in (ds[0], ds[-1]))
    p = float(stats.mannwhitneyu(lo, hi, alternative="greater").pvalue)
    shown = ", ".join(f"d={int(d)}: {g['value'].mean():.4f} ({len(g)} runs)" for d, g in gaps.groupby("d"))
    return Verdict("pass" if p <= LEVEL else "fail", predicted, f"{shown}; Mann-Whitney p = {p:.2g}")


def _few_runs_at_largest_d(rows: pd.DataFrame) -> bool:
    """The largest d has fewer than `FEW_RUNS` accepted runs (the notebook keeps 500 per d)."""
    gaps = rows[rows["metric"] == "one_minus_corr_dir"]
    gaps = gaps[gaps["step"] == gaps["step"].max()]
    return not gaps.empty and int((gaps["d"] == gaps["d"].max()).sum()) < FEW_RUNS


def check_joint(rows: pd.DataFrame) -> Verdict:
    """Joint (v, p) training: corr(v, v^mm) and corr(p, p^relax) >= 0.99 at the last step."""
    cv, cp = (float(metric_rows(rows, m)["value"].iloc[0]) for m in ("corr_v", "corr_p"))
    support = int(metric_rows(rows, "corr_v")["support_inputs"].iloc[0])
    return Verdict(
        "pass" if min(cv, cp) >= 0.99 else "fail",
        "corr_v, corr_p ≥ 0.99",
        f"{support}/3 support inputs: corr_v {cv:.5f}, corr_p {cp:.5f}",
    )


def check_single_input(rows: pd.DataFrame) -> Verdict:
    """Global instance: every start selects opt; local instance: some start selects the locally optimal token;
    every final p aligned with the p^mm of its selected token."""
    instance = str(rows["instance"].iloc[0])
    at_opt = per_seed(rows, "selected_is_opt")
    corr = per_seed(rows, "corr_p_mm_selected")
    selection_ok = at_opt.min() == 1 if instance == "global" else at_opt.min() == 0
    predicted = (
        "every start → opt" if instance == "global" else "some start → the local token"
    ) + "; corr(p, p^mm(selected)) ≥ 0.99"
    return Verdict(
        "pass" if selection_ok and corr.min() >= 0.99 else "fail",
        predicted,
        f"{instance}: {at_opt.mean():.2f} of {len(at_opt)} starts at opt; min corr {corr.min():.4f}",
    )


NONLINEAR_SCOPE = study("nonlinear", ("d",))
TRAINING_CLAIMS = (
    Claim(
        "att_svm.overparam",
        "the fraction of runs converging to the globally optimal tokens rises with d",
        f"expected from {SOURCE_TF}, abstract (3): over-parameterisation makes the SVM feasible and the landscape "
        "benign; that a paper figure shows the rise is recalled [unverified], not in the official code (notes A3)",
        "theorem",
        study("overparam"),
        Tolerance(
            f"Fisher exact test, one-sided, level {LEVEL:g}",
            "derived",
            "scipy.stats.fisher_exact on (hits, misses) at the largest vs the smallest d, alternative='greater'",
        ),
        check_overparam,
        OVERPARAM_FIGURE,
    ),
    Claim(
        "att_svm.nonlinear_svmeq",
        "nonlinear head: the fitted SVM-eq W^fin + R·W^dir is no farther from W(k) than W^dir or the one-token SVM",
        f"{SOURCE_TF}, official multi_token_converge notebook (stored plot); SVM-eq naming unverified",
        "consistency",
        NONLINEAR_SCOPE,
        Tolerance(
            "mean comparison, no margin",
            "derived",
            "consistency, not a test of the theorem: R is fitted "
            "by least squares to the final iterate, and W^fin and the selected sets are read off its "
            "softmax, so the comparison is built from the iterate it is compared with",
        ),
        check_nonlinear_svmeq,
        NONLINEAR_FIGURE,
    ),
    Claim(
        "att_svm.nonlinear_dir",
        "nonlinear head: the multi-token direction W^dir (no fitted scalar) describes "
        "W(k) better than the one-token SVM",
        f"{SOURCE_TF}, SVM equivalence for nonlinear heads (abstract (4)); official multi_token_converge notebook",
        "theorem",
        NONLINEAR_SCOPE,
        Tolerance(
            f"one-sided sign test, level {LEVEL:g}",
            "derived",
            "scipy.stats.binomtest over the accepted "
            f"runs where the two targets differ (|Δ| > {TIE:g}; a run with one selected token has "
            f"W^dir = W^1token); needs >= {sign_test_minimum()} such runs",
        ),
        check_nonlinear_dir,
        NONLINEAR_FIGURE,
        known_failure=KnownFailure(
            _too_few_multi_token_runs,
            "too few runs select several tokens for the sign "
            "test (it needs 7): quick profile, d = 10: 5 of 300 runs accepted, 2 with "
            "several selected tokens, W^dir closer in both (0.0031 vs 0.0926 mean); at "
            "d = 4: 37 of 41 informative runs, p < 1e-7",
        ),
    ),
    Claim(
        "att_svm.nonlinear_falls_with_d",
        "nonlinear head: 1 − corr(W, W^dir) at the last step falls with d",
        f"{SOURCE_TF}, official multi_token_converge notebook (stored plot)",
        "reported",
        study("nonlinear"),
        Tolerance(
            f"Mann-Whitney U, one-sided, level {LEVEL:g}",
            "derived",
            "scipy.stats.mannwhitneyu of the "
            "accepted runs' gaps at the smallest vs the largest d, alternative='greater'",
        ),
        check_nonlinear_falls_with_d,
        NONLINEAR_FIGURE,
        known_failure=KnownFailure(
            _few_runs_at_largest_d,
            "too few accepted runs at the largest d: quick "
            "profile, d = 10: 5 of 300 runs pass the notebook's rejection rules (it keeps "
            "500 per d); the mean falls 16x (0.0492 at d = 4, 48 runs, to 0.0031) and "
            "the median 3.5x, but the heavy-tailed d = 4 runs overlap the five d = 10 "
            "runs: Mann-Whitney p = 0.056",
        ),
        tiny="the tiny profile compares d = 4 with d = 6 after 1000 steps (19 and 14 accepted runs, Mann-Whitney "
        "p = 0.18); the notebook's trend is d = 4 to 10 after 2000 steps, which the quick profile runs",
    ),
    Claim(
        "att_svm.joint_training",
        "joint (v, p) training converges to v^mm and the relaxed p^mm",
        f"{SOURCE_MM}, joint training (paper figure and official joint_training notebook)",
        "theorem",
        study("joint", ("instance",)),
        Tolerance(
            "corr ≥ 0.99",
            "cut-off",
            "directional convergence is logarithmically slow; 0.99 is an arbitrary finite-time level",
        ),
        check_joint,
        JOINT_FIGURE,
    ),
    Claim(
        "att_svm.single_input",
        "single input: the global token from every start (γ3 = 0.9), or a locally optimal one from some (γ3 = 0)",
        f"{SOURCE_MM}, official single_input_converge notebook; local optimality derived (notes A2)",
        "theorem",
        study("single_input", ("instance",)),
        Tolerance(
            "exact selection counts; corr ≥ 0.99",
            "cut-off",
            "the counts are exact; the 0.99 alignment level is arbitrary",
        ),
        check_single_input,
    ),
)
