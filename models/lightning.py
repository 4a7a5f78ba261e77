"""Lightning Attention-2: causal linear attention with a per-head decay λ, tiled into intra/inter blocks.

Qin et al. 2024 (arXiv 2401.04658), the official Triton forward kernel: with blocks of size B,
O_t = [(Q_t K_tᵀ) ⊙ M] V_t + Λ Q_t KV (intra + inter), M_ij = λ^{i−j} (i ≥ j), Λ = diag(λ¹, …, λ^b) and the
carried state KV ← λ^b KV + (λ^b Λ⁻¹ K_t)ᵀ V_t, b the actual block length (a partial last block uses its b).
The quadratic reference is O = [(QKᵀ) ⊙ M] V (`decayed_linear_attention`), a constant-gate case of
`attnbench.models.recurrences.gated_linear_attention_parallel`. λ = 1 is plain causal linear attention.
`FORMS`: the tiled and the quadratic form (`attnbench.models.forms`).
"""

from __future__ import annotations

import torch

from attnbench.models.attention import MultiHeadMixer, check_qkv
from attnbench.models.forms import Form, Forms, Inputs, Shape, normal_qkv
from attnbench.models.recurrences import gated_linear_attention_parallel


def check_decay(decay: torch.Tensor, heads: int) -> None:
    """Raise unless ``decay`` is (heads,) with entries in (0, 1]."""
    if decay.shape != (heads,):
        raise ValueError(f"decay must have shape ({heads},) (one λ per head), got {tuple(decay.shape)}")
    if bool(((decay <= 0) | (decay > 1)).any()):
        raise ValueError(f"decay entries must lie in (0, 1], got {decay.tolist()}")


def alibi_decays(heads: int) -> torch.Tensor:
    """Official per-head decays λ_h = exp(−s_h), s_h = 2^{−8(h+1)/H} (ALiBi slopes; H = 8: 2^-1 … 2^-8)."""
    slopes = 2.0 ** (-8.0 * torch.arange(1, heads + 1, dtype=torch.float64) / heads)
    return torch.exp(-slopes)


def decayed_linear_attention(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, *, decay: torch.Tensor) -> torch.Tensor:
    """Quadratic reference [(QKᵀ) ⊙ M] V with M_ij = λ_h^{i−j} for i ≥ j, else 0."""
    check_qkv(q, k, v)
    check_decay(decay, q.shape[1])
    log_decay = torch.log(decay).to(q.dtype)[None, :, None].expand(q.shape[:3])
    return gated_linear_attention_parallel(q, k, v, log_decay)


def lightning_attention(
    q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, *, decay: torch.Tensor, block_size: int
) -> torch.Tensor:
    """Lightning Attention-2 tiling: intra-block masked product + inter-block product with the carried KV."""
    check_qkv(q, k, v)
    check_decay(decay, q.shape[1])
    if block_size < 1:
        raise ValueError(f"block_size must be >= 1, got {block_size}")
    log_decay = torch.log(decay).to(q.dtype)[None, :, None, None]
    state = q.new_zeros(*q.shape[:2], q.shape[-1], v.shape[-1])
    outputs = []
    for start in range(0, q.shape[-2], block_size):
        q_t, k_t, v_t = (x[:, :, start : start + block_size] for x in (q, k, v))
        b = q_t.shape[-2]
        steps = torch.arange(b, dtype=q.dtype, device=q.device)[None, None, :, None]
        query_decay = torch.exp(log_decay * (steps + 1))  # Λ = diag(λ¹ … λ^b)
        key_decay = torch.exp(log_decay * (b - 1 - steps))  # λ^b Λ⁻¹ = diag(λ^{b−1} … λ⁰)
        intra = decayed_linear_attention(q_t, k_t, v_t, decay=decay)
        inter = (query_decay * q_t) @ state
        outputs.append(intra + inter)
        state = torch.exp(log_decay * b) * state + (key_decay * k_t).transpose(-2, -1) @ v_t
    return torch.cat(outputs, dim=2)


class LightningAttention(MultiHeadMixer):
    """Multi-head decayed linear attention (identity feature map), fixed ALiBi-slope decays, tiled forward."""

    def __init__(self, width: int, heads: int, *, block_size: int = 64) -> None:
        super().__init__(width, heads)
        self.block_size = block_size
        self.register_buffer("decay", alibi_decays(heads).float())

    def mix(self, q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
        """Tiled [(QKᵀ) ⊙ M] V per head."""
        return lightning_attention(q, k, v, decay=self.decay, block_size=self.block_size)


def _lightning_inputs(
    generator: torch.Generator, shape: Shape, dtype: torch.dtype, *, decay: float | None = None
) -> Inputs:
    """q, k, v ~ N(0, 1)/d^{1/4} (so q·k is O(1)) and the per-head decays: ``decay`` in every head, or the
    module's ALiBi-slope decays (`alibi_decays`) when None."""
    qkv = {name: x / shape[-1] ** 0.25 for name, x in normal_qkv(generator, shape, dtype).items()}
    decays = alibi_decays(shape[1]) if decay is None else torch.full((shape[1],), decay, dtype=torch.float64)
    return {**qkv, "decay": decays.to(dtype)}


FORMS: dict[str, Forms] = {
    "lightning": Forms(
        {"tiled": Form(lightning_attention, chunk="block_size"), "quadratic": Form(decayed_linear_attention)},
        _lightning_inputs,
        ({}, {"decay": 1.0}),
    ),
}
