"""Sigmoid attention: O = σ(QKᵀ·scale + b) V with b = −log n (Ramapuram et al., ICLR 2025, arXiv 2409.04431).

σ acts elementwise, so there is no row normalisation: the computation tiles over key blocks exactly, with no
running max or rescaling (FlashSigmoid). With b = −log n and zero logits each full row sums to n/(n+1)
(derived). ``n`` is the number of keys (the sequence length), for causal and non-causal masks alike.
`FORMS`: the full and the tiled form (`attnbench.models.forms`).
"""

from __future__ import annotations

import math

import torch

from attnbench.models.attention import MultiHeadMixer, causal_mask, check_qkv
from attnbench.models.forms import Form, Forms, normal_qkv


def sigmoid_weights(
    q: torch.Tensor, k: torch.Tensor, *, causal: bool, scale: float | None = None, bias: float | None = None
) -> torch.Tensor:
    """σ(QKᵀ·scale + bias) with masked entries set to 0; scale = 1/√d and bias = −log(n_keys) by default."""
    scale = 1.0 / math.sqrt(q.shape[-1]) if scale is None else scale
    bias = -math.log(k.shape[-2]) if bias is None else bias
    weights = torch.sigmoid((q @ k.transpose(-2, -1)) * scale + bias)
    if causal:
        weights = weights * causal_mask(q.shape[-2], k.shape[-2], q.device)
    return weights


def sigmoid_attention(
    q: torch.Tensor,
    k: torch.Tensor,
    v: torch.Tensor,
    *,
    causal: bool,
    scale: float | None = None,
    bias: float | None = None,
) -> torch.Tensor:
    """σ(QKᵀ·scale + bias) V (Ramapuram et al. 2025, with b = −log n)."""
    check_qkv(q, k, v)
    return sigmoid_weights(q, k, causal=causal, scale=scale, bias=bias) @ v


def sigmoid_attention_tiled(
    q: torch.Tensor,
    k: torch.Tensor,
    v: torch.Tensor,
    *,
    causal: bool,
    block_size: int,
    scale: float | None = None,
    bias: float | None = None,
) -> torch.Tensor:
    """Σ over key blocks of σ(S_blk + b) V_blk, with no running max: equal to `sigmoid_attention`."""
    check_qkv(q, k, v)
    if block_size < 1:
        raise ValueError(f"block_size must be >= 1, got {block_size}")
    n_queries, n_keys = q.shape[-2], k.shape[-2]
    bias = -math.log(n_keys) if bias is None else bias
    visible = causal_mask(n_queries, n_keys, q.device)
    out = q.new_zeros(*q.shape[:3], v.shape[-1])
    for start in range(0, n_keys, block_size):
        k_blk, v_blk = k[:, :, start : start + block_size], v[:, :, start : start + block_size]
        weights = sigmoid_weights(q, k_blk, causal=False, scale=scale, bias=bias)
        if causal:
            weights = weights * visible[:, start : start + block_size]
        out = out + weights @ v_blk
    return out


class SigmoidAttention(MultiHeadMixer):
    """Multi-head sigmoid attention with bias −log n (n = the input length)."""

    def __init__(self, width: int, heads: int, *, causal: bool = True) -> None:
        super().__init__(width, heads)
        self.causal = causal

    def mix(self, q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
        """σ(QKᵀ/√d − log n) V per head."""
        return sigmoid_attention(q, k, v, causal=self.causal)


FORMS: dict[str, Forms] = {
    "sigmoid": Forms(
        {
            "full": Form(sigmoid_attention, masks=(True, False)),
            "tiled": Form(sigmoid_attention_tiled, chunk="block_size", masks=(True, False)),
        },
        normal_qkv,
    ),
}
