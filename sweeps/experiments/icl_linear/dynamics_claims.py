"""The ``icl_linear`` claims on training dynamics (issue 15 §1): He et al.'s reduced flow of L̃ (notes A2.3)
against the reduced model's GD and SGD, the Adam path of the full model (Fig. 2.3), and the stall prediction
from each seed's initialisation. Checks in `dynamics_checks`."""

from __future__ import annotations

import pandas as pd

from attnbench.sweeps.experiments.base import FALSE_FAILURE_RATE, Claim, KnownFailure, Scope, Tolerance, Verdict
from attnbench.sweeps.experiments.icl_linear import dynamics_checks as c
from attnbench.sweeps.experiments.icl_linear.checks import on_manifold
from attnbench.sweeps.experiments.trend_checks import gap_shrinks

HE = "He et al. 2025"
SEEDS_NEEDED = "a t-test at level 0.01 over seeds cannot reach significance with the tiny profile's 2 seeds"
GD_PATHS = Scope(
    cells=("p.train_length", "seed"),
    where={"method": ("gd",), "metric": ("reduced_mu", "reduced_omega")},
    reason="the reduced model's full-batch GD path, the deterministic one whose time is η·step exactly",
)


def _sgd_gap_shrinks(rows: pd.DataFrame) -> Verdict:
    return gap_shrinks(rows, "batch", paired=True, what="|SGD − GD|")


def _flow_gap_shrinks(rows: pd.DataFrame) -> Verdict:
    return gap_shrinks(rows, "train_length", paired=False, what="|GD − flow of L̃|")


SADDLE_CROSSINGS = KnownFailure(
    c.some_seed_not_monotone_in_batch,
    (
        "The mean gap mostly falls with the batch (L = 20: 0.261, 0.112, 0.058; L = 40: 0.364, 0.488, 0.146; "
        "L = 80: 0.334, 0.088, 0.084 at batches 16, 64, 256) but not significantly at every pair (paired p = "
        "0.024 and 0.0041 at L = 20, 0.46 and 0.0087 at L = 40, 0.026 and 0.39 at L = 80): paths that pass near "
        "the saddle between the ± basin and the one-signed valley cross it at noise-dependent times, so single "
        "seeds' largest gaps jump (up to 1.4, where SGD left for the other basin) and some grow with the batch "
        "(L = 20 seeds 4 and 6, L = 40 seeds 2, 3 and 5, L = 80 seeds 2 and 4); at L = 80 the gap also stops "
        "shrinking from 64 to 256, where the GD reference's own 4096-prompt sample may set a floor (not "
        "measured). The predicate: some seed's gap grows from one batch size to the next."
    ),
)
WEAK_TREND_IN_L = KnownFailure(
    c.falls_in_mean,
    (
        "The mean gap falls with L (0.229, 0.192, 0.153 at L = 20, 40, 80) but not significantly (Welch p = 0.10 "
        "and 0.12 with 7 seeds per L): the seeds spread over 0.17–0.29 at L = 20, 0.13–0.29 at L = 40 and "
        "0.10–0.19 at L = 80, as wide as the change. The predicate: the mean gap falls at each longer L."
    ),
)
EDGE_OF_HORIZON = KnownFailure(
    c.emergence_at_an_edge,
    (
        "18 of 21 cells agree, 13 of them because neither path emerges by step 400 (t = 20; at L = 80 the "
        "zero-sum force, of order (1+σ²)/L, is weakest, and at L = 20 four of those flows end one-signed); "
        "the 5 cells where both emerge agree within ×1.34. The 3 misses sit at an edge of the logged horizon: "
        "L = 20 seed 3 (flow step 30, GD step 10), L = 20 seed 6 (the start is already sign-matched and "
        "zero-sum: flow step 0; GD leaves it and returns at step 50) and L = 40 seed 5 (GD step 390, the flow "
        "not by step 400). The predicate: the predicted or the measured emergence is within 5 logging "
        "intervals (50 steps) of step 0 or of the last step."
    ),
)
NOT_YET_STABLE = KnownFailure(
    c.rises_and_falls,
    (
        "On every seed at S̄ (16 of 21 runs) mean |ω_h| rises from ≈ 0.02 to a peak of 0.24–0.36 at steps "
        "300–1700 and falls 17–43% by step 4000, the shape of Fig. 2.3; it has not stabilised: over the last "
        "1000 steps it still moves by 2–10% of its final value (every cell has a seed above 5%; the paper "
        "trains 5e5 steps). The predicate: every path at S̄ peaks inside the run and falls by ≥ 10% from it."
    ),
)
ONE_SIDED_STALLS = KnownFailure(
    c.stalls_predicted_one_sidedly,
    (
        "16 of 21 runs are predicted right, exactly the no-information rate (5 stalled; p = 0.62). The errors "
        "are one-sided: all 5 stalled runs (L = 20 seeds 0, 2 and 4, L = 40 seed 1, L = 80 seed 5) were "
        "predicted to stall and all 11 runs predicted to reach ± heads did, but 5 of the 10 predicted stalls "
        "(L = 20 seed 5, L = 40 seeds 2 and 6, L = 80 seeds 2 and 3) escaped to ± heads under Adam, whose "
        "per-coordinate steps the GD flow does not model. The naive predictor (the initial ω of one sign) gets "
        "12/21. The predicate: no stalled run was missed, and some predicted stall escaped."
    ),
)

