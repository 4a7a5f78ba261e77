"""The state-tracking claims (Grazzi et al. 2025; Zuo et al. 2025, Sec. 5), judged per cell of the stored table.

Each check gets one cell's rows (`attnbench.sweeps.experiments.base.Scope`): the in-distribution accuracy
(``id_accuracy``, lengths train_min_len..train_max_len, ``length_low`` = train_min_len) and the test
accuracy per example-length bin (``test_accuracy``, ``length_low`` = the bin's lower edge). "Solves" and
"fits" are the flagged cut-off `attnbench.sweeps.token_claims.GATE` on a seed mean; comparisons between
mixers are Welch's t-test over seeds (`attnbench.sweeps.token_claims.compare`). Where
`state_tracking.lla_matches_softmax` fails, its note says whether the in-distribution learning curves
(``id_accuracy_curve``: validation batches at the training lengths) saturated
(`attnbench.sweeps.token_claims.saturation`).
"""

from __future__ import annotations

import pandas as pd

from attnbench.sweeps.experiments.base import Claim, KnownFailure, Scope, Tolerance, Verdict
from attnbench.sweeps.token_claims import GATE, Comparison, above_chance, accuracies, compare, saturation, shown

KEYS = ["task", "model", "length_low", "length_high"]
SCORED = ("id_accuracy", "test_accuracy")  # the scored metrics (not the lr search's val_accuracy)
ID_CURVE = "id_accuracy_curve"  # the learning curve at the training lengths (validation split)


def _bins(rows: pd.DataFrame) -> pd.DataFrame:
    """Per-seed accuracies of the rows, in distribution first, then the test bins shortest first."""
    seeds = pd.concat([accuracies(rows, metric, KEYS) for metric in SCORED], ignore_index=True)
    seeds["order"] = (seeds["metric"] == "test_accuracy").astype(int)
    return seeds.sort_values(["order", "length_low", "seed"])


def _label(metric: str, low: float, high: float) -> str:
    return f"{'train' if metric == 'id_accuracy' else 'test'} [{low:.0f},{high:.0f}]"


def _text(values: pd.Series) -> str:
    return f"{values.mean():.3f}±{values.std(ddof=1):.3f}" if len(values) > 1 else f"{values.mean():.3f}"


# ---------------------------------------------------------------- state_tracking.deltanet_neg_parity


def _solves(rows: pd.DataFrame) -> Verdict:
    """DeltaNet with β ∈ [0, 2] solves parity (Grazzi et al. 2025, Sec. 5): at one length range, in
    distribution or a test bin, the seed mean reaches the "solves" gate."""
    seeds = _bins(rows)["value"]
    return Verdict(
        "pass" if seeds.mean() >= GATE else "fail",
        f"≈ 1.0 (gate: seed mean ≥ {GATE})",
        f"{_text(seeds)} (seeds {', '.join(f'{v:.3f}' for v in seeds)})",
    )


def _generalises_partly(rows: pd.DataFrame) -> bool:
    """The cell misses the gate while every seed stays above chance: a one-sided binomial test of each seed's
    accuracy against the task's chance on its scored tokens, at the suite's false-failure rate (length
    generalisation that degrades, not a collapse to chance)."""
    seeds = _bins(rows)
    tokens = zip(seeds["value"], seeds["scored_tokens"], seeds["chance"], strict=True)
    return bool(len(seeds)) and all(above_chance(a, n, chance) for a, n, chance in tokens)


