"""The MQAR claims (Arora et al. 2024, "Zoology"; Zuo et al. 2025, Sec. 5), judged per cell of the stored table.

Each check gets one cell's rows (`attnbench.sweeps.experiments.base.Scope`) and compares seed-level test
accuracies: the "recalls" gate is a flagged cut-off (`attnbench.sweeps.token_claims.GATE`); every other
comparison is Welch's t-test over seeds at the suite's false-failure rate (`attnbench.sweeps.token_claims`).
"""

from __future__ import annotations

import pandas as pd
from scipy import stats

from attnbench.sweeps.experiments.base import FALSE_FAILURE_RATE, Claim, KnownFailure, Scope, Tolerance, Verdict
from attnbench.sweeps.experiments.mqar.study import PAPER
from attnbench.sweeps.token_claims import GATE, Comparison, accuracies, compare, shown

KEYS = ["model", "width", "kv_pairs"]
WELCH = (
    "one-sided Welch t-test over seeds (scipy.stats.ttest_ind, equal_var=False) at level 0.01, "
    "Bonferroni-split over the comparisons of a cell; the measured column gives the smallest detectable Δ"
)


def _seeds(rows: pd.DataFrame, **cell: object) -> pd.Series:
    """The per-seed test accuracies of the rows matching ``cell`` (column -> value)."""
    seeds = accuracies(rows, "test_accuracy", KEYS)
    for column, value in cell.items():
        seeds = seeds[seeds[column] == value]
    return seeds["value"]


def _text(seeds: pd.Series) -> str:
    """Seed values as text: mean ± std and the seeds (outcomes are often bimodal)."""
    return f"{seeds.mean():.3f}±{seeds.std(ddof=1):.3f} (seeds {', '.join(f'{v:.3f}' for v in seeds)})"


# ---------------------------------------------------------------- mqar.softmax_learns


def _softmax_recalls(rows: pd.DataFrame) -> Verdict:
    """Softmax recalls whenever the pairs fit (Arora et al. 2024, Fig. 2): the seed mean reaches the gate."""
    seeds = _seeds(rows)
    return Verdict("pass" if seeds.mean() >= GATE else "fail", f"≈ 1.0 (gate: seed mean ≥ {GATE})", _text(seeds))


def _under_trained(rows: pd.DataFrame) -> bool:
    """Softmax below the gate at fewer steps than Zoology's, while every seed is above chance (one-sided
    binomial test at 0.01 on the cell's eval_batches · batch_size · K scored query tokens): recall has begun
    but not finished forming, rather than not training at all."""
    test = accuracies(rows, "test_accuracy", KEYS)
    tokens = test["p.eval_batches"] * test["p.batch_size"] * test["kv_pairs"]
    above = [
        stats.binomtest(round(a * n), int(n), chance, alternative="greater").pvalue < FALSE_FAILURE_RATE
        for a, n, chance in zip(test["value"], tokens, test["chance"], strict=True)
    ]
    return bool(rows["p.steps"].max() < PAPER["steps"] and all(above) and test["value"].mean() < GATE)


SOFTMAX_LEARNS = Claim(
    "mqar.softmax_learns",
    "Softmax attention recalls (≈100%) whenever the KV pairs fit in context",
    "Arora et al. 2024 (Zoology), Fig. 2",
    "reported",
    Scope(cells=("width", "kv_pairs"), where={"model": ("softmax",)}, reason="the claim is about softmax"),
    Tolerance(f"seed mean ≥ {GATE}", "cut-off", "Zoology's figure shows ≈1.0; 0.9 is an arbitrary 'recalls' gate"),
    _softmax_recalls,
    figure="accuracy.png",
    known_failure=KnownFailure(
        _under_trained,
        (
            "quick profile (600 steps, one lr, 3 seeds; Zoology trains 50k steps with an lr search): only d=64,K=8 "
            "recalls (1.000±0.000); d=32: K=2 0.829±0.274 (seeds 1.000, 0.514, 0.975), K=8 0.184±0.005; d=64,K=2 "
            "0.687±0.215 (seeds 0.924, 0.504, 0.633), every seed far above chance 1/32. The recall circuit forms at "
            "a seed-dependent step, for several seeds after step 600"
        ),
    ),
    tiny="recall forms after hundreds of steps at d ≥ 32; the ~10 s tiny runs (d ≤ 16, 60 steps) stay near "
    "chance, where the under-training predicate (every seed above chance) cannot hold",
)


