"""MQAR training: recall vs model width and number of key-value pairs (Arora et al. 2024, "Zoology", Fig. 2).

For every (K, mixer, width) the shared `Backbone` is trained at every (seed, lr) in one batched run
(`attnbench.sweeps.token_training.select_learning_rate`, which also records validation learning curves); the lr
with the best mean validation accuracy is kept and scored once on the test split (per-token accuracy on
query positions only). A cell whose every lr diverged stops the run with `Diverged`, keeping every row
measured so far; the lrs that diverged beside a finite one stay as ``diverged`` rows (value = the step).
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
from attnbench.sweeps.token_training import rows_kept_on_divergence, select_learning_rate, to_device, token_accuracy
from attnbench.sweeps.validation import Params, param
from attnbench.tasks.mqar import FILLER_MODES, MQARConfig, chance_accuracy

RECURRENT_STATE = ("linear", "linear_elu", "deltanet", "deltanet_neg", "lightning")
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
    """The MQAR grid. ``max_width`` caps the widths a mixer is trained at (quick: LLA only at d = 32, where a
    step costs ~10x softmax's on the CPU; paper: no cap). Hydra merges dicts, so change a cap with
    ``params.max_width.lla=64`` and add one with ``+params.max_width.linear=32``. ``num_passes`` repeats the
    context (Zoology's P)."""

    vocab_size: int = param(64, ge=4, help="vocabulary size V (keys from the lower, values from the upper half)")
    seq_len: int = param(32, ge=4, help="example length L (even; context 2K·P, then the query region)")
    kv_pairs: list[int] = param([2, 8], ge=1, help="numbers K of key-value pairs, one cell each")
    widths: list[int] = param([32, 64], ge=1, help="model widths d, one cell each (multiples of heads)")
    models: list[str] = param(["softmax", "linear", "lla"], choices=sorted(MIXERS), help="sequence mixers")
    max_width: dict[str, int] = param({"lla": 32}, help="mixer -> the largest width it is trained at")
    fillers: str = param("disjoint", choices=FILLER_MODES, help="filler tokens of the query region")
    power_a: float = param(0.01, gt=0, help="Zoology's query-gap power law exponent a")
    num_passes: int = param(1, ge=1, help="times the context is repeated (Zoology's P)")
    depth: int = param(2, ge=1, help="backbone layers")
    heads: int = param(1, ge=1, help="attention heads per layer")
    mlp_ratio: int = param(0, ge=0, help="MLP hidden width / d (0: no MLP, as in Zoology)")
    lrs: list[float] = param([3e-3], gt=0, help="Adam learning rates searched on the validation split")
    steps: int = param(600, ge=1, help="Adam steps per learning rate")
    batch_size: int = param(64, ge=1, help="training examples per step")
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


def state_size(model: str, width: int, seq_len: int) -> float:
    """Recurrent-state floats per layer: 2·width·L for softmax (its KV cache, Zoology's convention), width²
    for the one-head linear recurrences (S ∈ R^{d×d}); NaN where not defined here."""
    if model == "softmax":
        return 2.0 * width * seq_len
    return float(width**2) if model in RECURRENT_STATE else float("nan")


def run(params: MQARParams, ctx: RunContext) -> pd.DataFrame:
    """Per (K, mixer, width): the lr search's validation rows, then test accuracy per seed at the chosen lr."""
    seeds = [ctx.seed + s for s in range(params.seeds)]
    rows: list[Row] = []

    def finish(measured: list[Row]) -> pd.DataFrame:
        return pd.DataFrame(measured).assign(seq_len=params.seq_len)

    with rows_kept_on_divergence(rows, finish):
        for kv_pairs in params.kv_pairs:
            task = params.task(kv_pairs)
            val = [to_device(task.sample("val", i), ctx.device) for i in range(params.eval_batches)]
            test = [to_device(task.sample("test", i), ctx.device) for i in range(params.eval_batches)]
            for model in params.models:
                for width in params.widths_of(model):
                    factory = partial(
                        Backbone,
                        params.vocab_size,
                        width,
                        params.depth,
                        model,
                        heads=params.heads,
                        mlp_ratio=params.mlp_ratio,
                        max_len=params.seq_len,
                    )
                    cell = {
                        "model": model,
                        "width": width,
                        "kv_pairs": kv_pairs,
                        "chance": chance_accuracy(task),
                        "state_size": state_size(model, width, params.seq_len),
                    }
                    selected = select_learning_rate(
                        factory,
                        seeds,
                        task,
                        params.lrs,
                        steps=params.steps,
                        val_batches=val,
                        cell=cell,
                        device=ctx.device,
                        progress=ctx.progress,
                        desc=f"mqar {model} d={width} K={kv_pairs}",
                    )
                    rows += selected.rows
                    rows += [
                        row(
                            "test_accuracy",
                            token_accuracy(member, test),
                            predicted=np.nan,
                            seed=seed,
                            lr=selected.lr,
                            **cell,
                        )
                        for seed, member in zip(seeds, selected.members, strict=True)
                    ]
    return finish(rows)
