"""What the att_svm studies share: the ensemble training loop with snapshots (normalised GD,
W <- W - eta grad/||grad||_F, as in the official code; notes A5)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch

from attnbench.models.svm_attention import NormalisedGD, default_linear_init, prompt_run_losses
from attnbench.sweeps.experiments.base import RunContext
from attnbench.sweeps.training import train_ensemble
from attnbench.tasks.token_selection import PromptInstance

PARAMETERISATIONS = ("W", "KQ")


@dataclass
class Trajectory:
    """Snapshots of every parameter at ``steps``: name -> tensor (len(steps), R, ...)."""

    steps: list[int]
    params: dict[str, torch.Tensor]


def train(
    init: dict[str, torch.Tensor],
    run_losses: Callable[[dict[str, torch.Tensor]], torch.Tensor],
    steps: int,
    lr: float,
    record_every: int,
    ctx: RunContext,
    optimizer: str = "normalised",
) -> Trajectory:
    """Train an ensemble (leading run axis) with the shared harness; keep snapshots every ``record_every``."""
    params = {name: t.detach().clone().requires_grad_(True) for name, t in init.items()}
    opt = (
        NormalisedGD(list(params.values()), lr)
        if optimizer == "normalised"
        else torch.optim.SGD(list(params.values()), lr=lr)
    )
    snapshots: dict[int, dict[str, torch.Tensor]] = {0: {k: v.detach().clone() for k, v in params.items()}}

    def record(step: int, _losses: torch.Tensor) -> None:
        if (step + 1) % record_every == 0 or step + 1 == steps:
            snapshots[step + 1] = {k: v.detach().clone() for k, v in params.items()}

    train_ensemble(
        lambda _step: run_losses(params), opt, steps, show_progress=ctx.progress, desc="att_svm", on_step=record
    )
    order = sorted(snapshots)
    return Trajectory(order, {k: torch.stack([snapshots[s][k] for s in order]) for k in params})


def init_params(kind: str, runs: int, d: int, gen: torch.Generator) -> dict[str, torch.Tensor]:
    """Default ``nn.Linear`` init for W, or for K and Q (width m = d, as in the official code)."""
    if kind == "W":
        return {"W": default_linear_init(runs, d, d, d, gen)}
    return {"K": default_linear_init(runs, d, d, d, gen), "Q": default_linear_init(runs, d, d, d, gen)}


def vector_corr(a: torch.Tensor, b: np.ndarray) -> torch.Tensor:
    """corr(a_r, b) = <a_r, b> / (|a_r| |b|) for every row a_r of ``a``."""
    b_t = torch.from_numpy(b)
    return (a @ b_t) / (a.norm(dim=-1) * b_t.norm())


def train_prompt(
    inst: PromptInstance, p0: torch.Tensor, joint: bool, steps: int, lr: float, ctx: RunContext
) -> Trajectory:
    """Normalised GD on the prompt p (and v when ``joint``, each normalised separately) for the runs p0 (R, d)
    (Max-Margin notebooks, notes A5)."""
    R = len(p0)
    keys, X = inst.keys.expand(R, -1, -1, -1), inst.X.expand(R, -1, -1, -1)
    Y = inst.Y.expand(R, -1)
    params = {"p": p0, "v": inst.v.expand(R, -1).clone()} if joint else {"p": p0}
    losses = prompt_run_losses(keys, X, Y, v=None if joint else inst.v.expand(R, -1))
    return train(params, losses, steps, lr, 10, ctx)
