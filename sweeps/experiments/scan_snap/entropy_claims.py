"""Claims of the Scan and Snap ``entropy`` study: Tian et al. 2023, Fig. 6 (Syn-Medium distinct-token entropy)."""

from __future__ import annotations

import pandas as pd
from scipy import stats

from attnbench.sweeps.experiments.base import FALSE_FAILURE_RATE, Claim, Tolerance, Verdict
from attnbench.sweeps.experiments.scan_snap.claims import section_scope, welch_decrease
from attnbench.sweeps.experiments.scan_snap.params import (
    REPORTED_ENTROPY,
    REPORTED_ENTROPY_SEEDS,
    REPORTED_RATIOS,
    reported_entropy,
)

# Fig. 6 has 4 x 4 x 4 cells; a per-cell level of 0.01/64 keeps the chance that any cell of the full table
# fails while every mean equals the paper's at ≤ 0.01 (Bonferroni), at any subset of the grid.
FIG6_CELLS = len(REPORTED_ENTROPY) * len(REPORTED_ENTROPY[1]) * len(REPORTED_RATIOS)
CELL_LEVEL = FALSE_FAILURE_RATE / FIG6_CELLS


def check_entropy(rows: pd.DataFrame) -> Verdict:
    """Fig. 6 (one cell): our mean entropy equals the reported mean, by a two-sided Welch t-test against the
    paper's own spread (sample SD over its 10 seeds)."""
    values = rows["value"]
    first = rows.iloc[0]
    mean, sd = reported_entropy(int(first["num_classes"]), float(first["lr_z"]), float(first["ratio"]))
    test = stats.ttest_ind_from_stats(
        values.mean(), values.std(ddof=1), len(values), mean, sd, REPORTED_ENTROPY_SEEDS, equal_var=False
    )
    ours, theirs = values.var(ddof=1) / len(values), sd**2 / REPORTED_ENTROPY_SEEDS
    # Welch–Satterthwaite degrees of freedom (ttest_ind_from_stats does not return them).
    df = (ours + theirs) ** 2 / (ours**2 / (len(values) - 1) + theirs**2 / (REPORTED_ENTROPY_SEEDS - 1))
    detectable = stats.t.ppf(1 - CELL_LEVEL / 2, df) * (ours + theirs) ** 0.5
    return Verdict(
        "pass" if test.pvalue >= CELL_LEVEL else "fail",
        f"{mean:.3f} ± {sd:.3f} (sd, n=10)",
        f"{values.mean():.3f} ± {values.std(ddof=1):.3f} (sd, n={len(values)}); p = {test.pvalue:.2f}",
        f"p ≥ {CELL_LEVEL:.2g} (detects |Δ| ≥ {detectable:.3f})",
    )


def check_entropy_trend(rows: pd.DataFrame) -> Verdict:
    """Fig. 6 reading (one K, η_Y/η_Z): the entropy at the smallest η_Z exceeds that at the largest η_Z."""
    by_rate = dict(tuple(rows.groupby("lr_z", sort=True)["value"]))
    low, high = min(by_rate), max(by_rate)
    ok, p, detectable = welch_decrease(by_rate[low], by_rate[high], FALSE_FAILURE_RATE)
    return Verdict(
        "pass" if ok else "fail",
        f"entropy(η_Z={low:g}) > entropy(η_Z={high:g})",
        f"{by_rate[low].mean():.3f} → {by_rate[high].mean():.3f}; p = {p:.1e}",
        f"one-sided Welch p < {FALSE_FAILURE_RATE:g} (detects a drop ≥ {detectable:.3f})",
    )


ENTROPY_CLAIMS = (
    Claim(
        "scan_snap.entropy_trend",
        "distinct-token entropy falls as η_Z grows at fixed η_Y/η_Z",
        "Tian et al. 2023, Fig. 6 (the paper's reading)",
        "reported",
        section_scope("entropy", cells=("num_classes", "ratio")),
        Tolerance(
            f"p < {FALSE_FAILURE_RATE:g}",
            "derived",
            "one-sided Welch t-test (scipy.stats.ttest_ind, equal_var=False) of the smallest vs the "
            "largest η_Z, level 0.01; the smallest drop it detects (with probability ½) is shown",
        ),
        check_entropy_trend,
        "entropy.png",
    ),
    Claim(
        "scan_snap.entropy_table",
        "distinct-token entropy matches the Fig. 6 values",
        "Tian et al. 2023, Fig. 6 [code: figure_6_data.pkl] (metric definition derived)",
        "reported",
        section_scope("entropy", cells=("num_classes", "lr_z", "ratio")),
        Tolerance(
            f"p ≥ {CELL_LEVEL:.2g}",
            "paper",
            "two-sided Welch t-test (scipy.stats.ttest_ind_from_stats) of our seeds against the stored "
            "Fig. 6 mean ± spread [10 seeds]; the spread is the sample SD (pandas Series.std in the "
            "authors' tools2 stats.py MeanStdAggFunc), not a standard error. Level 0.01/64 per cell "
            "(Bonferroni over the 64 cells of Fig. 6): false-failure rate ≤ 0.01 for the table",
        ),
        check_entropy,
        "entropy.png",
    ),
)
