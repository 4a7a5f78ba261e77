"""Softmax attention as a prefix scan over a monoid of partial results (Aaren; Feng et al. 2024, 2405.13956).

A partial result over a set of keys is (m, u, w): m = max score, u = Σ e^{s_j − m}, w = Σ e^{s_j − m} v_j.
Two partials combine with (m_A,u_A,w_A) ⊕ (m_B,u_B,w_B) = (m, u_A e^{m_A−m} + u_B e^{m_B−m},
w_A e^{m_A−m} + w_B e^{m_B−m}), m = max(m_A, m_B) (Feng et al. 2024); ⊕ is associative with identity
(−∞, 0, 0), and w/u is the softmax attention output. The same ⊕ is the log-sum-exp merge of attention over
disjoint key blocks (the merge of FlashAttention / HyperAttention). Aaren uses one learned query per head.
`FORMS`: the scan, the recurrence and the quadratic form (causal softmax attention) (`attnbench.models.forms`).
"""

from __future__ import annotations

import math
from typing import NamedTuple

import torch
from torch import nn

from attnbench.models.attention import MultiHeadMixer, check_qkv, softmax_attention
from attnbench.models.forms import Form, Forms, Inputs, Shape


class Partial(NamedTuple):
    """A softmax partial result: running max m (...), normaliser u (...), numerator w (..., dv)."""

    max: torch.Tensor
    normalizer: torch.Tensor
    numerator: torch.Tensor

    def output(self) -> torch.Tensor:
        """The attention output w / u."""
        return self.numerator / self.normalizer.unsqueeze(-1)


def identity_partial(like: Partial) -> Partial:
    """The identity (−∞, 0, 0) of ⊕, shaped like ``like``."""
    return Partial(
        torch.full_like(like.max, float("-inf")),
        torch.zeros_like(like.normalizer),
        torch.zeros_like(like.numerator),
    )


def _rescale(part_max: torch.Tensor, new_max: torch.Tensor) -> torch.Tensor:
    """e^{m_part − m}, with e^{−∞ − (−∞)} read as 0 (identity elements) instead of NaN."""
    finite_max = torch.where(torch.isinf(new_max), torch.zeros_like(new_max), new_max)
    return torch.exp(part_max - finite_max)


def combine(a: Partial, b: Partial) -> Partial:
    """(m_A,u_A,w_A) ⊕ (m_B,u_B,w_B), the associative operator of Feng et al. 2024."""
    new_max = torch.maximum(a.max, b.max)
    scale_a, scale_b = _rescale(a.max, new_max), _rescale(b.max, new_max)
    return Partial(
        new_max,
        a.normalizer * scale_a + b.normalizer * scale_b,
        a.numerator * scale_a.unsqueeze(-1) + b.numerator * scale_b.unsqueeze(-1),
    )


def leaves(scores: torch.Tensor, v: torch.Tensor) -> Partial:
    """One partial per key: (s_j, 1, v_j); scores (..., length), v (..., length, dv)."""
    return Partial(scores, torch.ones_like(scores), v)


def block_partial(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, *, scale: float) -> Partial:
    """The partial result of every query over one block of keys (no mask): shapes (b, h, n_q[, dv])."""
    scores = (q @ k.transpose(-2, -1)) * scale
    row_max = scores.amax(-1)
    weights = torch.exp(scores - row_max.unsqueeze(-1))
    return Partial(row_max, weights.sum(-1), weights @ v)


def _slice(partial: Partial, index: slice) -> Partial:
    """Partial restricted to positions ``index`` of the scan axis (the max's last axis)."""
    return Partial(partial.max[..., index], partial.normalizer[..., index], partial.numerator[..., index, :])


def _concat(first: Partial, second: Partial) -> Partial:
    """Two partials concatenated along the scan axis."""
    return Partial(
        torch.cat([first.max, second.max], dim=-1),
        torch.cat([first.normalizer, second.normalizer], dim=-1),
        torch.cat([first.numerator, second.numerator], dim=-2),
    )


