"""Training and scoring a `Backbone` on a token task, shared by the MQAR and state-tracking experiments.

Seeds are trained as one ensemble through `attnbench.sweeps.training.train_ensemble`: the loss is the sum
of the members' own masked cross-entropies and Adam acts element-wise, so each member follows exactly the
trajectory it would follow alone. The member of seed ``s`` draws its own data stream (the task config with
``stream = s``, `attnbench.tasks.base.member_configs`; train batch index = step) and its own initialisation
(``torch.manual_seed(s)``).
Learning rates are selected on the validation split (mean over seeds); only the selected one is scored on
the test split, once.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import pandas as pd
import torch
from torch import nn
from torch.nn import functional as F

from attnbench.sweeps.rows import Row, row
from attnbench.sweeps.training import Diverged, make_optimizer, train_ensemble
from attnbench.tasks.base import Batch, TaskConfig, member_configs

WARMUP_FRACTION = 0.1


def masked_cross_entropy(logits: torch.Tensor, batch: Batch) -> torch.Tensor:
    """Mean cross-entropy over the scored positions of ``batch`` only."""
    return F.cross_entropy(logits[batch.loss_mask], batch.targets[batch.loss_mask])


def warmup_constant(steps: int) -> Callable[[int], float]:
    """Learning-rate multiplier: linear warm-up over the first 10% of steps, then constant.

    Recall tasks are learned in a sudden late transition (induction-head formation); a decaying schedule
    over a short run can stall just before it, so the short runs here keep the rate constant.
    """
    warmup = max(1, int(WARMUP_FRACTION * steps))
    return lambda step: min(1.0, (step + 1) / warmup)


def build_members(factory: Callable[[], nn.Module], seeds: Sequence[int]) -> list[nn.Module]:
    """One model per seed, each initialised from ``torch.manual_seed(seed)``."""
    members = []
    for seed in seeds:
        torch.manual_seed(seed)
        members.append(factory())
    return members


def train_members(
    members: Sequence[nn.Module],
    seeds: Sequence[int],
    task: TaskConfig,
    *,
    steps: int,
    lr: float,
    device: torch.device,
    progress: bool,
    desc: str,
) -> torch.Tensor:
    """Train every member on its own data stream; returns the last per-member losses (raises `Diverged`)."""
    parameters = [p for member in members for p in member.parameters()]
    optimizer = make_optimizer(parameters, "adam", lr)
    streams = member_configs(task, seeds)

    def member_losses(step: int) -> torch.Tensor:
        losses = []
        for member, stream in zip(members, streams, strict=True):
            batch = to_device(stream.sample("train", step), device)
            losses.append(masked_cross_entropy(member(batch.inputs), batch))
        return torch.stack(losses)

    return train_ensemble(
        member_losses, optimizer, steps, show_progress=progress, desc=desc, lr_schedule=warmup_constant(steps)
    )


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
    """Outcome of a learning-rate search: the chosen lr, its trained members, and every validation row."""

    lr: float
    members: list[nn.Module]
    rows: list[Row]


def select_learning_rate(
    factory: Callable[[], nn.Module],
    seeds: Sequence[int],
    task: TaskConfig,
    lrs: Sequence[float],
    *,
    steps: int,
    val_batches: Sequence[Batch],
    cell: Mapping[str, Any],
    device: torch.device,
    progress: bool,
    desc: str,
) -> Selected:
    """Train the seed ensemble on ``task`` at each lr; keep the lr with the best mean validation accuracy.

    The rows, each tagged with ``cell``, hold ``val_accuracy`` per (lr, seed) and, for every lr whose loss
    stopped being finite, a ``diverged`` row (value = that step). When every lr diverged it raises `Diverged`
    at the earliest such step, carrying those rows.
    """
    best: tuple[float, float, list[nn.Module]] | None = None
    rows: list[Row] = []
    for lr in lrs:
        members = [m.to(device) for m in build_members(factory, seeds)]
        try:
            train_members(
                members, seeds, task, steps=steps, lr=lr, device=device, progress=progress, desc=f"{desc} lr={lr:g}"
            )
        except Diverged as error:
            rows.append(row("diverged", error.step, lr=lr, **cell))
            continue
        accuracies = [token_accuracy(m, val_batches) for m in members]
        rows += [row("val_accuracy", a, seed=s, lr=lr, **cell) for s, a in zip(seeds, accuracies, strict=True)]
        mean = sum(accuracies) / len(accuracies)
        if best is None or mean > best[0]:
            best = (mean, lr, members)
    if best is None:
        raise Diverged(
            int(min(r["value"] for r in rows)), f"{desc}: every lr of {list(lrs)} diverged", rows=pd.DataFrame(rows)
        )
    return Selected(lr=best[1], members=best[2], rows=rows)


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
