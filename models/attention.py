"""Softmax and linear attention: functional mixers on (batch, heads, length, dim) and their nn.Modules.

- `softmax_attention`: O = softmax(QKᵀ·scale + mask) V (Vaswani et al. 2017, Eq. 1), scale = 1/√d by default.
- `linear_attention`: O_i = Σ_{j≤i} φ(q_i)ᵀφ(k_j) v_j, divided by Σ_{j≤i} φ(q_i)ᵀφ(k_j) when ``normalize``
  (Katharopoulos et al. 2020); `linear_attention_recurrent` is the same map as the recurrence
  S_i = S_{i−1} + φ(k_i) v_iᵀ, z_i = z_{i−1} + φ(k_i) (ibid., the RNN form).
- `MultiHeadMixer`: the shared nn.Module shell (input projections to q, k, v, a head split, an output
  projection) acting on (batch, length, width); subclasses implement `MultiHeadMixer.mix`.
- `FORMS`: linear attention's parallel and recurrent forms (`attnbench.models.forms`).
"""

from __future__ import annotations

import math

import torch
from torch import nn

from attnbench.models.feature_maps import get_feature_map, positive_random_features
from attnbench.models.forms import Form, Forms, Inputs, Shape, normal_qkv


def check_per_token(name: str, tensor: torch.Tensor, like: torch.Tensor) -> None:
    """Raise unless the per-token scalars ``tensor`` (a gate, a step size) are (batch, heads, length) like the
    leading axes of ``like`` (a q, k or v tensor)."""
    if tensor.shape != like.shape[:3]:
        raise ValueError(f"{name} must be (batch, heads, length)={tuple(like.shape[:3])}, got {tuple(tensor.shape)}")


def check_qkv(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor) -> None:
    """Raise a clear error unless q, k, v are (batch, heads, length, dim) with matching leading axes."""
    for name, tensor in (("q", q), ("k", k), ("v", v)):
        if tensor.dim() != 4:
            raise ValueError(f"{name} must be (batch, heads, length, dim), got shape {tuple(tensor.shape)}")
    if q.shape[-1] != k.shape[-1]:
        raise ValueError(f"q and k need the same feature dim, got {q.shape[-1]} and {k.shape[-1]}")
    if k.shape[:3] != v.shape[:3]:
        raise ValueError(f"k and v need the same (batch, heads, length), got {tuple(k.shape)} and {tuple(v.shape)}")
    if q.shape[:2] != k.shape[:2]:
        raise ValueError(f"q and k need the same (batch, heads), got {tuple(q.shape)} and {tuple(k.shape)}")


def causal_mask(n_queries: int, n_keys: int, device: torch.device | None = None) -> torch.Tensor:
    """Boolean (n_queries, n_keys) mask: True where query i may see key j (j ≤ i, aligned at the end)."""
    rows = torch.arange(n_queries, device=device).unsqueeze(1) + (n_keys - n_queries)
    return torch.arange(n_keys, device=device).unsqueeze(0) <= rows


def softmax_attention(
    q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, *, causal: bool, scale: float | None = None
) -> torch.Tensor:
    """softmax(QKᵀ·scale) V; ``scale`` defaults to 1/√dim (Vaswani et al. 2017, Eq. 1)."""
    check_qkv(q, k, v)
    scale = 1.0 / math.sqrt(q.shape[-1]) if scale is None else scale
    logits = (q @ k.transpose(-2, -1)) * scale
    if causal:
        logits = logits.masked_fill(~causal_mask(q.shape[-2], k.shape[-2], q.device), float("-inf"))
    return torch.softmax(logits, dim=-1) @ v


def linear_attention(
    q: torch.Tensor,
    k: torch.Tensor,
    v: torch.Tensor,
    *,
    causal: bool,
    feature_map: str = "identity",
    normalize: bool,
) -> torch.Tensor:
    """Kernel linear attention in its parallel (quadratic) form (Katharopoulos et al. 2020).

    Weights A_ij = φ(q_i)ᵀφ(k_j) (j ≤ i if ``causal``); with ``normalize`` each row is divided by its sum,
    which needs a positive feature map (e.g. "elu1") for the denominator to stay away from 0.
    """
    check_qkv(q, k, v)
    phi = get_feature_map(feature_map)
    return kernel_attention(phi(q), phi(k), v, causal=causal, normalize=normalize)


