"""Claims of the rank study (TF-as-SVM; official ``svm_rank`` notebook, notes A2 and A5).

KKT (notes A2): W^mm = sum_i u_i z_i^T with u_i = sum_t lambda_it (x_{i opt_i} - x_it), and u_i != 0 exactly
for the examples with an active constraint (a support token); with generic z_i, rank(W^mm) = min(a, d) for
the a such examples, so rank <= min(n, d). The notebook's plot reads rank(W^mm) = min(n, d).
"""

from __future__ import annotations

import pandas as pd
from scipy import stats

from attnbench.sweeps.experiments.att_svm.common_claims import LEVEL, SOURCE_TF, study
from attnbench.sweeps.experiments.att_svm.figures import RANK_FIGURE
from attnbench.sweeps.experiments.att_svm.notebook import PAPER_NUCLEAR_RANK_2N
from attnbench.sweeps.experiments.base import Claim, KnownFailure, Tolerance, Verdict

SOLVED = ("rank_fro", "rank_nuc", "active_examples")
SOLVED_REASON = (
    "the ranks of the solved instances (unique opt, feasible SVM); the others are counted in the "
    "rows opt_unique and feasible, as the notebook skips them"
)
NUCLEAR_RANK_NOTE = (
    "measured with Clarabel (interior point) and singular values above 1e-6 x the largest: the nuclear "
    "solution keeps 2-3 non-zero singular values; an SCS solve of the same problems leaves 1e-6..5e-5 "
    "residual singular values that an absolute 1e-7 tolerance (the notebook's matrix_rank) counts, giving 5"
)


def _instances(rows: pd.DataFrame) -> pd.DataFrame:
    """One row per solved instance: columns rank_fro, rank_nuc, active_examples, and d, n."""
    table = rows.pivot_table(index=["d", "seed"], columns="metric", values="value")
    n = rows.groupby("d")["n"].first()
    return table.reset_index().assign(n=lambda t: t["d"].map(n))


def _label(rows: pd.DataFrame) -> str:
    d, n = int(rows["d"].iloc[0]), int(rows["n"].iloc[0])
    return f"n = {n}, d = {d}, min(n, d) = {min(n, d)}"


def check_rank_kkt(rows: pd.DataFrame) -> Verdict:
    """rank(W^mm) = min(a, d) on every solved instance, a = examples with a support token."""
    inst = _instances(rows)
    predicted = inst[["active_examples", "d"]].min(axis=1)
    exact = int((inst["rank_fro"] == predicted).sum())
    return Verdict(
        "pass" if exact == len(inst) else "fail",
        "min(a, d) on every instance",
        f"{_label(rows)}: {exact}/{len(inst)} instances; mean rank {inst['rank_fro'].mean():.2f}, "
        f"mean a {inst['active_examples'].mean():.2f}",
    )


def check_rank_min_nd(rows: pd.DataFrame) -> Verdict:
    """rank(W^mm) = min(n, d) on every solved instance (the notebook's reading)."""
    inst = _instances(rows)
    target = inst[["n", "d"]].min(axis=1)
    exact = int((inst["rank_fro"] == target).sum())
    return Verdict(
        "pass" if exact == len(inst) else "fail",
        "min(n, d) on every instance",
        f"{_label(rows)}: {exact}/{len(inst)} instances; mean rank {inst['rank_fro'].mean():.2f}",
    )


def _short_by_inactive_examples(rows: pd.DataFrame) -> bool:
    """Every instance below min(n, d) has rank = a < min(n, d): an example without any support token."""
    inst = _instances(rows)
    short = inst[inst["rank_fro"] < inst[["n", "d"]].min(axis=1)]
    return not short.empty and bool((short["rank_fro"] == short["active_examples"]).all())


def _at(rows: pd.DataFrame, factor: int) -> pd.DataFrame:
    inst = _instances(rows)
    return inst[inst["d"] == factor * inst["n"]]


def check_rank_nuc_lower(rows: pd.DataFrame) -> Verdict:
    """At d = n the nuclear solution has lower rank than the Frobenius one (one-sided paired t-test)."""
    at = _at(rows, 1)
    predicted = "rank(W^mm_⋆) < rank(W^mm) at d = n"
    if len(at) < 2:
        return Verdict(
            "fail", predicted, f"{len(at)} solved instances at d = n", note="params.rank.dims must contain n"
        )
    test = stats.ttest_rel(at["rank_fro"], at["rank_nuc"], alternative="greater")
    return Verdict(
        "pass" if test.pvalue <= LEVEL else "fail",
        predicted,
        f"n = d = {int(at['n'].iloc[0])}: Frobenius {at['rank_fro'].mean():.2f}, nuclear "
        f"{at['rank_nuc'].mean():.2f} ({len(at)} instances); t = {test.statistic:.2f}, "
        f"p = {test.pvalue:.2g}",
    )