DELTANET_NEG_PARITY = Claim(
    "state_tracking.deltanet_neg_parity",
    "DeltaNet with β ∈ [0, 2] solves parity and generalises to longer inputs",
    "Grazzi et al. 2025, abstract and Sec. 5",
    "reported",
    Scope(
        cells=("length_low",),
        where={"task": ("parity",), "model": ("deltanet_neg",), "metric": SCORED},
        reason="the claim is about DeltaNet β ∈ [0, 2] on parity, at the training lengths and every test bin",
    ),
    Tolerance(f"seed mean ≥ {GATE}", "cut-off", "Grazzi et al. report ≈1.0; 0.9 is an arbitrary 'solves' gate"),
    _solves,
    figure="accuracy.png",
    known_failure=KnownFailure(
        _generalises_partly,
        (
            "quick profile (width 32, 6000 AdamW steps, warm-up then cosine decay, lr 3e-3 searched; train 3..10, "
            "test 10..40): every seed solves the training lengths and the bin [10,20) (1.000), then degrades with "
            "length: [20,30) 0.885 (seeds 0.897, 0.931, 0.828) and [30,40] 0.792 (seeds 0.811, 0.811, 0.755), "
            "every seed far above chance 0.5 (binomial p ≤ 3e-4 on 29 and 53 scored tokens). At 3000 steps (lr 1e-3, "
            "commit da2a578) the same bins were 0.920 and 0.855 (seeds 0.962, 0.906, 0.698): the longer schedule "
            "fits no better in distribution and generalises less far"
        ),
    ),
)


# ---------------------------------------------------------------- state_tracking.deltanet_pos_parity


def _fails_beyond_fit(rows: pd.DataFrame) -> Verdict:
    """DeltaNet with β ∈ [0, 1] does not solve parity (Grazzi et al. 2025, Thm 1: finite-precision LRNNs with
    positive eigenvalues cannot), for one seed's model: it is evidence only if the model fits the training
    lengths (in-distribution accuracy ≥ the gate), and then its longest test bin stays below the gate."""
    seeds = _bins(rows)
    fit = float(seeds.loc[seeds["metric"] == "id_accuracy", "value"].mean())
    longest = seeds[seeds["metric"] == "test_accuracy"].iloc[-1]
    measured = (
        f"train {fit:.3f}; {_label('test_accuracy', longest['length_low'], longest['length_high'])} "
        f"{longest['value']:.3f}"
    )
    if fit < GATE:
        return Verdict(
            "fail",
            f"fits train lengths (≥ {GATE}), longest test bin < {GATE}",
            measured,
            note="the model does not fit the training lengths: not evidence about length generalisation",
        )
    return Verdict(
        "pass" if longest["value"] < GATE else "fail",
        f"fits train lengths (≥ {GATE}), longest test bin < {GATE}",
        measured,
    )


def _did_not_fit(rows: pd.DataFrame) -> bool:
    """The seed's model is below the gate even at the training lengths."""
    seeds = _bins(rows)
    return bool(seeds.loc[seeds["metric"] == "id_accuracy", "value"].mean() < GATE)


DELTANET_POS_PARITY = Claim(
    "state_tracking.deltanet_pos_parity",
    "DeltaNet with β ∈ [0, 1] (positive eigenvalues) does not solve parity (judged on models that fit the "
    "training lengths)",
    "Grazzi et al. 2025, Thm 1 and abstract (finite-precision impossibility)",
    "theorem",
    Scope(
        cells=("seed",),
        where={"task": ("parity",), "model": ("deltanet",), "metric": SCORED},
        reason="the claim is about DeltaNet β ∈ [0, 1] on parity; each seed is one trained model",
    ),
    Tolerance(f"train ≥ {GATE}, longest test bin < {GATE}", "cut-off", "0.9 is the arbitrary 'solves' gate"),
    _fails_beyond_fit,
    figure="accuracy.png",
    known_failure=KnownFailure(
        _did_not_fit,
        (
            "not seen at the quick profile (train 3..10, 6000 steps): every seed fits parity in distribution "
            "(0.977-0.992) and stays below 0.9 in the longest test bin; at the former profile (train 3..40, 400 "
            "steps) no seed fitted (0.531, 0.570, 0.484)"
        ),
    ),
)


# ---------------------------------------------------------------- state_tracking.lla_matches_softmax


def _lla_vs_softmax(rows: pd.DataFrame) -> tuple[float, list[tuple[str, Comparison]]]:
    """The best in-distribution seed mean of softmax and LLA, and per length range the two-sided test of LLA
    against softmax (Bonferroni over the ranges)."""
    seeds = _bins(rows)
    ranges = list(dict.fromkeys(zip(seeds["metric"], seeds["length_low"], seeds["length_high"], strict=True)))
    fitted = float(seeds[seeds["metric"] == "id_accuracy"].groupby("model")["value"].mean().max())
    tests = []
    for metric, low, high in ranges:
        own = seeds[(seeds["metric"] == metric) & (seeds["length_low"] == low)]
        tests.append(
            (
                _label(metric, low, high),
                compare(
                    own.loc[own["model"] == "lla", "value"],
                    own.loc[own["model"] == "softmax", "value"],
                    "two-sided",
                    comparisons=len(ranges),
                ),
            )
        )
    return fitted, tests


