"""Training and scoring a `Backbone` on a token task, shared by the MQAR and state-tracking experiments.

Every (seed, lr) member of a cell is trained in one run of `attnbench.sweeps.batched_members.train_batched`:
AdamW (decoupled weight decay, Loshchilov & Hutter 2019) with the `warmup_cosine` schedule, the recipe of the
recall and state-tracking anchors (Zoology, Grazzi et al.), each member on exactly the trajectory
``torch.optim.AdamW`` gives it alone (up to floating-point summation order). The member of seed ``s`` draws its
own data stream (the task config with ``stream = s``, `attnbench.tasks.base.member_configs`; train batch index
= step) and its own initialisation (``torch.manual_seed(s)``), the same at every lr.
Learning rates are selected on the validation split (mean over seeds, after the last step); only the
selected one is scored on the test split, once. The validation accuracy is also recorded at a few evenly
spaced steps (the learning curve, rows ``val_accuracy_curve``), and on any further named sets the experiment
passes (rows ``<name>_accuracy_curve``; state tracking's in-distribution curve ``id_accuracy_curve``).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import pandas as pd
import torch
from torch import nn

from attnbench.errors import require
from attnbench.sweeps.batched_members import AdamW, member_grid, train_batched
from attnbench.sweeps.rows import Row, row
from attnbench.sweeps.training import Diverged
from attnbench.tasks.base import Batch, TaskConfig

WARMUP_FRACTION = 0.1
CURVE_POINTS = 10


def warmup_cosine(steps: int) -> Callable[[int], float]:
    """Learning-rate multiplier of 0-based ``step``: linear warm-up over the first 10% of ``steps`` to 1, then
    cosine decay ½(1 + cos(π·progress)) towards 0 at the last step (Loshchilov & Hutter 2017, SGDR without
    restarts)."""
    warmup = max(1, int(WARMUP_FRACTION * steps))
    decay = max(1, steps - warmup)

    def multiplier(step: int) -> float:
        if step < warmup:
            return (step + 1) / warmup
        return 0.5 * (1.0 + math.cos(math.pi * (step - warmup) / decay))

    return multiplier


def to_device(batch: Batch, device: torch.device) -> Batch:
    return Batch(batch.inputs.to(device), batch.targets.to(device), batch.loss_mask.to(device))


@torch.no_grad()
def correct_tokens(model: nn.Module, batch: Batch) -> torch.Tensor:
    """Boolean (batch, length): the argmax prediction is right at a scored position (False elsewhere)."""
    model.eval()
    predictions = model(batch.inputs).argmax(-1)
    model.train()
    return (predictions == batch.targets) & batch.loss_mask


def token_accuracy(model: nn.Module, batches: Sequence[Batch]) -> float:
    """Per-token (micro) accuracy over the scored positions of ``batches``."""
    correct = sum(int(correct_tokens(model, b).sum()) for b in batches)
    return correct / sum(int(b.loss_mask.sum()) for b in batches)


@dataclass(frozen=True)
class Selected:
    """Outcome of a learning-rate search: the chosen lr, its trained members (in seed order), and every
    validation row."""

    lr: float
    members: list[nn.Module]
    rows: list[Row]


def curve_steps(steps: int, points: int) -> list[int]:
    """``points`` evenly spaced step counts in 1..``steps`` ending at ``steps`` (fewer when ``steps < points``)."""
    return sorted({-(-steps * k // points) for k in range(1, points + 1)})


def select_learning_rate(
    factory: Callable[[], nn.Module],
    seeds: Sequence[int],
    task: TaskConfig,
    lrs: Sequence[float],
    *,
    steps: int,
    weight_decay: float,
    val_batches: Sequence[Batch],
    cell: Mapping[str, Any],
    device: torch.device,
    progress: bool,
    desc: str,
    curve_points: int = CURVE_POINTS,
    curve_batches: Mapping[str, Sequence[Batch]] | None = None,
) -> Selected:
    """Train every (seed, lr) member on ``task`` in one batched run (AdamW at ``weight_decay``, the
    `warmup_cosine` schedule over ``steps``); keep the lr with the best mean validation accuracy after the last
    step (the first such lr on a tie).

    The rows, each tagged with ``cell``, hold ``val_accuracy`` per (lr, seed) of every lr none of whose
    members diverged, ``val_accuracy_curve`` per (lr, seed) at `curve_steps` (``step`` = steps trained; a
    diverged member's points stop before its divergence), likewise ``<name>_accuracy_curve`` on each named set
    of ``curve_batches`` (recorded only: selection uses the validation split alone) and, for every lr with a
    member whose loss, gradient or update stopped being finite, a ``diverged`` row (value = the earliest such
    step). When every lr diverged it raises `Diverged` at the earliest such step, carrying those rows.
    """
    require(curve_points >= 1, "curve_points", f"must be >= 1, got {curve_points}")
    members = member_grid(seeds, lrs)
    run = train_batched(
        factory,
        members,
        task,
        steps=steps,
        schedule=warmup_cosine(steps),
        device=device,
        hyper=AdamW(weight_decay=weight_decay),
        val_batches=val_batches,
        eval_steps=curve_steps(steps, curve_points),
        curve_batches=curve_batches,
        show_progress=progress,
        desc=desc,
    )
    rows: list[Row] = []
    curves = {"val": run.val_accuracy, **run.curve_accuracy}
    for e, member in enumerate(members):
        stop = run.diverged_step[e]
        rows += [
            row(f"{name}_accuracy_curve", float(curve[k, e]), step=s, seed=member.seed, lr=member.lr, **cell)
            for name, curve in curves.items()
            for k, s in enumerate(run.eval_steps)
            if stop is None or s <= stop
        ]
    best: tuple[float, float, list[int]] | None = None
    diverged: list[int] = []
    for i, lr in enumerate(lrs):
        own = range(i * len(seeds), (i + 1) * len(seeds))  # `member_grid` is lr-major
        stops = [run.diverged_step[e] for e in own if run.diverged_step[e] is not None]
        if stops:
            rows.append(row("diverged", min(stops), lr=lr, **cell))
            diverged.append(min(stops))
            continue
        accuracies = [float(run.val_accuracy[-1, e]) for e in own]
        rows += [row("val_accuracy", a, seed=s, lr=lr, **cell) for s, a in zip(seeds, accuracies, strict=True)]
        mean = sum(accuracies) / len(accuracies)
        if best is None or mean > best[0]:
            best = (mean, lr, list(own))
    if best is None:
        raise Diverged(min(diverged), f"{desc}: every lr of {list(lrs)} diverged", rows=pd.DataFrame(rows))
    return Selected(lr=best[1], members=[run.stacked.module(e) for e in best[2]], rows=rows)


@contextmanager
def rows_kept_on_divergence(rows: list[Row], finish: Callable[[list[Row]], pd.DataFrame]) -> Iterator[None]:
    """Re-raise a `Diverged` from the block with every row measured so far (``rows`` plus the error's own),
    passed through ``finish`` as the run would have returned them, so the store keeps them beside the
    ``diverged`` status."""
    try:
        yield
    except Diverged as error:
        own = error.rows.to_dict("records") if error.rows is not None else []
        error.rows = finish(rows + own)
        raise