# ---------------------------------------------------------------- mqar.linear_degrades


def _linear_degrades(rows: pd.DataFrame) -> Verdict:
    """Linear attention loses accuracy as K outgrows its d×d state (Arora et al. 2024, Sec. 4): at one width,
    accuracy at the fewest pairs exceeds accuracy at the most pairs (one-sided Welch t-test)."""
    pairs = sorted(rows.loc[rows["metric"] == "test_accuracy", "kv_pairs"].unique())
    if len(pairs) < 2:
        return Verdict("fail", "acc(K_min) > acc(K_max)", f"K={pairs}", note="one value of K: no trend to test")
    few, many = _seeds(rows, kv_pairs=pairs[0]), _seeds(rows, kv_pairs=pairs[-1])
    drop = compare(few, many, "greater")
    return Verdict(
        "pass" if drop.significant else "fail",
        f"acc(K={pairs[0]}) > acc(K={pairs[-1]})",
        f"K={pairs[0]}: {_text(few)} → K={pairs[-1]}: {_text(many)}; {shown(drop)}",
    )


def _pairs_fit_the_state(rows: pd.DataFrame) -> bool:
    """The most pairs of the cell do not outgrow the d×d state (K_max ≤ d: a d×d linear memory stores d
    orthogonal key-value pairs exactly), so the cell is outside the claim's regime."""
    return bool(rows["kv_pairs"].max() <= rows["width"].min())


LINEAR_DEGRADES = Claim(
    "mqar.linear_degrades",
    "Linear attention accuracy falls as KV pairs outgrow its d×d state",
    "Arora et al. 2024 (Zoology), Sec. 4",
    "reported",
    Scope(cells=("width",), where={"model": ("linear",)}, reason="the claim is about linear attention"),
    Tolerance("p < 0.01", "derived", f"{WELCH}: Δ > t₀.₉₉,ν · √(s²_few/n + s²_many/n)"),
    _linear_degrades,
    figure="accuracy.png",
    known_failure=KnownFailure(
        _pairs_fit_the_state,
        (
            "quick profile: K ≤ 8 pairs do not outgrow a d² ≥ 1024 state (K_max ≤ d), so these sizes do not reach "
            "the claim's regime; from K=2 to K=8 the mean falls at d=32 (0.833→0.592) and rises at d=64 (0.844→0.936), "
            "and seeds are bimodal (recall formed or not in 600 steps; d=32 seeds 1.000/0.502/0.996 → "
            "0.881/0.178/0.717), so no drop is significant at 3 seeds"
        ),
    ),
)


# ---------------------------------------------------------------- mqar.lla_ge_softmax


def _compared(rows: pd.DataFrame) -> list[int]:
    """The widths of the cell where both LLA and softmax were trained (LLA only up to its max_width)."""
    widths = accuracies(rows, "test_accuracy", KEYS).groupby("width")["model"].agg(set)
    return sorted(w for w, models in widths.items() if {"softmax", "lla"} <= models)


def _lla_vs_softmax(rows: pd.DataFrame) -> list[tuple[int, float, Comparison]]:
    """Per compared width: (width, softmax seed mean, the one-sided test of LLA below softmax)."""
    widths = _compared(rows)
    return [
        (
            w,
            float(_seeds(rows, model="softmax", width=w).mean()),
            compare(
                _seeds(rows, model="lla", width=w),
                _seeds(rows, model="softmax", width=w),
                "less",
                comparisons=len(widths),
            ),
        )
        for w in widths
    ]


