"""What the Scan and Snap studies share: the Syn-Small data, its population description, and SGD training
of the Y/Z model (`attnbench.models.scan_snap`) as one batched ensemble (`attnbench.sweeps.training`)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch

from attnbench.models.scan_snap import YZTransformer
from attnbench.sweeps.training import train_ensemble
from attnbench.tasks.base import stack
from attnbench.tasks.scan_snap import (
    ScanSnapConfig,
    common_tokens,
    context_probs,
    distinct_tokens,
    label_of_class,
    query_of_class,
)
from attnbench.theory import scan_snap as theory


def syn_small(seq_len: int = 128, batch_size: int = 128, stream: int = 0) -> ScanSnapConfig:
    """Syn-Small (Tian et al. 2023, Fig. 4): 2 queries × 1 class, 10 common and 10 distinct tokens each.

    ``seq_len`` and ``batch_size`` only shape the SGD batches: the population ODE's description (`classes_of`)
    depends on neither, so the ODE studies take the defaults."""
    return ScanSnapConfig(num_queries=2, classes_per_query=1, seq_len=seq_len, batch_size=batch_size, stream=stream)


def classes_of(config: ScanSnapConfig) -> theory.Classes:
    """The population description P(l|n), ψ(n), y(n) of ``config``."""
    return theory.Classes(context_probs(config), query_of_class(config), label_of_class(config))


def distinct_matrix(config: ScanSnapConfig) -> np.ndarray:
    """The distinct tokens G_DT(n) of every class, (K, tokens per class)."""
    return np.stack([distinct_tokens(config, n) for n in range(config.num_classes)])


@dataclass(frozen=True)
class SGDConfig:
    """SGD with separate learning rates for Y and Z (the authors use two optimisers) and shared momentum."""

    lr_y: float = 1.0
    lr_z: float = 1.0
    momentum: float = 0.0
    steps: int = 100

    def __post_init__(self) -> None:
        if not (self.lr_y > 0 and self.lr_z >= 0 and 0 <= self.momentum < 1 and self.steps >= 1):
            raise ValueError(f"SGDConfig needs lr_y > 0, lr_z >= 0, 0 <= momentum < 1, steps >= 1; got {self}")


def train(
    model: YZTransformer,
    batch: Callable[[int], tuple[torch.Tensor, torch.Tensor]],
    sgd: SGDConfig,
    record: Callable[[int, YZTransformer, torch.Tensor], None] | None = None,
    *,
    show_progress: bool = False,
) -> torch.Tensor:
    """Train ``model`` for ``sgd.steps`` steps; ``batch(step)`` returns (inputs (R,B,T), targets (R,B)).

    ``record(step, model, losses)`` is called after every step (step counts completed updates, from 1).
    Returns the last per-run losses.
    """
    optimizer = torch.optim.SGD(
        [{"params": [model.Y], "lr": sgd.lr_y}, {"params": [model.Z], "lr": sgd.lr_z}],
        lr=sgd.lr_y,
        momentum=sgd.momentum,
    )

    def member_losses(step: int) -> torch.Tensor:
        inputs, targets = batch(step)
        return model.losses(inputs, targets)

    def on_step(step: int, losses: torch.Tensor) -> None:
        if record is not None:
            record(step + 1, model, losses)

    return train_ensemble(
        member_losses, optimizer, sgd.steps, show_progress=show_progress, desc="scan_snap", on_step=on_step
    )


def train_sgd(
    configs: list[ScanSnapConfig], sgd: SGDConfig, init: str, record_every: int, init_seed: int = 0
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Train one ensemble member per config (own data stream).

    Returns (recorded steps, Z snapshots (S, R, M, M), losses (steps, R): the batch loss before each update).
    """
    generator = torch.Generator().manual_seed(init_seed)
    model = YZTransformer(len(configs), configs[0].vocab_size, init=init, generator=generator)

    def batch(step: int) -> tuple[torch.Tensor, torch.Tensor]:
        members = stack(configs, "train", step)
        return members.inputs, members.targets

    steps, snapshots, losses = [0], [model.Z.detach().numpy().copy()], []

    def record(step: int, trained: YZTransformer, loss: torch.Tensor) -> None:
        losses.append(loss.numpy().copy())
        if step % record_every == 0 or step == sgd.steps:
            steps.append(step)
            snapshots.append(trained.Z.detach().numpy().copy())

    train(model, batch, sgd, record)
    return np.array(steps), np.stack(snapshots), np.stack(losses)


def attention_summary(c: np.ndarray, config: ScanSnapConfig) -> dict[str, np.ndarray]:
    """Common-token mass (averaged over classes) and class-0 attention on each of its distinct tokens."""
    out = {"common_mass": c[..., common_tokens(config)].sum(-1).mean(-1)}
    for rank, token in enumerate(distinct_tokens(config, 0)):
        out[f"distinct_{rank}"] = c[..., 0, token]
    return out