def prefix_scan(elements: Partial) -> Partial:
    """Inclusive Hillis–Steele scan with ⊕ along the scan axis; any length (not only powers of two)."""
    length = elements.max.shape[-1]
    offset = 1
    while offset < length:
        shifted = combine(_slice(elements, slice(0, length - offset)), _slice(elements, slice(offset, length)))
        elements = _concat(_slice(elements, slice(0, offset)), shifted)
        offset *= 2
    return elements


def aaren_scan(query: torch.Tensor, k: torch.Tensor, v: torch.Tensor, *, scale: float | None = None) -> torch.Tensor:
    """o_t = softmax attention of one query per (batch, head) over keys 1..t, by a parallel prefix scan.

    ``query`` (batch, heads, dim); k (batch, heads, length, dim), v (batch, heads, length, dv).
    """
    check_qkv(query.unsqueeze(2), k, v)
    scale = 1.0 / math.sqrt(query.shape[-1]) if scale is None else scale
    scores = torch.einsum("bhd,bhld->bhl", query, k) * scale
    return prefix_scan(leaves(scores, v)).output()


def aaren_streaming(
    query: torch.Tensor, k: torch.Tensor, v: torch.Tensor, *, scale: float | None = None
) -> torch.Tensor:
    """The same outputs as an RNN with state (m_t, c_t, a_t), token by token (Feng et al. 2024)."""
    check_qkv(query.unsqueeze(2), k, v)
    scale = 1.0 / math.sqrt(query.shape[-1]) if scale is None else scale
    scores = torch.einsum("bhd,bhld->bhl", query, k) * scale
    tokens = leaves(scores, v)
    state = identity_partial(_slice(tokens, slice(0, 1)))
    outputs = []
    for t in range(k.shape[-2]):
        state = combine(state, _slice(tokens, slice(t, t + 1)))
        outputs.append(state.output())
    return torch.cat(outputs, dim=-2)


def aaren_quadratic(
    query: torch.Tensor, k: torch.Tensor, v: torch.Tensor, *, scale: float | None = None
) -> torch.Tensor:
    """The same outputs as causal softmax attention with ``query`` at every position (Feng et al. 2024)."""
    check_qkv(query.unsqueeze(2), k, v)
    queries = query.unsqueeze(2).expand(*k.shape[:3], query.shape[-1])
    return softmax_attention(queries, k, v, causal=True, scale=scale)


class Aaren(MultiHeadMixer):
    """Aaren layer: a learned, input-independent query per head attends causally over the prefix (a scan)."""

    def __init__(self, width: int, heads: int) -> None:
        super().__init__(width, heads)
        self.qkv = nn.Linear(width, 2 * width, bias=False)
        self.query = nn.Parameter(torch.randn(heads, self.head_dim) / math.sqrt(self.head_dim))

    def project(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Keys and values from x; the query is the learned parameter, broadcast over the batch."""
        k, v = (self.split_heads(t) for t in self.qkv(x).chunk(2, dim=-1))
        return self.query.expand(x.shape[0], -1, -1).to(x.dtype), k, v

    def mix(self, q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
        """Prefix-scan softmax attention of the learned query."""
        return aaren_scan(q, k, v)


def _aaren_inputs(generator: torch.Generator, shape: Shape, dtype: torch.dtype, *, logit_scale: float = 1.0) -> Inputs:
    """One query per (batch, head), 2·N(0, 1) (so ‖q‖ ≈ 2√d), normal k, v, and logits q·k·logit_scale/√d."""
    query = 2 * torch.randn(*shape[:2], shape[-1], generator=generator, dtype=dtype)
    k, v = (torch.randn(*shape, generator=generator, dtype=dtype) for _ in range(2))
    return {"q": query, "k": k, "v": v, "scale": logit_scale / math.sqrt(shape[-1])}


FORMS: dict[str, Forms] = {
    "aaren": Forms(
        {"scan": Form(aaren_scan), "recurrent": Form(aaren_streaming), "quadratic": Form(aaren_quadratic)},
        _aaren_inputs,
        ({"logit_scale": 1.0}, {"logit_scale": 50.0}),
    ),
}
