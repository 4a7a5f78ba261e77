"""The ``scan`` study of Scan and Snap (Tian et al. 2023, Thm 2(b), Cor. 2, Thm 3): the long-horizon population
ODE of Syn-Small, per η_Y/η_Z: common-token mass, distinct-token logits and within-distinct attention shares."""

from __future__ import annotations

import numpy as np
import pandas as pd

from attnbench.sweeps.experiments.base import RunContext
from attnbench.sweeps.experiments.scan_snap.common import attention_summary, classes_of, syn_small
from attnbench.sweeps.experiments.scan_snap.params import ScanParams
from attnbench.sweeps.rows import Row, row
from attnbench.tasks.scan_snap import distinct_tokens, query_of_class
from attnbench.theory import scan_snap as theory

SCAN_POINTS = 200  # log-spaced ODE times in [1, horizon], plus t = 0


def run_scan(params: ScanParams, ctx: RunContext) -> pd.DataFrame:
    """Long-horizon population ODE per η_Y/η_Z: common mass, distinct logits, within-distinct shares."""
    config = syn_small()
    classes = classes_of(config)
    times = np.concatenate([[0.0], np.geomspace(1.0, params.horizon, SCAN_POINTS)])
    tokens, query = distinct_tokens(config, 0), query_of_class(config)[0]
    rows: list[Row] = []
    for ratio in params.ratios:
        _, z = theory.integrate_population(classes, times, ratio * params.lr_z, params.lr_z)
        c = theory.attention_map(z, classes)
        share = c[:, 0, tokens] / c[:, 0, tokens].sum(-1, keepdims=True)
        series = {"common_mass": attention_summary(c, config)["common_mass"], "dominant_attention": c[:, 0, tokens[-1]]}
        series |= {f"distinct_share_{rank}": share[:, rank] for rank in range(len(tokens))}
        series |= {f"distinct_logit_{rank}": z[:, query, token] for rank, token in enumerate(tokens)}
        rows += [
            row(metric, v, step=t, ratio=ratio)
            for metric, values in series.items()
            for t, v in zip(times, values, strict=True)
        ]
    return pd.DataFrame(rows)
