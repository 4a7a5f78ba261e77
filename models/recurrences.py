"""Linear recurrences with a matrix state and their parallel (masked-attention) forms.

- Scalar-gated linear attention (the selective-SSM / Mamba-2 "SSD" view, and GLA with a scalar gate):
  h_i = a_i h_{i−1} + k_i v_iᵀ, y_i = h_iᵀ q_i, equal to ((QKᵀ) ⊙ L) V with the 1-semiseparable mask
  L_ij = Π_{l=j+1}^{i} a_l for j ≤ i (derived; the DSF view of Sieber et al. 2024 and Dao & Gu 2024).
  Plain causal linear attention is a ≡ 1; Lightning Attention's fixed decay is a ≡ λ.
- Normalised linear attention with a query-independent normaliser η_i = Σ_{j≤i} 1ᵀψ(k_j) as the recurrence
  h_i = (η_{i−1}/η_i) h_{i−1} + ψ(k_i) v_iᵀ/η_i (derived; DSF, Sieber et al. 2024, recurrent normalisation).
- Recursive least squares (Sherman–Morrison), the "optimal linear regression" memory whose state after t
  tokens is the ridge solution on (k_1..t, v_1..t) (derived; test-time regression, Wang, Shi & Fox 2025).
- `FORMS`: the recurrent and parallel forms of the first two (`attnbench.models.forms`).
"""

from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F

from attnbench.models.attention import MultiHeadMixer, causal_mask, check_per_token, check_qkv
from attnbench.models.feature_maps import elu1_features
from attnbench.models.forms import Form, Forms, Inputs, Shape, normal_qkv


def check_log_decay(log_decay: torch.Tensor, q: torch.Tensor) -> None:
    """Raise unless ``log_decay`` is (batch, heads, length) like q's leading axes, with entries ≤ 0."""
    check_per_token("log_decay", log_decay, q)
    if bool((log_decay > 0).any()):
        raise ValueError("log_decay must be <= 0 (decays a_i = exp(log_decay_i) in (0, 1])")


def gated_linear_attention_recurrent(
    q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, log_decay: torch.Tensor
) -> torch.Tensor:
    """h_i = exp(log_decay_i) h_{i−1} + k_i v_iᵀ, y_i = h_iᵀ q_i; O(1) state per step."""
    check_qkv(q, k, v)
    check_log_decay(log_decay, q)
    state = q.new_zeros(*q.shape[:2], q.shape[-1], v.shape[-1])
    outputs = []
    for i in range(q.shape[-2]):
        decay = torch.exp(log_decay[:, :, i, None, None])
        state = decay * state + k[:, :, i, :, None] * v[:, :, i, None, :]
        outputs.append(torch.einsum("bhd,bhde->bhe", q[:, :, i], state))
    return torch.stack(outputs, dim=2)


def decay_mask(log_decay: torch.Tensor) -> torch.Tensor:
    """L_ij = Π_{l=j+1}^{i} a_l = exp(c_i − c_j) for j ≤ i, else 0, c = cumsum(log a); (..., length, length).

    The exponent is masked before exp, so positions j > i never overflow.
    """
    cumulative = torch.cumsum(log_decay, dim=-1)
    exponent = cumulative.unsqueeze(-1) - cumulative.unsqueeze(-2)
    length = log_decay.shape[-1]
    visible = causal_mask(length, length, log_decay.device)
    return torch.exp(exponent.masked_fill(~visible, float("-inf")))


def gated_linear_attention_parallel(
    q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, log_decay: torch.Tensor
) -> torch.Tensor:
    """((QKᵀ) ⊙ L) V with the decay mask L of `decay_mask`; equal to `gated_linear_attention_recurrent`."""
    check_qkv(q, k, v)
    check_log_decay(log_decay, q)
    return ((q @ k.transpose(-2, -1)) * decay_mask(log_decay)) @ v


def normalized_linear_attention_recurrent(
    q_features: torch.Tensor, k_features: torch.Tensor, v: torch.Tensor
) -> torch.Tensor:
    """DSF recurrent normalisation: h_i = (η_{i−1}/η_i) h_{i−1} + ψ(k_i)v_iᵀ/η_i, y_i = φ(q_i)ᵀh_i.

    Takes already-mapped features φ(q), ψ(k) (positive, so η_i > 0). Equals causal linear attention divided by
    the query-independent normaliser η_i = Σ_{j≤i} 1ᵀψ(k_j) (see `normalized_linear_attention_parallel`).
    """
    check_qkv(q_features, k_features, v)
    state = q_features.new_zeros(*q_features.shape[:2], q_features.shape[-1], v.shape[-1])
    eta_previous = q_features.new_zeros(*q_features.shape[:2], 1, 1)
    outputs = []
    for i in range(q_features.shape[-2]):
        eta = eta_previous + k_features[:, :, i].sum(-1)[:, :, None, None]
        update = k_features[:, :, i, :, None] * v[:, :, i, None, :]
        state = (eta_previous / eta) * state + update / eta
        eta_previous = eta
        outputs.append(torch.einsum("bhd,bhde->bhe", q_features[:, :, i], state))
    return torch.stack(outputs, dim=2)