def _lla_matches_softmax(rows: pd.DataFrame) -> Verdict:
    """LLA ≈ softmax on state tracking (Zuo et al. 2025, Sec. 5), on one task: in distribution and in every
    test bin the seed means do not differ significantly (two-sided Welch t-test), on a task that softmax or
    LLA itself fits in distribution (≥ the gate).

    Agreement is evidence only on a task that one of them learns: the paper's argument (LLA adds a constant
    number of circuit layers to softmax, so neither leaves TC⁰) concerns what a trained model can do, and two
    models that have not fitted the training lengths agree trivially."""
    fitted, tests = _lla_vs_softmax(rows)
    agree = not any(test.significant for _, test in tests)
    measured = "; ".join(f"{label}: {shown(test)}" for label, test in tests) + f"; best train accuracy {fitted:.3f}"
    expected = f"no significant difference, on a task one of them fits (≥ {GATE})"
    if agree and fitted >= GATE:
        return Verdict("pass", expected, measured)
    curves = "; ".join(saturation(rows, ["task"], model, metric=ID_CURVE) for model in ("lla", "softmax"))
    return Verdict("fail", expected, measured, note=f"in distribution: {curves}")


def _neither_fits(rows: pd.DataFrame) -> bool:
    """They agree everywhere, but neither softmax nor LLA fits the task in distribution."""
    fitted, tests = _lla_vs_softmax(rows)
    return fitted < GATE and not any(test.significant for _, test in tests)


LLA_MATCHES_SOFTMAX = Claim(
    "state_tracking.lla_matches_softmax",
    "LLA ≈ softmax attention on state tracking",
    "Zuo et al. 2025, Sec. 5 (permutation state tracking)",
    "reported",
    Scope(
        cells=("task",),
        where={"model": ("softmax", "lla"), "metric": (*SCORED, ID_CURVE)},
        reason="the claim compares LLA with softmax, on every task, in distribution and at every test length; "
        "the in-distribution learning curves only word a failing task's note, since the known failure is a fit "
        "not reached (a task whose runs stored nothing but curves, such as one that diverged, is then in scope "
        "too)",
    ),
    Tolerance(
        f"p ≥ 0.01; fits ≥ {GATE}",
        "cut-off",
        "two-sided Welch t-test over seeds (scipy.stats.ttest_ind, equal_var=False) at level 0.01, "
        f"Bonferroni-split over a task's length ranges; counts only on a task one of them fits (arbitrary "
        f"{GATE} gate)",
    ),
    _lla_matches_softmax,
    figure="accuracy.png",
    known_failure=KnownFailure(
        _neither_fits,
        (
            "quick profile (width 32, 6000 steps, 3 lrs searched, 3 seeds; train 3..10, test 10..40): on parity "
            "both fit in distribution (LLA 0.984-0.992, softmax 0.938-0.977) and agree in every range, so the claim "
            "is tested there and holds; on S3 (best in-distribution seed mean 0.838, chance 0.167) and modular "
            "arithmetic (0.844, chance 0.2) they agree but neither fits, so those two tasks stay untested. Their "
            "in-distribution learning curves (validation batches at the training lengths) are not saturated (the "
            "cell notes): every seed of both mixers still gains over steps 3000→6000, +0.075 to +0.118 on S3 and "
            "+0.023 to +0.250 on modular arithmetic. At 3000 steps (commit da2a578) the best fits were 0.801 and "
            "0.779: doubling the steps raised them by about 0.04 and 0.07, short of the 0.9 gate"
        ),
    ),
)

CLAIMS = (DELTANET_NEG_PARITY, DELTANET_POS_PARITY, LLA_MATCHES_SOFTMAX)
