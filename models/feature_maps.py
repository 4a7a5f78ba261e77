"""Feature maps φ for kernel (linear) attention, applied to the last axis of (batch, heads, length, dim).

- ``identity``: φ(x) = x (plain linear attention; Katharopoulos et al. 2020 without a kernel).
- ``elu1``: φ(x) = 1 + elu(x) (Katharopoulos et al. 2020), strictly positive.
- ``relu``: φ(x) = max(x, 0), positively homogeneous of degree 1 (TransNormer, Qin et al. 2022, Sec. 3).
- ``taylor2``: φ(x) = [1, x, vec(x xᵀ)/√2], so φ(q)ᵀφ(k) = 1 + q·k + (q·k)²/2, the 2nd-order Taylor
  expansion of exp(q·k) (Hedgehog, Zhang et al. 2024).
- `HedgehogFeatureMap`: the learnable φ(x) = [exp(Wx + b), exp(−Wx − b)] (Hedgehog, Zhang et al. 2024),
  W = I at initialisation.
- `positive_random_features`: Performer's FAVOR+ positive features exp(wᵀx − ‖x‖²/2)/√m with
  E[φ(q)ᵀφ(k)] = exp(q·k) (Choromanski et al. 2021, FAVOR+).
"""

from __future__ import annotations

import math
from collections.abc import Callable

import torch
from torch import nn
from torch.nn import functional as F

FeatureMap = Callable[[torch.Tensor], torch.Tensor]


def identity_features(x: torch.Tensor) -> torch.Tensor:
    """φ(x) = x."""
    return x


def elu1_features(x: torch.Tensor) -> torch.Tensor:
    """φ(x) = 1 + elu(x) > 0 (Katharopoulos et al. 2020)."""
    return 1.0 + F.elu(x)


def relu_features(x: torch.Tensor) -> torch.Tensor:
    """φ(x) = max(x, 0), homogeneous of degree 1: φ(cx) = cφ(x) for c > 0."""
    return F.relu(x)


def taylor2_features(x: torch.Tensor) -> torch.Tensor:
    """φ(x) = [1, x, vec(x xᵀ)/√2] with 1 + d + d² features, so φ(q)ᵀφ(k) = 1 + q·k + (q·k)²/2."""
    outer = (x.unsqueeze(-1) * x.unsqueeze(-2)).flatten(-2) / math.sqrt(2.0)
    return torch.cat([torch.ones_like(x[..., :1]), x, outer], dim=-1)


FEATURE_MAPS: dict[str, FeatureMap] = {
    "identity": identity_features,
    "elu1": elu1_features,
    "relu": relu_features,
    "taylor2": taylor2_features,
}


def get_feature_map(name: str) -> FeatureMap:
    """The feature map called ``name``; a clear error lists the known names."""
    if name not in FEATURE_MAPS:
        raise ValueError(f"feature_map must be one of {sorted(FEATURE_MAPS)}, got {name!r}")
    return FEATURE_MAPS[name]


def positive_random_features(x: torch.Tensor, projection: torch.Tensor) -> torch.Tensor:
    """Performer positive random features φ(x) = exp(Wx − ‖x‖²/2)/√m, W = ``projection`` of shape (m, dim).

    With rows of W drawn i.i.d. N(0, I), E[φ(q)ᵀφ(k)] = exp(q·k) (Choromanski et al. 2021, FAVOR+).
    """
    if projection.dim() != 2 or projection.shape[1] != x.shape[-1]:
        raise ValueError(f"projection must be (features, {x.shape[-1]}), got {tuple(projection.shape)}")
    logits = x @ projection.transpose(0, 1) - 0.5 * (x * x).sum(-1, keepdim=True)
    return torch.exp(logits) / math.sqrt(projection.shape[0])


class HedgehogFeatureMap(nn.Module):
    """φ(x) = [exp(Wx + b), exp(−Wx − b)] per head, W initialised to I, b to 0 (Zhang et al. 2024)."""

    def __init__(self, heads: int, dim: int) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.eye(dim).repeat(heads, 1, 1))
        self.bias = nn.Parameter(torch.zeros(heads, 1, dim))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Map (batch, heads, length, dim) to (batch, heads, length, 2·dim)."""
        projected = torch.einsum("bhld,hed->bhle", x, self.weight) + self.bias
        return torch.cat([torch.exp(projected), torch.exp(-projected)], dim=-1)
