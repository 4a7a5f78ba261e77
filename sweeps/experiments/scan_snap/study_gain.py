"""The ``gain`` and ``reduced`` studies of Scan and Snap (Tian et al. 2023, Lemma 4, Thm 1, Thm 3 Eqns 11–12,
110): the reduced Z-only ODE against the joint (Y, Z) population ODE."""

from __future__ import annotations

import numpy as np
import pandas as pd

from attnbench.sweeps.experiments.base import RunContext
from attnbench.sweeps.experiments.scan_snap.common import classes_of, syn_small
from attnbench.sweeps.experiments.scan_snap.params import GainParams, ReducedParams
from attnbench.sweeps.rows import Row, row
from attnbench.tasks.scan_snap import ScanSnapConfig, distinct_tokens, query_of_class
from attnbench.theory import scan_snap as theory


def run_gain(params: GainParams, ctx: RunContext) -> pd.DataFrame:
    """Max |Eqn 110 residual| of each distinct token against the dominant one, reduced ODE vs joint ODE, and the
    worst violation of the Eqn 12 bounds along the reduced ODE (≤ 0 when they hold)."""
    config = syn_small()
    classes = classes_of(config)
    tokens, query = distinct_tokens(config, 0), query_of_class(config)[0]
    p = classes.probs[0, tokens]
    times = np.linspace(0.0, params.steps, 401)
    f0 = classes.probs[0] / np.linalg.norm(classes.probs[0])
    rows: list[Row] = []

    def gap(z: np.ndarray) -> float:
        dz = z[:, query, tokens]
        return max(
            np.abs(theory.relative_gain_identity_gap(dz[:, -1], dz[:, i], p[-1], p[i])).max()
            for i in range(len(tokens) - 1)
        )

    for ratio in params.ratios:
        lr_y = ratio * params.lr_z
        z_red, b = theory.integrate_reduced(classes, times, lr_y, params.lr_z)
        _, z_joint = theory.integrate_population(classes, times, lr_y, params.lr_z)
        # Eqn 12: e^{2 f_l0(0)^2 B} <= chi_l0 <= e^{2B}, in log form.
        log_chi = 2 * z_red[:, query, tokens[-1]]
        violation = max((2 * f0[tokens[-1]] ** 2 * b[:, 0] - log_chi).max(), (log_chi - 2 * b[:, 0]).max())
        rows += [
            row(metric, value, predicted=0.0, ratio=ratio)
            for metric, value in (
                ("identity_gap_reduced", gap(z_red)),
                ("identity_gap_joint", gap(z_joint)),
                ("bound_violation", violation),
            )
        ]
    return pd.DataFrame(rows)


def weak_correlation_config() -> ScanSnapConfig:
    """A Syn-Small variant close to Assumption 2: 2 light common tokens, 4 classes on one query (E_nn' ≈ 0.045)."""
    return ScanSnapConfig(num_common=2, common_weight=0.3, num_queries=1, classes_per_query=4)


def run_reduced(params: ReducedParams, ctx: RunContext) -> pd.DataFrame:
    """Reduced Z-only ODE vs joint ODE: max |c_red − c_joint| / max |c_joint(t) − c_joint(0)| up to t = 20K ln M/η_Z."""
    rows: list[Row] = []
    for name, config in (("syn_small", syn_small()), ("weak", weak_correlation_config())):
        classes = classes_of(config)
        horizon = 10 * theory.transition_times(config.vocab_size, config.num_classes, params.lr_z)[1]
        times = np.linspace(0.0, horizon, 401)
        for ratio in params.ratios:
            lr_y = ratio * params.lr_z
            z_red, _ = theory.integrate_reduced(classes, times, lr_y, params.lr_z)
            _, z_joint = theory.integrate_population(classes, times, lr_y, params.lr_z)
            c_red, c_joint = theory.attention_map(z_red, classes), theory.attention_map(z_joint, classes)
            mismatch = np.abs(c_red - c_joint).max() / np.abs(c_joint - c_joint[0]).max()
            rows.append(row("relative_mismatch", mismatch, ratio=ratio, data=name))
    return pd.DataFrame(rows)