def _lla_at_least_softmax(rows: pd.DataFrame) -> Verdict:
    """LLA recalls at least as well as softmax (Zuo et al. 2025, Sec. 5), at one K: at every width where both
    are trained, softmax itself reaches its recall gate (else the comparison is no evidence) and LLA is not
    significantly below it (one-sided Welch t-test, Bonferroni over the widths)."""
    results = _lla_vs_softmax(rows)
    if not results:
        return Verdict("fail", "LLA ≥ softmax", "no width where both LLA and softmax were trained")
    ok = all(soft >= GATE and not test.significant for _, soft, test in results)
    measured = "; ".join(
        f"d={w}: lla {_text(_seeds(rows, model='lla', width=w))} vs softmax "
        f"{_text(_seeds(rows, model='softmax', width=w))}, {shown(test)}"
        for w, _, test in results
    )
    return Verdict(
        "pass" if ok else "fail",
        f"LLA not below softmax, softmax ≥ {GATE}",
        f"{len(results)} width(s) compared: {measured}",
    )


def _softmax_did_not_learn(rows: pd.DataFrame) -> bool:
    """At some compared width softmax is below its own recall gate, and at none is LLA significantly below
    softmax: the cell fails only because the comparison is no evidence."""
    results = _lla_vs_softmax(rows)
    return any(soft < GATE for _, soft, _ in results) and not any(test.significant for _, _, test in results)


LLA_GE_SOFTMAX = Claim(
    "mqar.lla_ge_softmax",
    "LLA recalls at least as well as softmax attention",
    "Zuo et al. 2025, Sec. 5 (MQAR)",
    "reported",
    Scope(
        cells=("kv_pairs",),
        where={"model": ("softmax", "lla")},
        reason="the claim compares LLA with softmax, at every width where both were trained",
    ),
    Tolerance(
        f"p < 0.01; softmax ≥ {GATE}",
        "cut-off",
        f"{WELCH}; the comparison counts only where softmax reaches its arbitrary {GATE} recall gate",
    ),
    _lla_at_least_softmax,
    figure="accuracy.png",
    known_failure=KnownFailure(
        _softmax_did_not_learn,
        (
            "quick profile (600 steps; LLA trained at d = 32 only, its CPU cost): LLA is not below softmax (K=2: "
            "0.999±0.001 vs 0.829±0.274; K=8: 0.462±0.462 vs 0.184±0.005) but softmax is below its own 0.9 recall "
            "gate at both K, so the comparison says LLA learns recall faster at equal steps, not that it matches "
            "softmax's recall plateau"
        ),
    ),
)


# ---------------------------------------------------------------- mqar.state_size


def _linear_gains_with_state(rows: pd.DataFrame) -> Verdict:
    """Linear-attention accuracy is non-decreasing in state size d² (derived: a larger d×d memory stores more
    pairs), at one K: no step to the next width lowers the accuracy significantly (one-sided Welch t-test,
    Bonferroni over the steps)."""
    widths = sorted(rows.loc[rows["metric"] == "test_accuracy", "width"].unique())
    if len(widths) < 2:
        return Verdict("fail", "non-decreasing in d²", f"d={widths}", note="one width: no trend to test")
    steps = [
        compare(_seeds(rows, width=b), _seeds(rows, width=a), "less", comparisons=len(widths) - 1)
        for a, b in zip(widths, widths[1:], strict=False)
    ]
    measured = (
        "; ".join(f"d={w}: {_text(_seeds(rows, width=w))}" for w in widths)
        + "; "
        + "; ".join(f"d={a}→{b}: {shown(s)}" for a, b, s in zip(widths, widths[1:], steps, strict=False))
    )
    weakest = max(s.detectable for s in steps)
    note = f"weak pass: at these seed counts only a drop ≥ {weakest:.2f} could be detected" if weakest > 0.5 else ""
    return Verdict(
        "fail" if any(s.significant for s in steps) else "pass", "accuracy non-decreasing in d²", measured, note=note
    )


STATE_SIZE = Claim(
    "mqar.state_size",
    "Linear-attention MQAR accuracy does not fall as the state size d² grows (non-gating: "
    "fails only on a significant drop)",
    "derived (capacity of a d×d linear memory)",
    "theorem",
    Scope(cells=("kv_pairs",), where={"model": ("linear",)}, reason="the claim is about linear attention"),
    Tolerance("p < 0.01", "derived", f"{WELCH}: a drop > t₀.₉₉,ν · √(s²_a/n + s²_b/n) fails"),
    _linear_gains_with_state,
    figure="accuracy.png",
)

CLAIMS = (SOFTMAX_LEARNS, LINEAR_DEGRADES, LLA_GE_SOFTMAX, STATE_SIZE)
