"""The MQAR claims (Arora et al. 2024, "Zoology"; Zuo et al. 2025, Sec. 5), judged on the stored table.

Each check gets one cell's rows (`attnbench.sweeps.experiments.base.Scope`) and reads the seed-level test
accuracies of the evaluation stage. "Recalls" is a flagged cut-off on the seed mean, `RECALLS` = 0.99;
comparisons between mixers are Welch's t-test over seeds, comparisons of one mixer across K at one width (the
same seed, hence the same initialisation, on both sides) the paired t-test, at the suite's false-failure rate
(`attnbench.sweeps.token_claims`). A failing cell's note says whether the learning curves of its mixers
saturated (`attnbench.sweeps.token_claims.saturation`). A mixer's state holds
`attnbench.theory.recall_capacity` pairs (the rows' ``capacity`` column).
"""

from __future__ import annotations

import pandas as pd

from attnbench.sweeps.experiments.base import Claim, KnownFailure, Scope, Tolerance, Verdict
from attnbench.sweeps.experiments.mqar.study import PAPER
from attnbench.sweeps.token_claims import GATE, above_chance, accuracies, compare, compare_paired, saturation, shown

KEYS = ["model", "width", "kv_pairs"]
CELL = ["width", "kv_pairs"]
RECALLS = 0.99  # the "recalls" cut-off on a seed-mean test accuracy (basis ``cut-off``, flagged)
WELCH = (
    "one-sided Welch t-test over seeds (scipy.stats.ttest_ind, equal_var=False) at level 0.01; "
    "the measured column gives the smallest detectable Δ"
)
PAIRED = (
    "one-sided paired t-test over seeds (scipy.stats.ttest_rel) at level 0.01, Bonferroni-split over the widths "
    "compared; the measured column gives the smallest detectable mean drop"
)
LEARNS_AT_TINY = (
    "recall forms after hundreds of steps; the tiny runs (60 steps, d ≤ 16) stay near chance, so the claim "
    "is judged only at the quick profile"
)


def _seeds(rows: pd.DataFrame, **cell: object) -> pd.DataFrame:
    """The evaluation seeds' test accuracies (one row per seed) of the rows matching ``cell``, in seed order."""
    seeds = accuracies(rows, "test_accuracy", KEYS)
    for column, value in cell.items():
        seeds = seeds[seeds[column] == value]
    return seeds.sort_values("seed")


def _text(seeds: pd.DataFrame) -> str:
    """Seed values as text: the mean and the seeds (outcomes are often bimodal)."""
    values = seeds["value"]
    return f"{values.mean():.3f} (seeds {', '.join(f'{v:.3f}' for v in values)})"


def _recalls(seeds: pd.DataFrame) -> bool:
    """At least 2 seeds, whose mean reaches `RECALLS` (a mixer missing from a cell is no evidence)."""
    return len(seeds) >= 2 and seeds["value"].mean() >= RECALLS


def _cells(rows: pd.DataFrame) -> list[tuple[int, int]]:
    """The (width, K) cells with test accuracies, in order."""
    tested = rows.loc[rows["metric"] == "test_accuracy", ["width", "kv_pairs"]].drop_duplicates()
    return sorted(map(tuple, tested.to_numpy().tolist()))


# ---------------------------------------------------------------- mqar.softmax_learns


def _softmax_recalls(rows: pd.DataFrame) -> Verdict:
    """Softmax recalls in the cell (Arora et al. 2024, Fig. 2): its seed mean reaches `RECALLS`."""
    seeds, expected = _seeds(rows), f"≈ 1.0 (seed mean ≥ {RECALLS})"
    if _recalls(seeds):
        return Verdict("pass", expected, _text(seeds))
    return Verdict("fail", expected, _text(seeds), note=saturation(rows, CELL, "softmax"))


def _under_trained(rows: pd.DataFrame) -> bool:
    """Softmax below the gate at fewer steps than Zoology's, while every seed is above chance (one-sided
    binomial test at 0.01 on the cell's eval_batches · batch_size · K scored query tokens): it trained but did
    not reach recall within the budget (still rising, or plateaued below it), rather than not training at all."""
    test = _seeds(rows)
    tokens = test["p.eval_batches"] * test["p.batch_size"] * test["kv_pairs"]
    above = [above_chance(a, n, chance) for a, n, chance in zip(test["value"], tokens, test["chance"], strict=True)]
    return bool(rows["p.steps"].max() < PAPER["steps"] and all(above) and test["value"].mean() < RECALLS)


