"""The claims of the ``lsa_dynamics`` experiment (Zhang, Frei & Bartlett 2023; notes B1), each scoped on every
seed (and batch size) of the grid; the tolerances were fixed before the quick runs were computed."""

from __future__ import annotations

import numpy as np
import pandas as pd

from attnbench.sweeps.experiments.base import FALSE_FAILURE_RATE, Claim, KnownFailure, Scope, Tolerance, Verdict
from attnbench.sweeps.experiments.trend_checks import gap_shrinks

FIGURE = "trajectories.png"
# DOP853 at rtol 1e-10, atol 1e-12 on a state of norm O(1): the conserved quantity drifts by ~1e-12; the allowance
# sits four orders above.
FLOW_DRIFT = 1e-8
# Euler's method has global error O(η): halving η halves the gap as η → 0. The allowance per halving (a cut-off).
HALVING = 0.6
# SGD's product uAᵀ must be as close to B* as the flow's at T, up to this relative Frobenius error (the cut-off
# icl_linear uses for the learned preconditioner).
PRODUCT = 0.05
# The larger SGD step must drift the balance at least this many times more than the smaller one (a cut-off).
STEP_BREAK = 2.0
# "Breaks the balance": SGD's drift is at least this multiple of what discretisation alone gives (full-batch GD at
# the same η and horizon).
BREAK = 10.0
SOURCE = "Zhang, Frei & Bartlett 2023 (the (u, A) flow and its conservation derived, notes B1)"
SGD_SOURCE = (
    "notes B1 [derived]: SGD with fresh mini-batches (lr 0.05, batch 2000, 4k steps) breaks the balance, while uAᵀ "
    "still converges (within 1%)"
)


def _scope(method: str, metric: str, cells: tuple[str, ...]) -> Scope:
    return Scope(
        cells=cells,
        where={"method": (method,), "metric": (metric,)},
        reason=f"the claim is about the {method} trajectories' {metric}",
    )


def _halving_ratios(rows: pd.DataFrame) -> tuple[np.ndarray, pd.DataFrame]:
    """|value| at each step size, largest η first, and the ratio of each to the previous (η halved)."""
    ordered = rows.sort_values("step_size", ascending=False)
    magnitudes = ordered["value"].abs().to_numpy()
    return magnitudes[1:] / magnitudes[:-1], ordered


def check_halvings(rows: pd.DataFrame) -> Verdict:
    """Each halving of η multiplies the quantity by at most `HALVING` (first order in η)."""
    ratios, ordered = _halving_ratios(rows)
    figures = ", ".join(
        f"η={eta:g}: {abs(v):.3g}" for eta, v in zip(ordered["step_size"], ordered["value"], strict=True)
    )
    ok = bool(len(ratios) > 0 and np.all(ratios <= HALVING))
    return Verdict(
        "pass" if ok else "fail",
        "× 1/2 per halving of η (first order)",
        f"{figures}; ratios {', '.join(f'{r:.3f}' for r in ratios)}",
        f"each ratio ≤ {HALVING:g}",
    )


def check_flow_drift(rows: pd.DataFrame) -> Verdict:
    """The flow conserves u² − ‖A‖²_F: its largest drift is within the integration allowance."""
    drift = float(rows["value"].abs().max())
    return Verdict(
        "pass" if drift <= FLOW_DRIFT else "fail",
        "0 (conserved)",
        f"max |Δ(u² − ‖A‖²)| = {drift:.2g}",
        f"≤ {FLOW_DRIFT:g}",
    )


def check_product(rows: pd.DataFrame) -> Verdict:
    """SGD's final uAᵀ is as close to B* as the flow's, up to `PRODUCT` (the flow itself is not yet at B* at T)."""
    final = rows[rows["metric"] == "final_b_error"].iloc[0]
    error, flow_error = float(final["value"]), float(final["predicted"])
    ok = error <= flow_error + PRODUCT
    return Verdict(
        "pass" if ok else "fail",
        f"‖B(T) − B*‖_F/‖B*‖_F of the flow: {flow_error:.3g}",
        f"SGD: {error:.3g} at t = T",
        f"≤ the flow's + {PRODUCT:g}",
    )


def lagging_where_the_balance_broke(rows: pd.DataFrame) -> bool:
    """The measured failure of `check_product` (quick, T = 30): uAᵀ lags the flow exactly in the cells where SGD
    drifted u² − ‖A‖²_F below −1 (η = 0.02 at every batch: drift −3.5 to −6.3, error 0.15–0.35; η = 0.005 at batch
    128: drift −2.3, error 0.10; the flow's error is 0.01–0.02). With u small and ‖A‖ large, dB/dt = −u²G − tr(GA)Aᵀ
    moves B at a rate ∝ u² in most directions (the form of the flow), so a broken balance slows the product."""
    drift = rows.loc[rows["metric"] == "balance_drift", "value"]
    return bool(len(drift) == 1 and drift.iloc[0] < -1.0)


def check_step_breaks_balance(rows: pd.DataFrame) -> Verdict:
    """At one batch size, the largest SGD step drifts the balance at least `STEP_BREAK` times more than the smallest."""
    drifts = rows.sort_values("step_size").set_index("step_size")["value"]
    small, large = drifts.index.min(), drifts.index.max()
    ratio = abs(drifts[large]) / max(abs(drifts[small]), 1e-300)
    return Verdict(
        "pass" if ratio >= STEP_BREAK else "fail",
        f"|drift(η={large:g})| ≥ {STEP_BREAK:g} × |drift(η={small:g})|",
        f"Δ(u² − ‖A‖²) = {drifts[large]:.3g} at η={large:g}, {drifts[small]:.3g} at η={small:g} (× {ratio:.3g})",
        f"≥ {STEP_BREAK:g}×",
    )


