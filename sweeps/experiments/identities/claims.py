"""The checks the identities claims share: an identity to fp64 round-off, an identity beside a contrasting case
that must not satisfy it, and the scopes and tolerances they rest on."""

from __future__ import annotations

from collections.abc import Callable

import pandas as pd

from attnbench.sweeps.experiments.base import Scope, Tolerance, Verdict

FP64_TOLERANCE = 1e-10
# A "gap" (a variant that must NOT satisfy an identity) counts when it is at least this large: far above fp64
# round-off, so the difference cannot be numerical noise.
GAP_THRESHOLD = 1e-3
FP64 = Tolerance(
    f"{FP64_TOLERANCE:g} relative",
    "cut-off",
    "fp64 round-off of these sums measures 1e-16 to 1e-13 and an algebraic mistake gives 1e-2 or more; "
    "the threshold sits between them, three orders above the round-off",
)
FP64_AND_GAP = Tolerance(
    f"{FP64_TOLERANCE:g}; gap ≥ {GAP_THRESHOLD:g}",
    "cut-off",
    "identity to fp64 round-off (1e-16 to 1e-13 measured); the contrasting case must differ by "
    "a margin far above round-off",
)


def metric_scope(*metrics: str, cells: tuple[str, ...] = ("seed", "size", "variant")) -> Scope:
    """The rows of ``metrics``, one cell per (seed, size, variant) unless ``cells`` says otherwise."""
    return Scope(
        cells=cells,
        where={"metric": metrics},
        reason=f"the claim is about {', '.join(metrics)} (the rows of its own identity)",
    )


def values(rows: pd.DataFrame, metric: str) -> pd.Series:
    """The measured values of ``metric``."""
    return rows.loc[rows["metric"] == metric, "value"].astype(float)


def errors_at_most(
    *metrics: str, tolerance: float = FP64_TOLERANCE, predicted: str = "0 (exact identity)"
) -> Callable[[pd.DataFrame], Verdict]:
    """Check (one cell): the largest value of every metric is ≤ ``tolerance`` (NaN fails)."""

    def check(rows: pd.DataFrame) -> Verdict:
        worst = {m: values(rows, m).max() for m in metrics}
        passed = all(v <= tolerance for v in worst.values())  # NaN compares False
        measured = ", ".join(f"{m}: max {v:.2e}" for m, v in worst.items())
        return Verdict("pass" if passed else "fail", predicted, measured, f"≤ {tolerance:g} relative")

    return check


def identity_with_gap(identity: str, gap: str) -> Callable[[pd.DataFrame], Verdict]:
    """Check (one cell): ``identity`` holds to fp64 round-off while ``gap`` (the contrast) ≥ `GAP_THRESHOLD`."""

    def check(rows: pd.DataFrame) -> Verdict:
        exact, contrast = values(rows, identity).max(), values(rows, gap).min()
        passed = exact <= FP64_TOLERANCE and contrast >= GAP_THRESHOLD
        return Verdict(
            "pass" if passed else "fail",
            f"{identity} = 0; {gap} > 0",
            f"{identity}: {exact:.2e}; {gap}: {contrast:.3g}",
            f"≤ {FP64_TOLERANCE:g}; ≥ {GAP_THRESHOLD:g}",
        )

    return check