SOFTMAX_LEARNS = Claim(
    "mqar.softmax_learns",
    f"Softmax attention recalls (seed mean ≥ {RECALLS}) in every cell of the grid",
    "Arora et al. 2024 (Zoology), Fig. 2",
    "reported",
    Scope(cells=("width", "kv_pairs"), where={"model": ("softmax",)}, reason="the claim is about softmax"),
    Tolerance(
        f"seed mean ≥ {RECALLS}", "cut-off", f"Zoology's figure shows ≈1.0 wherever the pairs fit; {RECALLS} is a gate"
    ),
    _softmax_recalls,
    figure="accuracy.png",
    known_failure=KnownFailure(
        _under_trained,
        (
            "quick profile (800 AdamW steps at the searched lr 1e-2, 3 seeds; Zoology trains 50k): softmax recalls "
            "in 5 of 9 cells (every K at d=16, K=6 and 12 at d=32); below 0.99, every seed above chance 1/32: "
            "d=8 K=3 0.639 (seeds 0.253, 0.995, 0.669), K=6 0.126, K=12 0.063, and d=32 K=3 0.932 (seeds 1.000, "
            "0.852, 0.945). The recall circuit forms at a seed-dependent step; at d=8 it mostly does not form in 800 "
            "steps. No failing cell's learning curves are saturated (the cell notes): seeds still gain up to +0.557 "
            "(d=8 K=3) and +0.482 (d=32 K=3) over steps 400→800, and at d=8 K=6 (every seed) and K=12 (one seed), "
            "where the gains are small (≤ +0.035), a seed settles within 0.02 of its final accuracy only after step "
            "400, so the measurement cannot tell a low plateau from slow training"
        ),
    ),
    tiny=LEARNS_AT_TINY,
)


# ---------------------------------------------------------------- mqar.linear_degrades


def _straddled(rows: pd.DataFrame) -> list[tuple[int, int, int]]:
    """(width, K_fit, K_over) per width whose grid has K on both sides of the state's capacity: the largest K
    the state holds and the smallest it does not."""
    out = []
    for width in sorted(rows.loc[rows["metric"] == "test_accuracy", "width"].unique()):
        tested = rows[(rows["metric"] == "test_accuracy") & (rows["width"] == width)]
        capacity = float(tested["capacity"].iloc[0])
        fit = sorted(k for k in tested["kv_pairs"].unique() if k <= capacity)
        over = sorted(k for k in tested["kv_pairs"].unique() if k > capacity)
        if fit and over:
            out.append((int(width), int(fit[-1]), int(over[0])))
    return out


def _linear_degrades(rows: pd.DataFrame) -> Verdict:
    """Linear attention loses accuracy once K passes the d pairs its state holds (derived in
    `attnbench.theory.recall_capacity`; Arora et al. 2024, Sec. 4): at every width with K on both sides of
    the capacity, the accuracy at the largest K that fits exceeds the accuracy at the smallest K that does not
    (paired over seeds)."""
    widths = _straddled(rows)
    if not widths:
        return Verdict("fail", "acc(K ≤ d) > acc(K > d)", "no width with K on both sides of its capacity d")
    results = []
    for width, fit, over in widths:
        a, b = _seeds(rows, width=width, kv_pairs=fit), _seeds(rows, width=width, kv_pairs=over)
        pair = a.merge(b, on="seed", suffixes=("_fit", "_over"))
        if len(pair) < 2:
            return Verdict("fail", "acc(K ≤ d) > acc(K > d)", f"d={width}: fewer than 2 seeds at both K={fit}, {over}")
        drop = compare_paired(pair["value_fit"], pair["value_over"], "greater", comparisons=len(widths))
        results.append(drop)
    measured = "; ".join(
        f"d={w}: K={fit} {_text(_seeds(rows, width=w, kv_pairs=fit))} → K={over} "
        f"{_text(_seeds(rows, width=w, kv_pairs=over))}, {shown(drop)}"
        for (w, fit, over), drop in zip(widths, results, strict=True)
    )
    expected = "acc(K ≤ d) > acc(K > d) at every such width"
    if all(drop.significant for drop in results):
        return Verdict("pass", expected, measured)
    curves = "; ".join(
        f"d={w}, K={k}: {saturation(rows, CELL, 'linear', {'width': w, 'kv_pairs': k})}"
        for w, fit, over in widths
        for k in (fit, over)
    )
    return Verdict("fail", expected, measured, note=curves)