def check_breaks_balance(rows: pd.DataFrame) -> Verdict:
    """SGD's balance drift is at least `BREAK` times full-batch GD's at the same η and horizon."""
    sgd, gd = float(rows["value"].iloc[0]), float(rows["predicted"].iloc[0])
    ok = abs(sgd) >= BREAK * abs(gd)
    return Verdict(
        "pass" if ok else "fail",
        f"|Δ(u² − ‖A‖²)| ≥ {BREAK:g} × full-batch GD's ({gd:.2g})",
        f"Δ(u² − ‖A‖²) = {sgd:.3g} (× {abs(sgd) / max(abs(gd), 1e-300):.3g} GD's)",
        f"≥ {BREAK:g}× GD (same η, horizon)",
    )


def check_gap_shrinks(rows: pd.DataFrame) -> Verdict:
    """For each batch size and the next, the per-seed largest gap to the flow is smaller at the larger batch."""
    return gap_shrinks(rows, "batch", paired=True)


SMALL_STEP = Scope(
    cells=(),
    where={"method": ("sgd",), "metric": ("max_flow_gap",), "step_size": (0.005,)},
    reason="the small SGD step (quick and tiny grids), below the off-subspace stability limit",
)
SGD_CELLS = ("seed", "step_size", "batch")

CLAIMS = [
    Claim(
        "lsa_dynamics.flow_conserves_balance",
        "the population gradient flow of (u, A) conserves u² − ‖A‖²_F",
        SOURCE,
        "theorem",
        _scope("flow", "max_balance_drift", ("seed",)),
        Tolerance(f"{FLOW_DRIFT:g}", "cut-off", "four orders above DOP853's integration error (rtol 1e-10)"),
        check_flow_drift,
        FIGURE,
    ),
    Claim(
        "lsa_dynamics.gd_tracks_flow",
        "full-batch GD on the population loss tracks the flow: its largest gap to it halves with η",
        "derived (Euler's method: global error O(η))",
        "consistency",
        _scope("gd", "max_flow_gap", ("seed",)),
        Tolerance(f"ratio ≤ {HALVING:g} per halving", "cut-off", "first order predicts 1/2 as η → 0"),
        check_halvings,
        FIGURE,
    ),
    Claim(
        "lsa_dynamics.gd_balance_first_order",
        "full-batch GD changes u² − ‖A‖²_F only at second order per step: the drift over the horizon halves with η",
        "derived (the first-order change u g_u − ⟨A, g_A⟩ is 0 for any loss of uAᵀ)",
        "consistency",
        _scope("gd", "balance_drift", ("seed",)),
        Tolerance(f"ratio ≤ {HALVING:g} per halving", "cut-off", "first order in η predicts 1/2 as η → 0"),
        check_halvings,
        FIGURE,
    ),
    Claim(
        "lsa_dynamics.sgd_breaks_balance",
        f"mini-batch SGD of the full LSA breaks the balance: |Δ(u² − ‖A‖²_F)| ≥ {BREAK:g}× full-batch GD's at the "
        "same η, at every step and batch size",
        SGD_SOURCE,
        "reported",
        _scope("sgd", "balance_drift", SGD_CELLS),
        Tolerance(f"≥ {BREAK:g}× GD", "cut-off", "an order of magnitude above the discretisation's own drift"),
        check_breaks_balance,
        FIGURE,
    ),
    Claim(
        "lsa_dynamics.sgd_step_breaks_balance",
        f"the larger SGD step breaks the balance at least {STEP_BREAK:g}× more than the smaller, at every batch size",
        "derived (the off-subspace directions of the full model have curvature ∝ u², so a large step is unstable "
        "there at any batch size)",
        "consistency",
        _scope("sgd", "balance_drift", ("seed", "batch")),
        Tolerance(f"≥ {STEP_BREAK:g}×", "cut-off", "the drift's ratio between the two SGD steps"),
        check_step_breaks_balance,
        FIGURE,
    ),
    Claim(
        "lsa_dynamics.sgd_small_step_tracks_flow",
        "at the small step, SGD tracks the population flow with a gap that shrinks as the batch grows",
        "derived (mini-batch noise ∝ 1/√batch)",
        "consistency",
        SMALL_STEP,
        Tolerance(
            f"p < {FALSE_FAILURE_RATE:g} per pair",
            "derived",
            f"one-sided paired t-test over seeds, false-failure rate {FALSE_FAILURE_RATE:g} per pair",
        ),
        check_gap_shrinks,
        FIGURE,
    ),
    Claim(
        "lsa_dynamics.sgd_product_converges",
        "mini-batch SGD still brings uAᵀ to B* = (Γ + σ²/(Nτ²) I)⁻¹ as fast as the flow does, at every step and batch",
        SGD_SOURCE,
        "reported",
        Scope(
            cells=SGD_CELLS,
            where={"method": ("sgd",), "metric": ("final_b_error", "balance_drift")},
            reason="the SGD trajectories: the final error is judged, the balance drift feeds the known failure",
        ),
        Tolerance(f"the flow's error + {PRODUCT:g}", "cut-off", "the preconditioner cut-off of icl_linear"),
        check_product,
        FIGURE,
        KnownFailure(
            lagging_where_the_balance_broke,
            "uAᵀ lags the flow (error 0.10–0.35 at T = 30 against the flow's 0.01–0.02) exactly where SGD drove "
            "u² − ‖A‖²_F below −1 (η = 0.02 at every batch, η = 0.005 at batch 128): the broken balance slows B",
        ),
        tiny="the tiny horizon (t = 10) ends before the product has converged; judged at the quick profile",
    ),
]
