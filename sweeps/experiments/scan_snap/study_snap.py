"""The ``snap`` study of Scan and Snap (Tian et al. 2023, Thm 1, Thm 4 Eqn 14, Eqn 129, Fig. 9): peak times of
‖g_n‖ (≈ γ(t), Theorem 1) and of ‖ż‖ against η_Y, and B_n(t_0) against η_Z at fixed η_Y/η_Z."""

from __future__ import annotations

import numpy as np
import pandas as pd

from attnbench.sweeps.experiments.base import RunContext
from attnbench.sweeps.experiments.scan_snap.common import classes_of, syn_small
from attnbench.sweeps.experiments.scan_snap.params import SnapParams
from attnbench.sweeps.rows import Row, row
from attnbench.tasks.scan_snap import distinct_tokens
from attnbench.theory import scan_snap as theory

# The peak-time grid: SNAP_POINTS equally spaced ODE times on [0, SNAP_HORIZON·t_0], so its spacing is
# SNAP_HORIZON·t_0/(SNAP_POINTS − 1) = t_0/200 and a peak time is located to half that.
SNAP_HORIZON = 6.0
SNAP_POINTS = 1201
G_NORM_EVERY = 20  # every 20th grid time of ‖g_n‖(t) and γ(t) is stored, for the figure and the Thm 1 check


def grid_spacing(t_snap: float) -> float:
    """Spacing of the peak-time grid for t_0 = ``t_snap``."""
    return SNAP_HORIZON * t_snap / (SNAP_POINTS - 1)


def gradient_norm(y: np.ndarray, z: np.ndarray, classes: theory.Classes) -> np.ndarray:
    """Mean over classes of ‖g_n‖ = ‖Y(e_y(n) − α_n)‖ along a trajectory (Theorem 1: ≈ γ(t))."""
    c = theory.attention_map(z, classes)
    f = c / np.linalg.norm(c, axis=-1, keepdims=True)
    logits = np.einsum("tkm,tmj->tkj", f, y)
    alpha = np.exp(logits - logits.max(-1, keepdims=True))
    residual = -alpha / alpha.sum(-1, keepdims=True)
    residual[:, np.arange(classes.num_classes), classes.labels] += 1
    return np.linalg.norm(np.einsum("tij,tkj->tki", y, residual), axis=-1).mean(-1)


def run_snap(params: SnapParams, ctx: RunContext) -> pd.DataFrame:
    """Per η_Y: the ‖g_n‖ and ‖ż‖ peak times (with γ's closed-form peak and t_0); per η_Z at η_Y/η_Z fixed: the
    ODE's ln χ_l0(t_0) and the closed-form B_n(t_0)."""
    config = syn_small()
    classes = classes_of(config)
    m, k = config.vocab_size, config.num_classes
    rows: list[Row] = []
    for lr_y in params.lr_ys:
        t_scan, t_snap = theory.transition_times(m, k, lr_y)
        times = np.linspace(0.0, SNAP_HORIZON * t_snap, SNAP_POINTS)
        y, z = theory.integrate_population(classes, times, lr_y, params.lr_z)
        grad = gradient_norm(y, z, classes)
        speed = np.linalg.norm(np.gradient(z[:, classes.queries], times, axis=0).reshape(len(times), -1), axis=-1)
        common = dict(lr_y=lr_y, lr_z=params.lr_z)
        rows.append(row("g_peak_time", times[grad.argmax()], predicted=theory.gamma_peak_time(m, k, lr_y), **common))
        rows.append(row("z_speed_peak_time", times[speed.argmax()], predicted=t_snap, **common, t_scan=t_scan))
        every = slice(None, None, G_NORM_EVERY)
        rows += [
            row("g_norm", g, predicted=gm, step=t, lr_y=lr_y)
            for t, g, gm in zip(times[every], grad[every], theory.gamma(times[every], m, k, lr_y), strict=True)
        ]
    dominant = distinct_tokens(config, 0)[-1]
    for lr_z in params.lr_zs:
        lr_y = params.ratio * lr_z
        t_snap = theory.transition_times(m, k, lr_y)[1]
        _, z = theory.integrate_population(classes, np.array([0.0, t_snap]), lr_y, lr_z)
        common = dict(lr_y=lr_y, lr_z=lr_z)
        rows.append(row("ode_log_chi_t0", 2 * z[-1, classes.queries[0], dominant], **common))
        rows.append(row("closed_form_B_t0", theory.snap_b(t_snap, m, k, lr_y, lr_z, params.c0), **common))
    return pd.DataFrame(rows)