def _does_not_learn_where_pairs_fit(rows: pd.DataFrame) -> bool:
    """Linear attention is below the suite's "learns" gate (`attnbench.sweeps.token_claims.GATE`) even at the
    largest K its state holds, at every compared width: the drop past the capacity has no learned baseline to
    fall from (a cell that learns at K ≤ d and does not drop past d is a refutation, not this failure)."""
    widths = _straddled(rows)
    return bool(widths) and all(_seeds(rows, width=w, kv_pairs=fit)["value"].mean() < GATE for w, fit, _ in widths)


LINEAR_DEGRADES = Claim(
    "mqar.linear_degrades",
    "Linear attention's accuracy falls, at fixed width, once K exceeds the d pairs its d×d state can recall exactly",
    "Arora et al. 2024 (Zoology), Sec. 4; the capacity d is the derived upper bound of theory/recall_capacity.py",
    "reported",
    Scope(
        cells=(),
        where={"model": ("linear",)},
        reason="the claim is about linear attention, at every width of the grid with K on both sides of d",
    ),
    Tolerance("p < 0.01", "derived", f"{PAIRED}: mean drop > t₀.₉₉,n−1 · s_drop/√n"),
    _linear_degrades,
    figure="accuracy.png",
    known_failure=KnownFailure(
        _does_not_learn_where_pairs_fit,
        (
            "quick profile (800 steps at the searched lr 3e-2, the largest of the grid {3e-3, 1e-2, 3e-2}, whose "
            "calibration accuracies rise with the lr: 0.138, 0.174, 0.250, so a larger lr might train it further): "
            "linear attention "
            "(identity map, unnormalised) does not learn recall even where the pairs fit: at d=8, K=6 0.105 → K=12 "
            "0.069 (chance 0.031; paired drop +0.036, p=0.075); its best cell is d=32, K=3 at 0.725 (seeds 0.977, "
            "0.849, 0.349), so the capacity drop has no learned baseline to fall from. Its curves at the compared "
            "cells gain little over steps 400→800 (≤ +0.048) but are not saturated by the 0.02 read-out (a seed "
            "settles only at step 480 or 560, the cell note). The check compares only K beside the capacity: "
            "softmax (no capacity limit) also falls from K=6 to K=12 at d=8 (0.126 → 0.063)"
        ),
    ),
    tiny=LEARNS_AT_TINY,
)


# ---------------------------------------------------------------- mqar.deltanet_beats_linear


def _deltanet_beats_linear(rows: pd.DataFrame) -> Verdict:
    """DeltaNet recalls better than linear attention at the same width (both keep a d×d state): in the cell
    DeltaNet's seed mean is significantly above linear attention's (one-sided Welch), unless both recall
    (seed mean ≥ `RECALLS`: a tie at the ceiling, where nothing is left to beat)."""
    delta, linear = _seeds(rows, model="deltanet"), _seeds(rows, model="linear")
    measured, expected = f"deltanet {_text(delta)} vs linear {_text(linear)}", f"deltanet > linear, or both ≥ {RECALLS}"
    if min(len(delta), len(linear)) < 2:
        return Verdict("fail", expected, f"{measured}: fewer than 2 seeds")
    if min(delta["value"].mean(), linear["value"].mean()) >= RECALLS:
        return Verdict("pass", expected, measured, note="both recall: a tie")
    gain = compare(delta["value"], linear["value"], "greater")
    if gain.significant:
        return Verdict("pass", expected, f"{measured}, {shown(gain)}")
    curves = "; ".join(saturation(rows, CELL, model) for model in ("deltanet", "linear"))
    return Verdict("fail", expected, f"{measured}, {shown(gain)}", note=curves)