def check_rank_nuc_paper_value(rows: pd.DataFrame) -> Verdict:
    """The notebook's mean rank(W^mm_*) ~ 4.9 at n = 5, d = 10 = 2n, within the plot-reading band."""
    at = _at(rows, 2)
    predicted = f"{PAPER_NUCLEAR_RANK_2N} at d = 2n"
    if at.empty:
        return Verdict("fail", predicted, "no solved instance at d = 2n", note="params.rank.dims must contain 2n")
    mean = float(at["rank_nuc"].mean())
    return Verdict(
        "pass" if abs(mean - PAPER_NUCLEAR_RANK_2N) <= 0.3 else "fail",
        predicted,
        f"{mean:.2f} at n = {int(at['n'].iloc[0])}, d = {int(at['d'].iloc[0])} ({len(at)} instances)",
    )


def _nuclear_keeps_two_or_three(rows: pd.DataFrame) -> bool:
    at = _at(rows, 2)
    return not at.empty and bool(at["rank_nuc"].isin([2, 3]).all())


RANK_CLAIMS = (
    Claim(
        "att_svm.rank_fro",
        "rank(W^mm) = min(#examples with a support token, d) (KKT identity)",
        "derived (KKT, notes A2)",
        "consistency",
        study("rank", ("d",), SOLVED_REASON, metric=SOLVED),
        Tolerance(
            "exact (every instance)",
            "derived",
            "an integer identity; ranks count singular values above 1e-6 x the largest",
        ),
        check_rank_kkt,
        RANK_FIGURE,
    ),
    Claim(
        "att_svm.rank_fro_min_nd",
        "rank(W^mm) = min(n, d) on every instance",
        f"{SOURCE_TF}, official svm_rank notebook (stored plot: W^mm → min(n, d))",
        "reported",
        study("rank", ("d",), SOLVED_REASON, metric=SOLVED),
        Tolerance(
            "exact (every instance)",
            "derived",
            "an integer equality; ranks count singular values above 1e-6 x the largest",
        ),
        check_rank_min_nd,
        RANK_FIGURE,
        known_failure=KnownFailure(
            _short_by_inactive_examples,
            "the rank is min(n, d) only when every example "
            "has a support token: quick profile, d = 3: 17/19 instances (mean 2.89), "
            "d = 5: 18/20 (mean 4.90); each short instance has rank = a < min(n, d), "
            "an example whose constraints are all slack (u_i = 0 in the KKT sum); the "
            "notebook's own mean, 4.9 at n = d = 5, shows the same",
        ),
    ),
    Claim(
        "att_svm.rank_nuc_lower",
        "the nuclear-norm solution has lower rank than W^mm at d = n",
        f"{SOURCE_TF}, official svm_rank notebook (stored plot: 4.4 vs 4.9-5 at n = d = 5)",
        "reported",
        study("rank", (), SOLVED_REASON, metric=SOLVED),
        Tolerance(
            f"paired t-test, one-sided, level {LEVEL:g}",
            "derived",
            "scipy.stats.ttest_rel(rank_fro, rank_nuc, alternative='greater') over the instances at d = n",
        ),
        check_rank_nuc_lower,
        RANK_FIGURE,
    ),
    Claim(
        "att_svm.rank_nuc_paper_value",
        f"mean rank(W^mm_⋆) ≈ {PAPER_NUCLEAR_RANK_2N} at n = 5, d = 10",
        f"{SOURCE_TF}, official svm_rank notebook (stored plot)",
        "reported",
        study("rank", (), SOLVED_REASON, metric=SOLVED),
        Tolerance("± 0.3", "cut-off", "a plot-reading band"),
        check_rank_nuc_paper_value,
        RANK_FIGURE,
        known_failure=KnownFailure(
            _nuclear_keeps_two_or_three,
            f"measured 2.30 at n = 5, d = 10 (quick), not 4.9; every instance has rank 2 or 3: {NUCLEAR_RANK_NOTE}",
        ),
    ),
)