def kernel_attention(
    q_features: torch.Tensor, k_features: torch.Tensor, v: torch.Tensor, *, causal: bool, normalize: bool
) -> torch.Tensor:
    """Σ_j (φ_iᵀψ_j) v_j [/ Σ_j φ_iᵀψ_j] on already-mapped features φ(q), ψ(k), in the parallel form."""
    check_qkv(q_features, k_features, v)
    weights = q_features @ k_features.transpose(-2, -1)
    if causal:
        weights = weights * causal_mask(q_features.shape[-2], k_features.shape[-2], q_features.device)
    out = weights @ v
    if normalize:
        out = out / weights.sum(-1, keepdim=True)
    return out


def linear_attention_recurrent(
    q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, *, feature_map: str = "identity", normalize: bool
) -> torch.Tensor:
    """Causal linear attention as an RNN: S_i = S_{i−1} + φ(k_i)v_iᵀ, o_i = φ(q_i)ᵀS_i [/ φ(q_i)ᵀz_i].

    Katharopoulos et al. 2020 (RNN form); O(1) state per step, equal to `linear_attention` with causal=True.
    """
    check_qkv(q, k, v)
    phi = get_feature_map(feature_map)
    fq, fk = phi(q), phi(k)
    state = fq.new_zeros(*fq.shape[:2], fq.shape[-1], v.shape[-1])
    normalizer = fq.new_zeros(*fq.shape[:2], fq.shape[-1])
    outputs = []
    for i in range(q.shape[-2]):
        state = state + fk[:, :, i, :, None] * v[:, :, i, None, :]
        normalizer = normalizer + fk[:, :, i]
        out = torch.einsum("bhd,bhde->bhe", fq[:, :, i], state)
        if normalize:
            out = out / (fq[:, :, i] * normalizer).sum(-1, keepdim=True)
        outputs.append(out)
    return torch.stack(outputs, dim=2)


