"""Claims of the Scan and Snap ``snap`` study: Tian et al. 2023, Thm 1, Thm 4 (Eqn 14), Eqn 129, Fig. 9."""

from __future__ import annotations

import numpy as np
import pandas as pd

from attnbench.sweeps.experiments.base import Claim, KnownFailure, Tolerance, Verdict
from attnbench.sweeps.experiments.scan_snap.claims import metric, section_scope
from attnbench.sweeps.experiments.scan_snap.study_snap import grid_spacing

# The snap time t_0 = 2(1 + ω_1) K ln M/η_Y carries ω_1 = Θ(ln ln M/ln M) with an unknown constant; the code
# drops ω_1. ln ln M/ln M = 0.36 at M = 34; the band (1 ± 0.5)·t_0 is an allowance for it (a cut-off).
SNAP_BAND = 0.5
# B_n(t_0) is η_Z-free by algebra (fp64 round-off); the ODE's ln χ(t_0) by an exact time rescaling, to the
# LSODA integration error (rtol 1e-8). Allowances with margin (cut-offs).
CLOSED_FORM_SPREAD = 1e-9
ODE_SPREAD = 1e-4


def _peak(rows: pd.DataFrame, name: str) -> pd.Series:
    return metric(rows, name).iloc[0]


def check_g_peak(rows: pd.DataFrame) -> Verdict:
    """Thm 1 + Eqn 85 (one η_Y): ‖g_n‖ ≈ γ(t), so ‖g_n‖ peaks at γ's closed-form peak time."""
    g = _peak(rows, "g_peak_time")
    step = grid_spacing(_peak(rows, "z_speed_peak_time")["predicted"])
    gap = abs(g["value"] - g["predicted"])
    g_norm = metric(rows, "g_norm")
    mismatch = (g_norm["value"] - g_norm["predicted"]).abs().max() / g_norm["predicted"].max()
    return Verdict(
        "pass" if gap <= step else "fail",
        f"t·η_Y = {g['predicted'] * g['lr_y']:.3f} (γ peak)",
        f"t·η_Y = {g['value'] * g['lr_y']:.3f} (ratio {g['value'] / g['predicted']:.3f})",
        f"|Δt| ≤ one grid step {step:.3g}",
        f"Theorem 1: max |‖g_n‖ − γ(t)| / max γ = {mismatch:.3f} (not asserted)",
    )


def late_g_peak(rows: pd.DataFrame) -> bool:
    """The documented failure: ‖g_n‖ peaks after γ's closed-form peak, by less than 10%."""
    g = _peak(rows, "g_peak_time")
    return bool(1 < g["value"] / g["predicted"] < 1.1)


def check_scaling(rows: pd.DataFrame) -> Verdict:
    """Thm 4, Eqn 14: the ‖g_n‖ peak time scales as 1/η_Y (t·η_Y the same at every η_Y)."""
    peaks = metric(rows, "g_peak_time").sort_values("lr_y")
    t_snap = metric(rows, "z_speed_peak_time").set_index("lr_y")["predicted"]
    product = (peaks["value"] * peaks["lr_y"]).to_numpy()
    # Each peak is located to half a grid step, so each product to ½·spacing·η_Y; their spread to the sum of two.
    allowed = max(grid_spacing(t_snap[lr_y]) * lr_y for lr_y in peaks["lr_y"])
    spread = np.ptp(product)
    return Verdict(
        "pass" if spread <= allowed else "fail",
        "t_peak·η_Y constant in η_Y",
        f"t_peak·η_Y = {np.round(product, 3).tolist()} at η_Y = {peaks['lr_y'].tolist()}",
        f"spread ≤ {allowed:.3g} (grid resolution)",
    )


def check_speed_peak(rows: pd.DataFrame) -> Verdict:
    """Thm 4, Eqn 14 (one η_Y): ‖ż‖ peaks near t_0 = 2K ln M/η_Y."""
    speed = _peak(rows, "z_speed_peak_time")
    ratio = speed["value"] / speed["predicted"]
    return Verdict(
        "pass" if abs(ratio - 1) <= SNAP_BAND else "fail",
        f"t_0 = {speed['predicted']:.3f}",
        f"peak at {speed['value']:.3f} (ratio {ratio:.3f})",
        f"(1 ± {SNAP_BAND:g})·t_0",
    )