def _underpowered_or_untrained(rows: pd.DataFrame) -> bool:
    """The cell's failure is one of the two measured at the quick profile (their numbers are in the text):

    - a lack of power or training: DeltaNet is neither significantly above nor significantly below linear
      attention (one-sided Welch tests at 0.01), and either neither recalls or DeltaNet's mean is ahead;
    - a reversal between untrained models: linear attention is significantly ahead, but both seed means are
      below 3 × chance (a descriptive bound on the measured cell), so neither has learned recall.

    A reversal where either mixer has learned (a mean at 3 × chance or above) is neither, and fails the claim."""
    delta, linear = _seeds(rows, model="deltanet"), _seeds(rows, model="linear")
    if min(len(delta), len(linear)) < 2:
        return False
    a, b = delta["value"], linear["value"]
    ahead, behind = compare(a, b, "greater").significant, compare(a, b, "less").significant
    if behind:
        return bool(max(a.mean(), b.mean()) < 3 * float(delta["chance"].iloc[0]))
    return not ahead and (max(a.mean(), b.mean()) < RECALLS or a.mean() > b.mean())


DELTANET_BEATS_LINEAR = Claim(
    "mqar.deltanet_beats_linear",
    f"DeltaNet recalls better than linear attention at equal state (d×d) in every cell where not both recall "
    f"(seed means ≥ {RECALLS})",
    "derived (a delta-rule write S += β(v − Sk)kᵀ removes the crosstalk that an additive write S += vkᵀ leaves "
    "between non-orthogonal keys: Widrow-Hoff LMS; notes extra_theory §16)",
    "theorem",
    Scope(
        cells=("width", "kv_pairs"),
        where={"model": ("deltanet", "linear")},
        reason="the claim compares DeltaNet with linear attention",
    ),
    Tolerance("p < 0.01", "derived", f"{WELCH}: Δ > t₀.₉₉,ν · √(s²_delta/n + s²_linear/n)"),
    _deltanet_beats_linear,
    figure="accuracy.png",
    known_failure=KnownFailure(
        _underpowered_or_untrained,
        (
            "quick profile: DeltaNet is significantly ahead in 3 of 9 cells (d=16 K=6 0.829 vs 0.125; d=32 K=6 0.997 "
            "vs 0.162, K=12 0.996 vs 0.089) and recalls at every K at d=32; it is ahead without significance at 3 "
            "seeds at d=16 K=3 (0.841 vs 0.278, p=0.017), d=16 K=12 (0.354 vs 0.074, p=0.037) and d=32 K=3 (0.999 "
            "vs 0.725, linear's seeds 0.977, 0.849, 0.349, p=0.14); at d=8 neither recalls (≤ 0.281, chance 0.031) "
            "and linear attention is ahead in all three cells, not significantly (one-sided p = 0.16, 0.27, 0.043 at "
            "K = 3, 6, 12). An earlier run of the same code on another CPU had the K=12 reversal significant (0.071 vs "
            "0.042, p=0.009); the predicate also admits that case, a reversal between untrained models (both below "
            "3 × chance)"
        ),
    ),
    tiny=LEARNS_AT_TINY,
)


# ---------------------------------------------------------------- mqar.lla_ge_softmax


def _recalled_by_softmax(rows: pd.DataFrame) -> list[tuple[int, int]]:
    """The (width, K) cells where softmax's seed mean reaches `RECALLS`."""
    return [(w, k) for w, k in _cells(rows) if _recalls(_seeds(rows, model="softmax", width=w, kv_pairs=k))]


