"""The ``decoder`` study of Scan and Snap (Tian et al. 2023, Lemmas 5–7, Eqns 33, 44–45): the Lambert-W h(t)
against the discrete recursion h*(s)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from attnbench.sweeps.experiments.base import RunContext
from attnbench.sweeps.experiments.scan_snap.params import DecoderParams
from attnbench.sweeps.rows import Row, row
from attnbench.theory import scan_snap as theory


def run_decoder(params: DecoderParams, ctx: RunContext) -> pd.DataFrame:
    """Per (M, η_Y): max_s |h*(s) − h(s)| beside the 2η_Y/M bound, and the relative residual of Eqn 45."""
    rows: list[Row] = []
    t = np.arange(params.steps + 1)
    for m in params.vocab_sizes:
        for lr_y in params.lr_ys:
            discrete = theory.h_discrete(params.steps, m, lr_y)
            continuous = theory.h_continuous(t, m, lr_y)
            residual = np.exp(m * continuous) + (m - 1) * m * continuous - (m * lr_y * t + 1)
            common = dict(vocab_size=m, lr_y=lr_y)
            rows.append(
                row(
                    "max_gap",
                    np.abs(discrete - continuous).max(),
                    predicted=theory.discrete_gap_bound(m, lr_y),
                    **common,
                )
            )
            rows.append(row("implicit_residual", np.abs(residual / (m * lr_y * t + 1)).max(), predicted=0.0, **common))
    return pd.DataFrame(rows)
