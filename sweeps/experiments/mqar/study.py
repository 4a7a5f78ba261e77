"""MQAR training: recall vs model width and number of key-value pairs (Arora et al. 2024, "Zoology", Fig. 2).

Two stages per mixer, both through `attnbench.sweeps.token_training.select_learning_rate` (one batched run of
members, AdamW with weight decay, warm-up then cosine decay, validation learning curves):

1. lr search: at the grid's calibration cell (its median width and median K) every lr of ``lrs`` is trained on
   ``seeds`` calibration seeds, kept apart from the evaluation seeds; the lr with the best mean validation
   accuracy is the mixer's (rows tagged ``stage = "lr_search"``).
2. evaluation: at every (K, width) the evaluation seeds are trained at that lr and scored once on the test
   split (per-token accuracy on query positions only; rows tagged ``stage = "evaluation"``).

A cell whose lr diverged in every member stops the run with `Diverged`, keeping every row measured so far; an
lr that diverged beside a finite one stays as a ``diverged`` row (value = the step). Every row carries the
mixer's exact-recall ``capacity`` (`attnbench.theory.recall_capacity`): the pairs its state can hold.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial

import numpy as np
import pandas as pd

from attnbench.errors import ConfigError, require
from attnbench.models.backbone import Backbone
from attnbench.models.zoo import MIXERS
from attnbench.sweeps.experiments.base import RunContext
from attnbench.sweeps.rows import Row, row
from attnbench.sweeps.token_training import (
    Selected,
    rows_kept_on_divergence,
    select_learning_rate,
    to_device,
    token_accuracy,
)
from attnbench.sweeps.validation import Params, param
from attnbench.tasks.mqar import FILLER_MODES, MQARConfig, chance_accuracy
from attnbench.theory.recall_capacity import recall_capacity

RECALL_MIXERS = ["softmax", "linear", "linear_elu", "lla", "sigmoid", "deltanet", "gated_linear", "random_feature"]
CALIBRATION_SEED_OFFSET = 1_000_000  # calibration seed s is ctx.seed + offset + s: never an evaluation seed
# The paper profile's overrides: Zoology's Fig. 2 sizes (Arora et al. 2024, App. E), no width cap.
PAPER = {
    "max_width": {},
    "vocab_size": 8192,
    "seq_len": 256,
    "kv_pairs": [4, 8, 16, 32, 64],
    "widths": [64, 128, 256, 512],
    "models": ["softmax", "linear", "deltanet", "lla"],
    "fillers": "zoology",
    "lrs": [1e-4, 4.6e-4, 2.2e-3, 1e-2],
    "steps": 50_000,
    "batch_size": 128,
    "eval_batches": 24,
}


@dataclass
class MQARParams(Params):
    """The MQAR grid. The quick sizes put the largest K (12) above the exact-recall capacity of a linear state
    at the smallest width (d = 8 pairs). ``max_width`` caps the widths a mixer is trained at (default: no cap).
    Hydra merges dicts, so add a cap with ``+params.max_width.lla=16``. ``num_passes`` repeats the context
    (Zoology's P)."""

    vocab_size: int = param(64, ge=4, help="vocabulary size V (keys from the lower, values from the upper half)")
    seq_len: int = param(48, ge=4, help="example length L (even; context 2K·P, then the query region)")
    kv_pairs: list[int] = param([3, 6, 12], ge=1, help="numbers K of key-value pairs, one cell each")
    widths: list[int] = param([8, 16, 32], ge=1, help="model widths d, one cell each (multiples of heads)")
    models: list[str] = param(RECALL_MIXERS, choices=sorted(MIXERS), help="sequence mixers")
    max_width: dict[str, int] = param({}, help="mixer -> the largest width it is trained at")
    fillers: str = param("disjoint", choices=FILLER_MODES, help="filler tokens of the query region")
    power_a: float = param(0.01, gt=0, help="Zoology's query-gap power law exponent a")
    num_passes: int = param(1, ge=1, help="times the context is repeated (Zoology's P)")
    depth: int = param(2, ge=1, help="backbone layers")
    heads: int = param(1, ge=1, help="attention heads per layer")
    mlp_ratio: int = param(0, ge=0, help="MLP hidden width / d (0: no MLP, as in Zoology)")
    conv_kernel: int = param(3, ge=0, help="short causal convolution before each mixer (0: none)")
    lrs: list[float] = param([3e-3, 1e-2, 3e-2], gt=0, help="AdamW learning rates searched per mixer")
    weight_decay: float = param(0.1, ge=0, help="AdamW's decoupled weight decay")
    steps: int = param(800, ge=1, help="AdamW steps per member (warm-up 10%, then cosine decay)")
    batch_size: int = param(32, ge=1, help="training examples per step")
    seeds: int = param(3, ge=2, help="seeds per cell (>= 2: the claims compare seed means by t-test)")
    eval_batches: int = param(4, ge=1, help="validation and test batches per cell")

    def check(self) -> None:
        require(self.seq_len % 2 == 0, "params.seq_len", f"must be even (Zoology's layout), got {self.seq_len}")
        for kv_pairs in self.kv_pairs:
            try:
                self.task(kv_pairs)
            except ValueError as error:
                raise ConfigError(
                    f"params.kv_pairs: K={kv_pairs} with params.seq_len={self.seq_len}, "
                    f"params.num_passes={self.num_passes}, params.vocab_size={self.vocab_size}: "
                    f"{error}"
                ) from None
        require(
            all(w % self.heads == 0 for w in self.widths),
            "params.widths",
            f"must be multiples of params.heads={self.heads}, got {self.widths}",
        )
        require(
            all(m in MIXERS and w >= 1 for m, w in self.max_width.items()),
            "params.max_width",
            f"must map mixer names from {sorted(MIXERS)} to widths >= 1, got {self.max_width}",
        )
        for model in self.models:
            require(
                bool(self.widths_of(model)),
                "params.max_width",
                f"leaves {model!r} no width of params.widths={self.widths} (cap {self.max_width.get(model)})",
            )
            try:
                recall_capacity(model, self.widths[0], self.heads)
            except ValueError as error:
                raise ConfigError(f"params.models: {error}") from None

    def calibration_cell(self, model: str) -> tuple[int, int]:
        """The (width, K) of ``model``'s lr search: the median of its widths and of ``kv_pairs`` (upper median)."""
        widths, pairs = sorted(self.widths_of(model)), sorted(self.kv_pairs)
        return widths[len(widths) // 2], pairs[len(pairs) // 2]

    def widths_of(self, model: str) -> list[int]:
        """The widths ``model`` is trained at: ``widths`` up to its ``max_width`` cap."""
        return [w for w in self.widths if w <= self.max_width.get(model, w)]

    def task(self, kv_pairs: int) -> MQARConfig:
        """The MQAR task with ``kv_pairs`` pairs (its own checks: Zoology's layout and the vocabulary split)."""
        return MQARConfig(
            vocab_size=self.vocab_size,
            seq_len=self.seq_len,
            num_kv_pairs=kv_pairs,
            power_a=self.power_a,
            fillers=self.fillers,
            batch_size=self.batch_size,
            num_passes=self.num_passes,
        )


def run(params: MQARParams, ctx: RunContext) -> pd.DataFrame:
    """Per mixer: the lr search at its calibration cell, then per (K, width) test accuracy per evaluation seed."""
    seeds = [ctx.seed + s for s in range(params.seeds)]
    calibration_seeds = [ctx.seed + CALIBRATION_SEED_OFFSET + s for s in range(params.seeds)]
    tasks = {k: params.task(k) for k in params.kv_pairs}
    splits = {
        (k, split): [to_device(task.sample(split, i), ctx.device) for i in range(params.eval_batches)]
        for k, task in tasks.items()
        for split in ("val", "test")
    }
    rows: list[Row] = []

    def finish(measured: list[Row]) -> pd.DataFrame:
        return pd.DataFrame(measured).assign(seq_len=params.seq_len)

    def train(
        model: str, width: int, kv_pairs: int, stage: str, member_seeds: list[int], lrs: list[float]
    ) -> tuple[Selected, dict[str, object]]:
        factory = partial(
            Backbone,
            params.vocab_size,
            width,
            params.depth,
            model,
            heads=params.heads,
            mlp_ratio=params.mlp_ratio,
            max_len=params.seq_len,
            conv_kernel=params.conv_kernel,
        )
        cell = {
            "model": model,
            "width": width,
            "kv_pairs": kv_pairs,
            "stage": stage,
            "chance": chance_accuracy(tasks[kv_pairs]),
            "capacity": recall_capacity(model, width, params.heads),
        }
        selected = select_learning_rate(
            factory,
            member_seeds,
            tasks[kv_pairs],
            lrs,
            steps=params.steps,
            weight_decay=params.weight_decay,
            val_batches=splits[kv_pairs, "val"],
            cell=cell,
            device=ctx.device,
            progress=ctx.progress,
            desc=f"mqar {stage} {model} d={width} K={kv_pairs}",
        )
        rows.extend(selected.rows)
        return selected, cell

    with rows_kept_on_divergence(rows, finish):
        for model in params.models:
            width, kv_pairs = params.calibration_cell(model)
            lr = train(model, width, kv_pairs, "lr_search", calibration_seeds, params.lrs)[0].lr
            for kv_pairs in params.kv_pairs:
                for width in params.widths_of(model):
                    selected, cell = train(model, width, kv_pairs, "evaluation", seeds, [lr])
                    test = splits[kv_pairs, "test"]
                    rows.extend(
                        row("test_accuracy", token_accuracy(member, test), predicted=np.nan, seed=seed, lr=lr, **cell)
                        for seed, member in zip(seeds, selected.members, strict=True)
                    )
    return finish(rows)
