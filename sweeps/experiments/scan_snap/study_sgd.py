"""SGD studies of Scan and Snap (Tian et al. 2023): ``ode_match`` (Lemmas 1–2) and ``fig4`` (the Fig. 4 log)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from attnbench.sweeps.experiments.base import RunContext
from attnbench.sweeps.experiments.scan_snap.common import SGDConfig, attention_summary, classes_of, syn_small, train_sgd
from attnbench.sweeps.experiments.scan_snap.params import REPORTED_FIG4_LOSS, Fig4Params, OdeMatchParams
from attnbench.sweeps.rows import Row, row
from attnbench.theory import scan_snap as theory


def run_ode_match(params: OdeMatchParams, ctx: RunContext) -> pd.DataFrame:
    """SGD at each (momentum β, T) with step size lr·(1−β), against the flow at rate lr on the mapped time."""
    rows: list[Row] = []
    for momentum in params.momenta:
        sgd = SGDConfig(
            lr_y=params.lr_y * (1 - momentum), lr_z=params.lr_z * (1 - momentum), momentum=momentum, steps=params.steps
        )
        for seq_len in params.seq_lens:
            configs = [syn_small(seq_len, params.batch_size, ctx.seed * 1000 + s) for s in range(params.seeds)]
            classes = classes_of(configs[0])
            steps, zs, _ = train_sgd(configs, sgd, "zero", params.record_every)
            times = np.asarray(theory.momentum_time(steps.astype(float), momentum))
            _, z_ode = theory.integrate_population(classes, times, params.lr_y, params.lr_z)
            measured = attention_summary(theory.attention_map(zs, classes), configs[0])
            predicted = attention_summary(theory.attention_map(z_ode, classes), configs[0])
            rows += [
                row(
                    metric,
                    values[i, s],
                    predicted=predicted[metric][i],
                    step=step,
                    seed=s,
                    seq_len=seq_len,
                    momentum=momentum,
                )
                for metric, values in measured.items()
                for i, step in enumerate(steps)
                for s in range(params.seeds)
            ]
    return pd.DataFrame(rows)


def run_fig4_loss(params: Fig4Params, ctx: RunContext) -> pd.DataFrame:
    """The authors' Fig. 4 run (notes B6: zero init, η_Y = η_Z = 1, momentum 0.9, T = 128, batch 128)."""
    configs = [syn_small(128, params.batch_size, ctx.seed * 1000 + s) for s in range(params.seeds)]
    sgd = SGDConfig(lr_y=1.0, lr_z=1.0, momentum=0.9, steps=max(REPORTED_FIG4_LOSS) + 1)
    _, _, losses = train_sgd(configs, sgd, "zero", sgd.steps)
    return pd.DataFrame(
        [
            row("loss", losses[step, s], predicted=reported, step=step, seed=s)
            for step, reported in REPORTED_FIG4_LOSS.items()
            for s in range(params.seeds)
        ]
    )