def check_snap_b(rows: pd.DataFrame) -> Verdict:
    """Eqn 129 (Fig. 9): B_n(t_0) and the ODE's ln χ_l0(t_0) do not depend on η_Z at fixed η_Y/η_Z."""
    closed = metric(rows, "closed_form_B_t0")["value"].to_numpy()
    ode = metric(rows, "ode_log_chi_t0")["value"].to_numpy()
    spread_closed = np.ptp(closed) / np.abs(closed).max()
    spread_ode = np.ptp(ode) / np.abs(ode).max()
    ok = spread_closed <= CLOSED_FORM_SPREAD and spread_ode <= ODE_SPREAD
    return Verdict(
        "pass" if ok else "fail",
        "the same value at every η_Z",
        f"closed-form B(t_0) = {closed[0]:.4f} (rel. spread {spread_closed:.1e}); ODE ln χ(t_0) = "
        f"{ode[0]:.4f} (rel. spread {spread_ode:.1e}) over η_Z = {len(ode)} values",
        f"rel. spread ≤ {CLOSED_FORM_SPREAD:g} (closed form), ≤ {ODE_SPREAD:g} (ODE)",
    )


SNAP_CLAIMS = (
    Claim(
        "scan_snap.snap_time",
        "‖g_n‖ peaks at the closed-form peak time of γ(t)",
        "Tian et al. 2023, Thm 1, Eqn 85 (γ-peak time derived)",
        "theorem",
        section_scope("snap", cells=("lr_y",), metrics=("g_peak_time", "z_speed_peak_time", "g_norm")),
        Tolerance("one grid step", "derived", "the peak is located on a grid of spacing 6t_0/1200 = t_0/200"),
        check_g_peak,
        "dynamics.png",
        KnownFailure(
            late_g_peak,
            "‖g_n‖ peaks 8.7% after γ's closed-form peak at every η_Y (t·η_Y = 7.12 vs "
            "6.55, 8 grid steps; quick profile). Theorem 1 gives ‖g_n‖ = γ(t)·‖ι_n f_n − Σ β_nn' f_n'‖, "
            "and the second factor is not constant in t (f_n moves with Z) on Syn-Small, whose strong "
            "common-token overlap is outside Assumption 2; ‖g_n‖ departs from γ(t) by up to 17.5% of "
            "max γ. Which term shifts the peak is not isolated",
        ),
    ),
    Claim(
        "scan_snap.snap_time_scaling",
        "the ‖g_n‖ peak time scales as 1/η_Y",
        "Tian et al. 2023, Thm 4, Eqn 14",
        "theorem",
        section_scope("snap", metrics=("g_peak_time", "z_speed_peak_time")),
        Tolerance(
            "grid resolution",
            "derived",
            "each peak is located to ½ grid step (t_0/400), so t·η_Y to ½·(t_0η_Y)/200 and the spread "
            "of two to (t_0η_Y)/200 = 2K ln M/(200)",
        ),
        check_scaling,
        "dynamics.png",
    ),
    Claim(
        "scan_snap.snap_speed_peak",
        "the attention speed ‖ż‖ peaks near t_0 = 2K ln M/η_Y",
        "Tian et al. 2023, Thm 4, Eqn 14",
        "theorem",
        section_scope("snap", cells=("lr_y",), metrics=("z_speed_peak_time",)),
        Tolerance(
            f"±{SNAP_BAND:g}·t_0",
            "cut-off",
            "t_0 carries the factor 1 + ω_1, ω_1 = Θ(ln ln M/ln M) ≈ 0.36 at M = 34, unknown constant",
        ),
        check_speed_peak,
        "dynamics.png",
    ),
    Claim(
        "scan_snap.snap_b_eta_z",
        "B_n(t_0) and the ODE's ln χ_l0(t_0) are independent of η_Z at fixed η_Y/η_Z",
        "Tian et al. 2023, Eqn 129, Fig. 9",
        "consistency",
        section_scope("snap", metrics=("closed_form_B_t0", "ode_log_chi_t0")),
        Tolerance(
            f"{CLOSED_FORM_SPREAD:g} / {ODE_SPREAD:g}",
            "cut-off",
            "an exact time rescaling: η_Z only sets the clock at fixed η_Y/η_Z, and t_0 ∝ 1/η_Y; the "
            "allowances cover fp64 round-off and LSODA integration error",
        ),
        check_snap_b,
    ),
)
