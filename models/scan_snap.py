"""The one-layer Y/Z transformer of Scan and Snap (Tian, Wang, Chen, Du 2023, Sec 3.1, Eqns 1–2).

Y := U W_V^T U^T (decoder) and Z := U W_Q W_K^T U^T/√d (attention logits) are free M×M parameters. The
query x_T = m attends only to the T−1 contextual tokens with b_t ∝ exp(Z[m, x_t]) (Eqn 1); the output
LN(X^T b) = X^T b/‖X^T b‖_2 is decoded by logits Y^T LN(X^T b), trained with cross entropy (Eqn 2).
Every tensor carries a leading run axis R so that an ensemble of seeds trains as one batched model.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import torch
from torch import nn

from attnbench.sweeps.training import train_ensemble


class YZTransformer(nn.Module):
    """R independent Y/Z models; ``init`` "zero" (Y(0) = Z(0) = 0) or "default" (U(±1/√M), nn.Linear)."""

    def __init__(
        self,
        runs: int,
        vocab_size: int,
        *,
        init: str = "zero",
        generator: torch.Generator | None = None,
        dtype: torch.dtype = torch.float64,
    ) -> None:
        super().__init__()
        if init not in ("zero", "default"):
            raise ValueError(f"init must be 'zero' or 'default', got {init!r}")
        if runs < 1 or vocab_size < 2:
            raise ValueError(f"need runs >= 1 and vocab_size >= 2, got runs={runs}, vocab_size={vocab_size}")
        shape = (runs, vocab_size, vocab_size)
        if init == "zero":
            y, z = torch.zeros(shape, dtype=dtype), torch.zeros(shape, dtype=dtype)
        else:
            bound = 1.0 / math.sqrt(vocab_size)
            y = (torch.rand(shape, generator=generator, dtype=dtype) * 2 - 1) * bound
            z = (torch.rand(shape, generator=generator, dtype=dtype) * 2 - 1) * bound
        self.Y = nn.Parameter(y)
        self.Z = nn.Parameter(z)

    def attention(self, inputs: torch.Tensor) -> torch.Tensor:
        """Attention b (R, B, T−1) of the last token on the contextual tokens (Eqn 1, query masked)."""
        context, query = inputs[..., :-1], inputs[..., -1]
        runs = torch.arange(self.Z.shape[0])[:, None]
        rows = self.Z[runs, query]  # (R, B, M): z_m for each sequence
        return torch.softmax(torch.gather(rows, -1, context), dim=-1)

    def features(self, inputs: torch.Tensor) -> torch.Tensor:
        """LN(X^T b) (R, B, M): attention-weighted token counts, ℓ2-normalised."""
        weights = self.attention(inputs)
        summed = torch.zeros(*weights.shape[:-1], self.Y.shape[-1], dtype=weights.dtype, device=weights.device)
        summed = summed.scatter_add(-1, inputs[..., :-1], weights)
        return summed / summed.norm(dim=-1, keepdim=True)

    def forward(self, inputs: torch.Tensor) -> torch.Tensor:
        """Next-token logits Y^T LN(X^T b), shaped (R, B, M). ``inputs``: (R, B, T) token ids."""
        return torch.einsum("rbi,rij->rbj", self.features(inputs), self.Y)

    def losses(self, inputs: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        """Per-run batch-mean cross entropy (R,)."""
        logits = self(inputs)
        return nn.functional.cross_entropy(logits.transpose(1, 2), targets, reduction="none").mean(dim=1)


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


def momentum_time(steps: torch.Tensor | float, momentum: float) -> torch.Tensor | float:
    """Gradient-flow time reached after ``steps`` heavy-ball steps, in units of the effective rate η/(1−β).

    [derived] With a constant gradient, s heavy-ball steps move η Σ_{k=1}^{s} (1−β^k)/(1−β) =
    η/(1−β) · (s − β(1−β^s)/(1−β)); so SGD with momentum β and rate η follows the flow with rate η/(1−β)
    at time s − β(1−β^s)/(1−β), a lag of β/(1−β) steps once s ≫ 1/(1−β).
    """
    if momentum == 0:
        return steps
    return steps - momentum * (1 - momentum**steps) / (1 - momentum)