def normalized_linear_attention_parallel(
    q_features: torch.Tensor, k_features: torch.Tensor, v: torch.Tensor
) -> torch.Tensor:
    """y_i = Σ_{j≤i} φ(q_i)ᵀψ(k_j) v_j / η_i with η_i = Σ_{j≤i} 1ᵀψ(k_j) (parallel form)."""
    check_qkv(q_features, k_features, v)
    length = q_features.shape[-2]
    weights = (q_features @ k_features.transpose(-2, -1)) * causal_mask(length, length, q_features.device)
    eta = torch.cumsum(k_features.sum(-1), dim=-1).unsqueeze(-1)
    return (weights @ v) / eta


def recursive_least_squares(
    q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, *, ridge: float
) -> tuple[torch.Tensor, torch.Tensor]:
    """Sherman–Morrison RLS memory: M_t = argmin_M Σ_{i≤t} ‖v_i − M k_i‖² + ridge·‖M‖²_F, y_t = M_t q_t.

    P_0 = I/ridge, P_t = P_{t−1} − P_{t−1}k_t k_tᵀP_{t−1}/(1 + k_tᵀP_{t−1}k_t),
    M_t = M_{t−1} + (v_t − M_{t−1}k_t)k_tᵀP_t.
    Returns (outputs (batch, heads, length, dv), final memory (batch, heads, dv, dk)).
    """
    check_qkv(q, k, v)
    if ridge <= 0:
        raise ValueError(f"ridge must be > 0, got {ridge}")
    dim = k.shape[-1]
    precision = torch.eye(dim, dtype=k.dtype, device=k.device).expand(*k.shape[:2], dim, dim) / ridge
    memory = k.new_zeros(*k.shape[:2], v.shape[-1], dim)
    outputs = []
    for t in range(k.shape[-2]):
        key = k[:, :, t, :, None]
        p_key = precision @ key
        precision = precision - (p_key @ p_key.transpose(-2, -1)) / (1.0 + key.transpose(-2, -1) @ p_key)
        residual = v[:, :, t, :, None] - memory @ key
        memory = memory + residual @ (precision @ key).transpose(-2, -1)
        outputs.append((memory @ q[:, :, t, :, None]).squeeze(-1))
    return torch.stack(outputs, dim=2), memory


def ridge_memory(k: torch.Tensor, v: torch.Tensor, *, ridge: float) -> torch.Tensor:
    """Batch ridge regression memory Vᵀ K (KᵀK + ridge·I)⁻¹, (batch, heads, dv, dk)."""
    gram = k.transpose(-2, -1) @ k + ridge * torch.eye(k.shape[-1], dtype=k.dtype, device=k.device)
    return torch.linalg.solve(gram, k.transpose(-2, -1) @ v).transpose(-2, -1)


class GatedLinearAttention(MultiHeadMixer):
    """Multi-head scalar-gated linear attention: a_t = σ(w_hᵀx_t + b_h) per head, h_t = a_t h_{t−1} + k_tv_tᵀ.

    Computed in the parallel form ((QKᵀ) ⊙ L) V; the gate bias starts at 3 (a ≈ 0.95, long memory).
    """

    def __init__(self, width: int, heads: int) -> None:
        super().__init__(width, heads)
        self.gate = nn.Linear(width, heads)
        nn.init.constant_(self.gate.bias, 3.0)

    def mix(self, q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
        """Decay-masked linear attention with input-dependent decays."""
        log_decay = F.logsigmoid(self.gate(x)).transpose(1, 2)
        return gated_linear_attention_parallel(q, k, v, log_decay)


def _gated_inputs(generator: torch.Generator, shape: Shape, dtype: torch.dtype) -> Inputs:
    """Normal q, k, v and log-decays log σ(2 + N(0, 1)) per token (a ≈ 0.88, long memory)."""
    inputs = normal_qkv(generator, shape, dtype)
    return {**inputs, "log_decay": F.logsigmoid(2.0 + torch.randn(*shape[:3], generator=generator, dtype=dtype))}


def _positive_inputs(generator: torch.Generator, shape: Shape, dtype: torch.dtype) -> Inputs:
    """Features φ(q), ψ(k) = 1 + elu(N(0, 1)) > 0 (so η_i > 0) and normal v."""
    inputs = normal_qkv(generator, shape, dtype)
    return {**inputs, "q": elu1_features(inputs["q"]), "k": elu1_features(inputs["k"])}


FORMS: dict[str, Forms] = {
    "gated_linear": Forms(
        {"parallel": Form(gated_linear_attention_parallel), "recurrent": Form(gated_linear_attention_recurrent)},
        _gated_inputs,
    ),
    "normalized_linear": Forms(
        {
            "parallel": Form(normalized_linear_attention_parallel),
            "recurrent": Form(normalized_linear_attention_recurrent),
        },
        _positive_inputs,
    ),
}