class MultiHeadMixer(nn.Module):
    """Shell of every mixer module: x (batch, length, width) -> q, k, v heads -> `mix` -> out projection.

    Subclasses implement ``mix(q, k, v, x)`` on (batch, heads, length, head_dim) tensors; ``x`` is passed for
    mixers with extra input-dependent quantities (DeltaNet's β, gates).
    """

    def __init__(self, width: int, heads: int) -> None:
        super().__init__()
        if width <= 0 or heads <= 0 or width % heads != 0:
            raise ValueError(f"width must be a positive multiple of heads, got width={width}, heads={heads}")
        self.width, self.heads, self.head_dim = width, heads, width // heads
        self.qkv = nn.Linear(width, 3 * width, bias=False)
        self.out = nn.Linear(width, width, bias=False)

    def split_heads(self, x: torch.Tensor) -> torch.Tensor:
        """(batch, length, width) -> (batch, heads, length, head_dim)."""
        return x.unflatten(-1, (self.heads, self.head_dim)).transpose(1, 2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Mix the tokens of x (batch, length, width); returns the same shape."""
        if x.dim() != 3 or x.shape[-1] != self.width:
            raise ValueError(f"input must be (batch, length, {self.width}), got shape {tuple(x.shape)}")
        q, k, v = self.project(x)
        mixed = self.mix(q, k, v, x)
        return self.out(mixed.transpose(1, 2).flatten(-2))

    def project(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """The per-head queries, keys and values of x, each (batch, heads, length, head_dim)."""
        q, k, v = (self.split_heads(t) for t in self.qkv(x).chunk(3, dim=-1))
        return q, k, v

    def mix(self, q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
        """The token mixer on heads; implemented by subclasses."""
        raise NotImplementedError


class SoftmaxAttention(MultiHeadMixer):
    """Multi-head softmax attention (Vaswani et al. 2017)."""

    def __init__(self, width: int, heads: int, *, causal: bool = True) -> None:
        super().__init__(width, heads)
        self.causal = causal

    def mix(self, q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
        """softmax(QKᵀ/√d)V per head."""
        return softmax_attention(q, k, v, causal=self.causal)


class LinearAttention(MultiHeadMixer):
    """Multi-head kernel linear attention (Katharopoulos et al. 2020) with a named feature map."""

    def __init__(
        self,
        width: int,
        heads: int,
        *,
        causal: bool = True,
        feature_map: str = "identity",
        normalize: bool = False,
    ) -> None:
        super().__init__(width, heads)
        get_feature_map(feature_map)
        self.causal, self.feature_map, self.normalize = causal, feature_map, normalize

    def mix(self, q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
        """Σ_j φ(q_i)ᵀφ(k_j) v_j per head, optionally row-normalised."""
        return linear_attention(q, k, v, causal=self.causal, feature_map=self.feature_map, normalize=self.normalize)


class PerformerAttention(MultiHeadMixer):
    """Performer-style causal attention: softmax(QKᵀ/√d) approximated with positive random features.

    φ(x) = exp(Wx − ‖x‖²/2)/√m applied to x/d^{1/4}, W ~ N(0, I) fixed at construction, rows normalised by
    their sum (Choromanski et al. 2021, FAVOR+ with i.i.d. features; unbiased for the unnormalised kernel).
    """

    def __init__(self, width: int, heads: int, *, causal: bool = True, num_features: int | None = None) -> None:
        super().__init__(width, heads)
        self.causal = causal
        num_features = 4 * self.head_dim if num_features is None else num_features
        if num_features < 1:
            raise ValueError(f"num_features must be >= 1, got {num_features}")
        self.register_buffer("projection", torch.randn(num_features, self.head_dim))

    def mix(self, q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
        """Normalised kernel attention on the random features of q/d^{1/4}, k/d^{1/4}."""
        root = self.head_dim**0.25
        projection = self.projection.to(q.dtype)
        return kernel_attention(
            positive_random_features(q / root, projection),
            positive_random_features(k / root, projection),
            v,
            causal=self.causal,
            normalize=True,
        )


def mala_attention(
    q_features: torch.Tensor, k_features: torch.Tensor, v: torch.Tensor, *, scale: float
) -> torch.Tensor:
    """Magnitude-aware linear attention (MALA, Fan et al. 2025), non-causal, linear-time, without RoPE.

    Form of the official code (qhfan/MALA, ``classfication_release/model.py``) on features φ(q), φ(k):
    z_i = scale·φ(q_i)·mean_j φ(k_j), o_i = scale·φ(q_i)ᵀ(Σ_j φ(k_j)v_jᵀ)/N·(1 + 1/z_i) − z_i·mean_j v_j,
    so the implied weights β_i φ(q_i)ᵀφ(k_j) − γ_i sum to 1 over j.
    """
    check_qkv(q_features, k_features, v)
    n = k_features.shape[-2]
    z = scale * (q_features * k_features.mean(-2, keepdim=True)).sum(-1, keepdim=True)
    memory = k_features.transpose(-2, -1) @ v
    return scale * (q_features @ memory) / n * (1 + 1 / z) - z * v.mean(-2, keepdim=True)


def _linear_inputs(
    generator: torch.Generator,
    shape: Shape,
    dtype: torch.dtype,
    *,
    feature_map: str = "identity",
    normalize: bool = False,
) -> Inputs:
    """Normal q, k, v and the feature map / normalisation both forms of linear attention take."""
    return {**normal_qkv(generator, shape, dtype), "feature_map": feature_map, "normalize": normalize}


FORMS: dict[str, Forms] = {
    "linear": Forms(
        {"parallel": Form(linear_attention, masks=(True, False)), "recurrent": Form(linear_attention_recurrent)},
        _linear_inputs,
        (
            {"feature_map": "identity", "normalize": False},
            {"feature_map": "elu1", "normalize": True},
            {"feature_map": "elu1", "normalize": False},
        ),
    ),
}
