"""Claims of the local-convergence study (TF-as-SVM; official ``local_converge`` notebook, notes A3, A5).

alpha is the tokens selected at the last step, as in the notebook, so "W(k) aligns with W^mm_alpha" is a
statement about the direction GD takes to the tokens it selects; whether alpha = opt is reported beside.
"""

from __future__ import annotations

import pandas as pd
from scipy import stats

from attnbench.sweeps.experiments.att_svm.common_claims import (
    LEVEL,
    SOURCE_TF,
    metric_rows,
    per_seed,
    sign_test,
    sign_test_minimum,
    study,
)
from attnbench.sweeps.experiments.att_svm.figures import CORR_FIGURE
from attnbench.sweeps.experiments.att_svm.notebook import NOTEBOOK_CORR_AT_1000, NOTEBOOK_STEP
from attnbench.sweeps.experiments.base import Claim, KnownFailure, Tolerance, Verdict

OWN_SVM = {"W": "corr_fro", "KQ": "corr_nuc"}  # abstract (1): W -> Frobenius W^mm, (K, Q) -> nuclear W^mm_*
OTHER_SVM = {"W": "corr_nuc", "KQ": "corr_fro"}
SIGN_TOLERANCE = Tolerance(
    f"one-sided sign test, level {LEVEL:g}",
    "derived",
    f"scipy.stats.binomtest(k, n, 1/2, alternative='greater') over the runs of the cell: "
    f"passes when p <= {LEVEL:g}; it needs >= {sign_test_minimum()} runs, all in the "
    "predicted direction, to pass at all",
)


def _param(rows: pd.DataFrame) -> str:
    return str(rows["param"].iloc[0])


def check_w_corr_fro(rows: pd.DataFrame) -> Verdict:
    """Mean corr(W(1000), W^mm_alpha) over the W runs is not below the notebook's 0.99 (one-sided one-sample
    t-test: it fails when the runs are significantly below 0.99)."""
    values = per_seed(rows, "corr_fro", NOTEBOOK_STEP)
    predicted = f"≈ {NOTEBOOK_CORR_AT_1000} at step {NOTEBOOK_STEP} (not below)"
    if len(values) < 2:
        return Verdict(
            "fail",
            predicted,
            f"{len(values)} runs recorded at step {NOTEBOOK_STEP}",
            note="it needs >= 2 runs recorded at step 1000 (params.local_converge.steps >= 1000, "
            "record_every dividing 1000)",
        )
    test = stats.ttest_1samp(values, NOTEBOOK_CORR_AT_1000, alternative="less")
    sem = float(stats.sem(values))
    band = float(stats.t.ppf(1 - LEVEL, len(values) - 1)) * sem
    return Verdict(
        "pass" if test.pvalue > LEVEL else "fail",
        predicted,
        f"{values.mean():.4f} ± {sem:.4f} (sem, {len(values)} runs); t = {test.statistic:.2f}, p = {test.pvalue:.2g}",
        f"mean > 0.99 − {band:.3f} (t-test band: the smallest shortfall it detects at 50% power)",
    )


def check_corr_converges(rows: pd.DataFrame) -> Verdict:
    """1 - corr(W(k), own SVM) is smaller at the last step than half-way, in more runs than chance."""
    param = _param(rows)
    metric = rows[rows["metric"] == OWN_SVM[param]]
    last = int(metric["step"].max())
    steps = pd.Series(sorted(metric["step"].unique()))
    mid = int(steps.iloc[(steps - last / 2).abs().argmin()])
    p, text = sign_test(1 - per_seed(rows, OWN_SVM[param], last), 1 - per_seed(rows, OWN_SVM[param], mid))
    return Verdict(
        "pass" if p <= LEVEL else "fail", f"1 − {OWN_SVM[param]} falls from step {mid} to {last}", f"{param}: {text}"
    )


def check_kq_corr_nuc(rows: pd.DataFrame) -> Verdict:
    """At the last step each parameterisation is closer to its own SVM than to the other one (sign test)."""
    param = _param(rows)
    own, other = per_seed(rows, OWN_SVM[param]), per_seed(rows, OTHER_SVM[param])
    p, text = sign_test(1 - own, 1 - other)
    return Verdict(
        "pass" if p <= LEVEL else "fail",
        f"{param}: corr {OWN_SVM[param]} > corr {OTHER_SVM[param]}",
        f"{OWN_SVM[param]} {own.mean():.4f}, {OTHER_SVM[param]} {other.mean():.4f}; {text}",
    )