def _lla_below(rows: pd.DataFrame, recalled: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """The ``recalled`` cells where LLA's seed mean does not reach `RECALLS`."""
    return [(w, k) for w, k in recalled if not _recalls(_seeds(rows, model="lla", width=w, kv_pairs=k))]


def _lla_at_least_softmax(rows: pd.DataFrame) -> Verdict:
    """LLA recalls at least as well as softmax (Zuo et al. 2025, Sec. 5): in every cell where softmax recalls,
    LLA's seed mean reaches the same `RECALLS` gate. With no such cell the comparison is no evidence."""
    recalled = _recalled_by_softmax(rows)
    expected = f"lla ≥ {RECALLS} wherever softmax ≥ {RECALLS}"
    if not recalled:
        return Verdict("fail", expected, f"softmax recalls in none of the {len(_cells(rows))} cells: no evidence")
    below = _lla_below(rows, recalled)
    measured = f"softmax recalls in {len(recalled)} of {len(_cells(rows))} cells; LLA below {RECALLS} in " + (
        "none of them"
        if not below
        else "; ".join(
            f"d={w},K={k}: lla {_text(_seeds(rows, model='lla', width=w, kv_pairs=k))} vs softmax "
            f"{_text(_seeds(rows, model='softmax', width=w, kv_pairs=k))}"
            for w, k in below
        )
    )
    if not below:
        return Verdict("pass", expected, measured)
    curves = "; ".join(f"d={w}, K={k}: {saturation(rows, CELL, 'lla', {'width': w, 'kv_pairs': k})}" for w, k in below)
    return Verdict("fail", expected, measured, note=curves)


def _lla_misses_through_single_seeds(rows: pd.DataFrame) -> bool:
    """Every cell where softmax recalls and LLA does not fails through a minority of LLA's seeds: its median
    seed reaches `RECALLS` (the circuit formed in most seeds, not in one), and softmax recalls somewhere."""
    recalled = _recalled_by_softmax(rows)
    return bool(recalled) and all(
        _seeds(rows, model="lla", width=w, kv_pairs=k)["value"].median() >= RECALLS
        for w, k in _lla_below(rows, recalled)
    )


LLA_GE_SOFTMAX = Claim(
    "mqar.lla_ge_softmax",
    f"LLA recalls (seed mean ≥ {RECALLS}) in every cell where softmax attention does; the measured column "
    "counts those cells",
    "Zuo et al. 2025, Sec. 5 (MQAR)",
    "reported",
    Scope(
        cells=(),
        where={"model": ("softmax", "lla")},
        reason="the claim compares LLA with softmax, over every cell of the grid",
    ),
    Tolerance(f"seed mean ≥ {RECALLS}", "cut-off", f"the same arbitrary {RECALLS} recall gate for both mixers"),
    _lla_at_least_softmax,
    figure="accuracy.png",
    known_failure=KnownFailure(
        _lla_misses_through_single_seeds,
        (
            "quick profile (800 steps, LLA at the lr 3e-2 searched on calibration seeds at d=16, K=6, where 1e-2 "
            "and 3e-2 nearly tie: 0.9996 and 1.000): softmax recalls in 5 of 9 cells and LLA reaches the gate in 3 "
            "of them; at d=16 K=3 (0.846, seeds 0.544, 1.000, 0.995) and d=16 K=12 (0.695, seeds 0.085, 0.999, "
            "1.000) one seed of three had not formed the recall circuit by step 800, while the other two recall. "
            "The failing seeds differ: at K=3 seed 0 is still rising (+0.201 over steps 400→800, 0.32 → 0.52, not "
            "settled); at K=12 seed 0 is flat at 0.06-0.08 from step 160 on (settled far below the gate), while "
            "seed 1 there formed the circuit only after step 480. "
            "An earlier run of the same code on another CPU resolved the lr tie to 1e-2, where LLA passed (every "
            "seed ≥ 0.978 in those 5 cells): the verdict rests on single seeds and on fp32 rounding"
        ),
    ),
    tiny=LEARNS_AT_TINY,
)


# ---------------------------------------------------------------- mqar.state_size


def _linear_gains_with_state(rows: pd.DataFrame) -> Verdict:
    """Linear-attention accuracy is non-decreasing in state size d² (derived: a larger d×d memory stores more
    pairs), at one K: no step to the next width lowers the accuracy significantly (one-sided Welch t-test,
    Bonferroni over the steps)."""
    widths = sorted(rows.loc[rows["metric"] == "test_accuracy", "width"].unique())
    if len(widths) < 2:
        return Verdict("fail", "non-decreasing in d²", f"d={widths}", note="one width: no trend to test")
    values = {w: _seeds(rows, width=w)["value"] for w in widths}
    pairs = list(zip(widths, widths[1:], strict=False))
    steps = [compare(values[b], values[a], "less", comparisons=len(pairs)) for a, b in pairs]
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
    Tolerance(
        "p < 0.01", "derived", f"{WELCH}, Bonferroni over the width steps: a drop > t₀.₉₉,ν · √(s²_a/n + s²_b/n)"
    ),
    _linear_gains_with_state,
    figure="accuracy.png",
)

CLAIMS = (SOFTMAX_LEARNS, LINEAR_DEGRADES, DELTANET_BEATS_LINEAR, LLA_GE_SOFTMAX, STATE_SIZE)
