"""State-tracking training: parity, modular arithmetic and group word problems, scored by example length.

Setting of Grazzi et al. 2025 ("Unlocking State-Tracking in Linear RNNs Through Negative Eigenvalues",
Sec. 5): train on lengths 3..40, test on 40..256 (the paper profile). The quick profile keeps a ×4 length
split at a quarter of the length, train 3..10 and test 10..40, where a 2-layer width-32 softmax model fits a
task in distribution within its budget: on calibration seeds (1_000_000+) parity at lengths 3..10 reached
0.94-0.95 after 3000 steps. (The former profile, train 3..40 and 400 steps, had left softmax parity at
0.48-0.56, chance 0.5, on the evaluation seeds.) The quick profile trains 6000 steps: at 3000 (commit da2a578)
the evaluation seeds' in-distribution learning curves of softmax and LLA on S3 and modular arithmetic were
still rising, every seed by +0.023 to +0.117 over the second half, and softmax's parity fit was 0.875.

For each (task, mixer) the shared `Backbone` (no position embedding, so order comes from the mixer and the
short convolution before it, whose zero padding also marks the first token) is trained at every (seed, lr) in
one batched run (`attnbench.sweeps.token_training.select_learning_rate`, which also records two learning
curves: on the validation split, and in distribution, ``id_accuracy_curve``, on validation batches at the
training lengths); the lr with the best mean validation accuracy (validation lengths = test lengths, as in
Grazzi et al.) is kept and scored once on the test split, binned by example length, and on fresh
in-distribution batches. Word problems over S3, S5, A5, Z60 score the prefix product at every position (Merrill
et al. 2024). A cell whose every lr diverged stops the run with `Diverged`, keeping every row measured so far.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from functools import partial

import numpy as np
import pandas as pd
import torch

from attnbench.errors import ConfigError, require
from attnbench.models.backbone import Backbone
from attnbench.models.zoo import MIXERS
from attnbench.sweeps.experiments.base import RunContext
from attnbench.sweeps.rows import Row, row
from attnbench.sweeps.token_training import (
    correct_tokens,
    rows_kept_on_divergence,
    select_learning_rate,
    to_device,
    token_accuracy,
)
from attnbench.sweeps.validation import Params, param
from attnbench.tasks.state_tracking import (
    GROUPS,
    StateTrackingConfig,
    chance_accuracy,
    example_lengths,
    vocab_size,
)

TASK_NAMES = ("parity", "mod_arith", "mod_arith_brackets", *GROUPS)  # a group name means its word problem
# The paper profile's overrides: Grazzi et al. 2025's tasks and sizes (Sec. 5), all four mixers.
PAPER = {
    "tasks": ["parity", "mod_arith", "mod_arith_brackets", "S3", "S5", "A5", "Z60"],
    "models": ["softmax", "deltanet", "deltanet_neg", "lla"],
    "width": 128,
    "train_max_len": 40,
    "eval_min_len": 40,
    "eval_max_len": 256,
    "length_bins": [40, 64, 128, 192, 256],
    "lrs": [3e-4, 1e-3, 3e-3],
    "steps": 20_000,
    "batch_size": 256,
    "eval_batches": 32,
}


@dataclass
class StateTrackingParams(Params):
    """The state-tracking grid: tasks x mixers at one width; train lengths, test lengths and their bins."""

    tasks: list[str] = param(
        ["parity", "mod_arith", "S3"], choices=TASK_NAMES, help="tasks (a group name: its word problem)"
    )
    models: list[str] = param(
        ["softmax", "deltanet", "deltanet_neg", "lla"], choices=sorted(MIXERS), help="sequence mixers"
    )
    width: int = param(32, ge=1, help="model width d (a multiple of heads)")
    depth: int = param(2, ge=1, help="backbone layers")
    heads: int = param(1, ge=1, help="attention heads per layer")
    mlp_ratio: int = param(2, ge=0, help="MLP hidden width / d (0: no MLP)")
    conv_kernel: int = param(3, ge=0, help="short causal convolution before each mixer (0: none)")
    train_min_len: int = param(3, ge=3, help="shortest training example")
    train_max_len: int = param(10, ge=3, help="longest training example")
    eval_min_len: int = param(10, ge=3, help="shortest validation / test example")
    eval_max_len: int = param(40, ge=3, help="longest validation / test example")
    length_bins: list[int] = param([10, 20, 30, 40], ge=3, help="increasing test-length bin edges")
    lrs: list[float] = param([1e-3, 3e-3, 1e-2], gt=0, help="AdamW learning rates searched on the validation split")
    weight_decay: float = param(0.1, ge=0, help="AdamW's decoupled weight decay")
    steps: int = param(6000, ge=1, help="AdamW steps per member (warm-up 10%, then cosine decay)")
    batch_size: int = param(32, ge=1, help="training examples per step")
    seeds: int = param(3, ge=2, help="seeds per cell (>= 2: the claims compare seed means by t-test)")
    eval_batches: int = param(4, ge=1, help="validation, test and in-distribution batches per cell")

    def check(self) -> None:
        require(self.width % self.heads == 0, "params.width", f"must be a multiple of params.heads={self.heads}")
        require(
            self.train_min_len <= self.train_max_len,
            "params.train_min_len",
            f"must be <= params.train_max_len={self.train_max_len}, got {self.train_min_len}",
        )
        require(
            self.eval_min_len <= self.eval_max_len,
            "params.eval_min_len",
            f"must be <= params.eval_max_len={self.eval_max_len}, got {self.eval_min_len}",
        )
        bins = self.length_bins
        require(
            len(bins) >= 2
            and bins == sorted(set(bins))
            and bins[0] <= self.eval_min_len
            and bins[-1] >= self.eval_max_len,
            "params.length_bins",
            f"must be >= 2 increasing edges covering [{self.eval_min_len}, {self.eval_max_len}], got {bins}",
        )
        for name in self.tasks:
            try:
                self.task_config(name)
            except ValueError as error:
                raise ConfigError(f"params.tasks: {name} with these lengths: {error}") from None

    def task_config(self, name: str) -> StateTrackingConfig:
        word_problem = name in GROUPS
        return StateTrackingConfig(
            task="word_problem" if word_problem else name,
            group=name if word_problem else "S3",
            train_min_len=self.train_min_len,
            train_max_len=self.train_max_len,
            eval_min_len=self.eval_min_len,
            eval_max_len=self.eval_max_len,
            batch_size=self.batch_size,
        )


def _binned_rows(
    model: torch.nn.Module, task: StateTrackingConfig, batches: list, edges: list[int], /, *, seed: int, **keys: object
) -> list[Row]:
    """Test accuracy of seed ``seed`` per example-length bin [edges[i], edges[i+1]) (the last bin is closed),
    each row tagged with ``keys`` (the arguments are positional-only, so ``keys`` may name the cell's ``model``
    and ``task``)."""
    correct, scored, lengths = [], [], []
    for batch in batches:
        correct.append(correct_tokens(model, batch).sum(1).cpu())
        scored.append(batch.loss_mask.sum(1).cpu())
        lengths.append(example_lengths(task, batch).cpu())
    correct_t, scored_t, length_t = torch.cat(correct), torch.cat(scored), torch.cat(lengths)
    bins = np.clip(np.searchsorted(edges, length_t.numpy(), side="right") - 1, 0, len(edges) - 2)
    rows: list[Row] = []
    for b in range(len(edges) - 1):
        members = torch.from_numpy(bins == b)
        if members.any():
            tokens = int(scored_t[members].sum())
            rows.append(
                row(
                    "test_accuracy",
                    float(correct_t[members].sum()) / tokens,
                    seed=seed,
                    length_low=edges[b],
                    length_high=edges[b + 1],
                    scored_tokens=tokens,
                    **keys,
                )
            )
    return rows


def run(params: StateTrackingParams, ctx: RunContext) -> pd.DataFrame:
    """Per (task, mixer): the lr search's validation rows, then per seed at the chosen lr the in-distribution
    accuracy and the test accuracy per example-length bin."""
    seeds = [ctx.seed + s for s in range(params.seeds)]
    rows: list[Row] = []

    def finish(measured: list[Row]) -> pd.DataFrame:
        return pd.DataFrame(measured).assign(train_max_len=params.train_max_len)

    with rows_kept_on_divergence(rows, finish):
        for name in params.tasks:
            task = params.task_config(name)
            val = [to_device(task.sample("val", i), ctx.device) for i in range(params.eval_batches)]
            test = [to_device(task.sample("test", i), ctx.device) for i in range(params.eval_batches)]
            # the in-distribution test set: the task at its training lengths, test split (disjoint from training)
            at_train_lengths = replace(task, eval_min_len=task.train_min_len, eval_max_len=task.train_max_len)
            in_distribution = [
                to_device(at_train_lengths.sample("test", i), ctx.device) for i in range(params.eval_batches)
            ]
            id_val = [to_device(at_train_lengths.sample("val", i), ctx.device) for i in range(params.eval_batches)]
            for model in params.models:
                factory = partial(
                    Backbone,
                    vocab_size(task),
                    params.width,
                    params.depth,
                    model,
                    heads=params.heads,
                    mlp_ratio=params.mlp_ratio,
                    max_len=0,
                    conv_kernel=params.conv_kernel,
                )
                cell = {"task": name, "model": model, "chance": chance_accuracy(task)}
                selected = select_learning_rate(
                    factory,
                    seeds,
                    task,
                    params.lrs,
                    steps=params.steps,
                    weight_decay=params.weight_decay,
                    val_batches=val,
                    curve_batches={"id": id_val},
                    cell=cell,
                    device=ctx.device,
                    progress=ctx.progress,
                    desc=f"state {name} {model}",
                )
                rows += selected.rows
                for seed, member in zip(seeds, selected.members, strict=True):
                    common = {"lr": selected.lr, **cell}
                    rows.append(
                        row(
                            "id_accuracy",
                            token_accuracy(member, in_distribution),
                            seed=seed,
                            length_low=params.train_min_len,
                            length_high=params.train_max_len,
                            **common,
                        )
                    )
                    rows += _binned_rows(member, task, test, params.length_bins, seed=seed, **common)
    return finish(rows)
