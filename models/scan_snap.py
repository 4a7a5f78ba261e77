"""The one-layer Y/Z transformer of Scan and Snap (Tian, Wang, Chen, Du 2023, Sec 3.1, Eqns 1–2).

Y := U W_V^T U^T (decoder) and Z := U W_Q W_K^T U^T/√d (attention logits) are free M×M parameters. The
query x_T = m attends only to the T−1 contextual tokens with b_t ∝ exp(Z[m, x_t]) (Eqn 1); the output
LN(X^T b) = X^T b/‖X^T b‖_2 is decoded by logits Y^T LN(X^T b), trained with cross entropy (Eqn 2).
Every tensor carries a leading run axis R so that an ensemble of seeds trains as one batched model; the
training loop (SGD with separate rates for Y and Z) is the experiment's (`attnbench.sweeps.experiments.scan_snap`).
"""

from __future__ import annotations

import math

import torch
from torch import nn


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
