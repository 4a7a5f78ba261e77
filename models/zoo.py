"""The mixer zoo: name -> factory ``(width, heads) -> nn.Module``, a causal mixer on (batch, length, width).

Every module maps (batch, length, width) to the same shape and is causal (output t depends on tokens ≤ t).
"lla" wraps ``attnbench.kernels.lla.lla`` (Local Linear Attention), imported lazily when the factory is
called, so the rest of the zoo works while that kernel is absent.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial

import torch
from torch import nn

from attnbench.models.aaren import Aaren
from attnbench.models.attention import LinearAttention, MultiHeadMixer, PerformerAttention, SoftmaxAttention
from attnbench.models.deltanet import DeltaNet
from attnbench.models.lightning import LightningAttention
from attnbench.models.recurrences import GatedLinearAttention
from attnbench.models.sigmoid_attention import SigmoidAttention

MixerFactory = Callable[[int, int], nn.Module]


class LocalLinearAttention(MultiHeadMixer):
    """Multi-head causal Local Linear Attention via ``attnbench.kernels.lla.lla`` (imported when built)."""

    def __init__(self, width: int, heads: int) -> None:
        super().__init__(width, heads)
        from attnbench.kernels.lla import lla

        self.lla = lla

    def mix(self, q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
        """LLA output per head (causal)."""
        return self.lla(q, k, v, causal=True)


MIXERS: dict[str, MixerFactory] = {
    "softmax": SoftmaxAttention,
    "linear": partial(LinearAttention, feature_map="identity", normalize=False),
    "linear_elu": partial(LinearAttention, feature_map="elu1", normalize=True),
    "sigmoid": SigmoidAttention,
    "deltanet": partial(DeltaNet, beta_max=1.0),
    "deltanet_neg": partial(DeltaNet, beta_max=2.0),
    "lla": LocalLinearAttention,
    "random_feature": PerformerAttention,
    "lightning": LightningAttention,
    "aaren": Aaren,
    "gated_linear": GatedLinearAttention,
}


def build_mixer(name: str, width: int, heads: int) -> nn.Module:
    """The mixer called ``name``; a clear error lists the known names."""
    if name not in MIXERS:
        raise ValueError(f"mixer must be one of {sorted(MIXERS)}, got {name!r}")
    return MIXERS[name](width, heads)