def check_softmax_concentration(rows: pd.DataFrame) -> Verdict:
    """Mean softmax mass on the selected tokens at the last step is >= 0.99."""
    mass = metric_rows(rows, "selected_prob")["value"]
    return Verdict(
        "pass" if mass.mean() >= 0.99 else "fail",
        ">= 0.99",
        f"{_param(rows)}: {mass.mean():.6f} (min {mass.min():.6f}, {len(mass)} runs)",
    )


def check_local_optimality(rows: pd.DataFrame) -> Verdict:
    """Every W run's final selection alpha is feasible and locally optimal (its support tokens score lower)."""
    local = per_seed(rows, "locally_optimal")
    opt = per_seed(rows, "alpha_is_opt")
    return Verdict(
        "pass" if len(local) and local.min() == 1 else "fail",
        "every run",
        f"{local.mean():.3f} of {len(local)} runs (alpha = opt in {opt.mean():.3f})",
        note="support tokens: margin within 1e-6 of 1 under W^mm_alpha",
    )


PAPER_STUCK_RUN = 73  # the paper-size run (seed 0, 100 runs, 2000 steps) documented in the known failure


def _only_run_73_at_paper_size(rows: pd.DataFrame) -> bool:
    local = per_seed(rows, "locally_optimal")
    return (
        set(local[local < 1].index) == {PAPER_STUCK_RUN}
        and set(rows["p.local_converge.runs"]) == {100}
        and set(rows["p.local_converge.steps"]) == {2000}
    )


LOCAL_CLAIMS = (
    Claim(
        "att_svm.w_corr_fro",
        "W-trained attention reaches corr(W, W^mm_α) ≈ 0.99 with the Frobenius Att-SVM "
        "at the selected tokens after 1000 iterations",
        f"{SOURCE_TF}, official local_converge notebook (stored plot, W trajectory)",
        "reported",
        study("local_converge", param=("W",), reason="W-trained runs, the plotted trajectory"),
        Tolerance(
            f"t-test, one-sided, level {LEVEL:g}",
            "derived",
            "scipy.stats.ttest_1samp(corr at step 1000, "
            "0.99, alternative='less') over the runs: fails when the mean is significantly below 0.99 "
            "(band t_{0.99, n-1} x sem); one-sided because the notebook value is a plot reading of "
            "'reaches about 0.99', which a higher mean does not contradict",
        ),
        check_w_corr_fro,
        CORR_FIGURE,
    ),
    Claim(
        "att_svm.corr_converges",
        "corr(W(k), its own SVM) keeps rising: W toward the Frobenius W^mm_α, KQ^T toward the nuclear W^mm_⋆,α",
        f"{SOURCE_TF}, abstract (2): W(k)/||W(k)|| → W^mm_α/||W^mm_α|| (W only, "
        "under conditions the notebook's random init does not ensure); abstract (1) for (K, Q)",
        "theorem",
        study("local_converge", ("param",)),
        SIGN_TOLERANCE,
        check_corr_converges,
        CORR_FIGURE,
    ),
    Claim(
        "att_svm.kq_corr_nuc",
        "(K,Q)-trained attention aligns with the nuclear-norm Att-SVM⋆, W with the Frobenius one",
        f"{SOURCE_TF}, abstract (1) (regularisation path); the GD version is empirical",
        "theorem",
        study("local_converge", ("param",)),
        SIGN_TOLERANCE,
        check_kq_corr_nuc,
        CORR_FIGURE,
    ),
    Claim(
        "att_svm.softmax_concentration",
        "softmax concentrates on the selected tokens (mass ≥ 0.99)",
        "derived: α is the final attention argmax, so the mass on it is high by construction once ||W|| grows",
        "consistency",
        study("local_converge", ("param",)),
        Tolerance("mean ≥ 0.99", "cut-off", "an arbitrary level of saturation"),
        check_softmax_concentration,
        CORR_FIGURE,
    ),
    Claim(
        "att_svm.local_optimality",
        "the tokens GD selects satisfy the local-optimality conditions (notes A2)",
        f"{SOURCE_TF}, abstract (1): GD can converge to locally optimal directions; the definition is notes A2",
        "theorem",
        study(
            "local_converge",
            param=("W",),
            reason="local optimality is defined through the Frobenius W^mm_α, the W parameterisation's SVM",
        ),
        Tolerance("exact (every run)", "derived", "the theorem's statement is about every run"),
        check_local_optimality,
        known_failure=KnownFailure(
            _only_run_73_at_paper_size,
            "paper size (100 runs, 2000 steps): 99/100; run "
            "73 holds a token whose support neighbour scores 0.008 higher (softmax ≈ 1) "
            "until it escapes between steps 2000 and 3000; the statement is asymptotic "
            "and the escape is slow when the score gap is small",
        ),
    ),
)
