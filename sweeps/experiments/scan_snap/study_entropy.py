"""The ``entropy`` study of Scan and Snap (Tian et al. 2023, Fig. 6): Syn-Medium entropy of c_n on its distinct
tokens after SGD with momentum, per (K, η_Z, η_Y/η_Z), beside the reported mean."""

from __future__ import annotations

import pandas as pd

from attnbench.sweeps.experiments.base import RunContext
from attnbench.sweeps.experiments.scan_snap.common import SGDConfig, classes_of, distinct_matrix, train_sgd
from attnbench.sweeps.experiments.scan_snap.params import EntropyParams, reported_entropy
from attnbench.sweeps.rows import Row, row
from attnbench.tasks.scan_snap import ScanSnapConfig
from attnbench.theory import scan_snap as theory


def run_entropy(params: EntropyParams, ctx: RunContext) -> pd.DataFrame:
    """One row per seed and Fig. 6 cell: the distinct-token entropy at the last step (notes B6 setting)."""
    rows: list[Row] = []
    for num_last in params.num_lasts:
        for lr_z in params.lr_zs:
            for ratio in params.ratios:
                configs = [
                    ScanSnapConfig(
                        num_queries=num_last,
                        classes_per_query=2,
                        seq_len=128,
                        batch_size=params.batch_size,
                        stream=ctx.seed * 1000 + s,
                    )
                    for s in range(params.seeds)
                ]
                sgd = SGDConfig(lr_y=ratio * lr_z, lr_z=lr_z, momentum=params.momentum, steps=params.steps)
                _, zs, _ = train_sgd(configs, sgd, params.init, params.steps, init_seed=ctx.seed * 7919 + num_last)
                c = theory.attention_map(zs[-1], classes_of(configs[0]))
                values = theory.distinct_entropy(c, distinct_matrix(configs[0]))
                reported, _ = reported_entropy(2 * num_last, lr_z, ratio)
                rows += [
                    row(
                        "distinct_entropy",
                        v,
                        predicted=reported,
                        step=params.steps,
                        seed=s,
                        num_classes=2 * num_last,
                        lr_z=lr_z,
                        ratio=ratio,
                    )
                    for s, v in enumerate(values)
                ]
    return pd.DataFrame(rows)