DYNAMICS_CLAIMS = (
    Claim(
        "icl_linear.reduced_sgd_tracks_gd",
        "SGD of the reduced model follows its full-batch GD from the same point, the gap shrinking as the "
        "batch grows (every L)",
        "derived (SGD → GD as the batch grows)",
        "consistency",
        Scope(
            cells=("p.train_length",),
            where={"metric": ("max_gd_gap",)},
            reason="the per-seed largest |SGD − GD| over the logged steps, heads, μ and ω, per batch",
        ),
        Tolerance(
            f"p < {FALSE_FAILURE_RATE:g}",
            "derived",
            "one-sided paired t-test (scipy.stats.ttest_rel) on the per-seed log gaps, per consecutive pair of "
            "batch sizes, each at level 0.01",
        ),
        _sgd_gap_shrinks,
        "reduced_dynamics.png",
        SADDLE_CROSSINGS,
        tiny=SEEDS_NEEDED,
    ),
    Claim(
        "icl_linear.reduced_gd_tracks_flow",
        "full-batch GD of the reduced model follows the gradient flow of L̃ from the same point, the gap "
        "shrinking as L grows (L̃ drops O(1/L) terms)",
        f"{HE}, L̃ and its Stage I/II dynamics (notes A2.2–A2.3); the trend in L derived",
        "consistency",
        Scope(
            where={"metric": ("max_flow_gap",)},
            reason="the per-seed largest |GD − flow| over the logged steps, heads, μ and ω, per training length",
        ),
        Tolerance(
            f"p < {FALSE_FAILURE_RATE:g}",
            "derived",
            "one-sided Welch t-test (scipy.stats.ttest_ind, equal_var=False) on the per-seed log gaps, per "
            "consecutive pair of training lengths (each its own initialisations), each at level 0.01",
        ),
        _flow_gap_shrinks,
        "reduced_dynamics.png",
        WEAK_TREND_IN_L,
        tiny="one training length in the tiny grid, and " + SEEDS_NEEDED,
    ),
    Claim(
        "icl_linear.stage_one_window",
        "sign matching and zero-sum OV emerge (Stage I) within ×2 of the time the flow of L̃ predicts, or "
        "neither within the horizon t = 20 (every L and seed)",
        f"{HE}, Stage I (notes A2.3); the window derived from the flow",
        "consistency",
        GD_PATHS,
        Tolerance(
            f"×{c.WINDOW:g}",
            "cut-off",
            f"an arbitrary factor on the emergence time (sign ω_h = sign μ_h in every head and |Σμ|/Σ|μ| ≤ "
            f"{c.ZERO_SUM:g} from then on, logged every 10 steps), not read off these runs",
        ),
        c.stage_one_window,
        "reduced_dynamics.png",
        EDGE_OF_HORIZON,
        tiny=(
            "the tiny profile's full-batch GD uses 512 fixed prompts (quick: 4096) at L = 20 only, and their "
            "sample bias keeps |Σμ|/Σ|μ| at 0.09 at step 400 (seed 1, measured), above the 0.05 emergence needs"
        ),
    ),
    Claim(
        "icl_linear.omega_rise_fall",
        "along Adam training of 2 heads, mean |ω_h| rises, falls by ≥ 10% and stabilises (last quarter within "
        "5%) (on the seeds that reached S̄, one positive and one negative head; count shown)",
        f"{HE}, Fig. 2.3/2.8 (notes A3)",
        "reported",
        Scope(cells=("p.train_length",)),
        Tolerance(
            f"fall ≥ {c.FALL:g}, drift ≤ {c.STABLE:g}",
            "cut-off",
            "arbitrary thresholds for 'falls' and 'stabilises' (the paper states the shape, no numbers), "
            "not read off these runs",
        ),
        on_manifold(c.rise_fall),
        "adam_paths.png",
        NOT_YET_STABLE,
        tiny="the tiny profile trains 300 Adam steps at lr 1e-2, too few for Stage II",
    ),
    Claim(
        "icl_linear.stall_predicted",
        "the flow of L̃ from each seed's initial (μ, ω), read before training, predicts whether its Adam-"
        "trained 2-head model stalls one-signed, beyond the no-information rate (all L and seeds together)",
        "derived (He et al. 2025's reduced dynamics, notes A2.3; the one-signed valley derived)",
        "consistency",
        Scope(
            where={"heads": (2,)},
            reason="the 2-head models: a one-head model is one-signed by construction",
        ),
        Tolerance(
            f"p < {c.STALL_LEVEL:g}",
            "derived",
            "one-sided exact binomial test (scipy.stats.binomtest) of the number of right predictions against "
            f"the larger outcome class's share, on ≥ {c.STALL_RUNS} (L, seed) runs",
        ),
        c.stall_predicted,
        "adam_paths.png",
        ONE_SIDED_STALLS,
        tiny=f"needs ≥ {c.STALL_RUNS} (L, seed) runs; the tiny profile trains 2",
    ),
)
