"""Training helpers shared by every experiment: batched ensembles, divergence detection, progress bars.

ARCHITECTURE.md, "The nouns" (5: an experiment's ``run`` trains its models) and README.md, "Ensembles": many
seeds of a small model are trained as one batched ensemble, with a leading run axis through data, parameters and
optimiser state, not as a loop of processes. The ensemble loss is the *sum* over members of each member's own
loss, so every member receives exactly the gradient it would get alone; element-wise optimisers (SGD, Adam) then
update each member exactly as an independent run would.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable

import pandas as pd
import torch
from tqdm.auto import tqdm


class Diverged(RuntimeError):
    """Training produced a non-finite loss. ``step`` is the first step at which it happened; ``rows``, when
    given, are the measurements made before (the store keeps them with the ``diverged`` status)."""

    def __init__(self, step: int, detail: str = "", rows: pd.DataFrame | None = None) -> None:
        self.step = step
        self.rows = rows
        super().__init__(f"loss stopped being finite at step {step}" + (f" ({detail})" if detail else ""))


def check_finite(losses: torch.Tensor, step: int) -> None:
    """Raise `Diverged` if any ensemble member's loss is NaN or infinite at ``step``."""
    finite = torch.isfinite(losses)
    if not bool(finite.all()):
        bad = (~finite).nonzero().flatten().tolist()
        raise Diverged(step, f"ensemble members {bad[:8]}")


def progress(iterable: Iterable, *, enabled: bool, desc: str, total: int | None = None) -> Iterable:
    """A tqdm progress bar that can be switched off (tests, CI logs)."""
    return tqdm(iterable, desc=desc, total=total, disable=not enabled, leave=False, mininterval=1.0)


def make_optimizer(
    params: Iterable[torch.Tensor], name: str, lr: float, momentum: float = 0.0
) -> torch.optim.Optimizer:
    """``adam`` or ``sgd`` (with optional momentum); both act element-wise, so ensembles stay independent."""
    params = list(params)
    if name == "adam":
        return torch.optim.Adam(params, lr=lr)
    if name == "sgd":
        return torch.optim.SGD(params, lr=lr, momentum=momentum)
    raise ValueError(f"optimizer must be 'adam' or 'sgd', got {name!r}")


def train_ensemble(
    member_losses: Callable[[int], torch.Tensor],
    optimizer: torch.optim.Optimizer,
    steps: int,
    *,
    show_progress: bool = True,
    desc: str = "train",
    on_step: Callable[[int, torch.Tensor], None] | None = None,
    lr_schedule: Callable[[int], float] | None = None,
) -> torch.Tensor:
    """Run ``steps`` optimiser steps on an ensemble and return the last per-member losses.

    ``member_losses(step)`` returns a vector with one loss per ensemble member (computed on the batch of
    that step). Their sum is back-propagated. ``on_step(step, losses)`` is called after each step (for
    logging trajectories). ``lr_schedule(step)`` multiplies the base learning rate. Raises `Diverged`
    at the first non-finite loss.
    """
    base_lrs = [group["lr"] for group in optimizer.param_groups]
    losses = torch.full((1,), math.nan)
    for step in progress(range(steps), enabled=show_progress, desc=desc, total=steps):
        if lr_schedule is not None:
            for group, base in zip(optimizer.param_groups, base_lrs, strict=True):
                group["lr"] = base * lr_schedule(step)
        optimizer.zero_grad(set_to_none=True)
        losses = member_losses(step)
        check_finite(losses.detach(), step)
        losses.sum().backward()
        optimizer.step()
        if on_step is not None:
            on_step(step, losses.detach())
    return losses.detach()
