"""DeltaNet: linear attention with the delta rule, recurrent and chunked (WY / UT-transform) forms.

Recurrence (Schlag et al. 2021; Yang et al. 2024, "Parallelizing Linear Transformers with the Delta Rule"):
S_t = S_{t−1}(I − β_t k_t k_tᵀ) + β_t v_t k_tᵀ, o_t = S_t q_t, i.e. one online LMS step on
‖S k_t − v_t‖²/2 with step β_t. The transition I − β k kᵀ (‖k‖ = 1) has eigenvalue 1 − β, which is negative
for β ∈ (1, 2]: Grazzi et al. 2024 (arXiv 2411.12537) use β = 2σ(·) to unlock parity.

Chunked form per chunk C (derived from the recurrence; the WY representation of Yang et al. 2024):
T = (I + tril(diag(β) K Kᵀ, −1))⁻¹ diag(β), W = T K, U = T V, U' = U − W Sᵀ,
O = Q Sᵀ + tril(Q Kᵀ) U', S ← S + U'ᵀ K. `FORMS`: the two forms (`attnbench.models.forms`).
"""

from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F

from attnbench.models.attention import MultiHeadMixer, causal_mask, check_per_token, check_qkv
from attnbench.models.forms import Form, Forms, Inputs, Shape, normal_qkv


def delta_rule_recurrent(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, beta: torch.Tensor) -> torch.Tensor:
    """S_t = S_{t−1} + β_t (v_t − S_{t−1}k_t) k_tᵀ, o_t = S_t q_t, one token at a time."""
    check_qkv(q, k, v)
    check_per_token("beta", beta, k)
    state = q.new_zeros(*q.shape[:2], v.shape[-1], k.shape[-1])
    outputs = []
    for t in range(q.shape[-2]):
        key = k[:, :, t]
        error = v[:, :, t] - torch.einsum("bhek,bhk->bhe", state, key)
        state = state + beta[:, :, t, None, None] * error[..., :, None] * key[..., None, :]
        outputs.append(torch.einsum("bhek,bhk->bhe", state, q[:, :, t]))
    return torch.stack(outputs, dim=2)


def delta_rule_chunked(
    q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, beta: torch.Tensor, *, chunk_size: int
) -> torch.Tensor:
    """The delta rule in chunks (WY / UT transform); equal to `delta_rule_recurrent` for any chunk size."""
    check_qkv(q, k, v)
    check_per_token("beta", beta, k)
    if chunk_size < 1:
        raise ValueError(f"chunk_size must be >= 1, got {chunk_size}")
    state = q.new_zeros(*q.shape[:2], v.shape[-1], k.shape[-1])
    outputs = []
    for start in range(0, q.shape[-2], chunk_size):
        q_c, k_c, v_c = (x[:, :, start : start + chunk_size] for x in (q, k, v))
        beta_c = beta[:, :, start : start + chunk_size, None]
        size = q_c.shape[-2]
        strictly_lower = causal_mask(size, size, q.device).tril(-1)
        transform = (
            torch.eye(size, dtype=q.dtype, device=q.device) + ((beta_c * k_c) @ k_c.transpose(-2, -1)) * strictly_lower
        )
        w = torch.linalg.solve_triangular(transform, beta_c * k_c, upper=False, unitriangular=True)
        u = torch.linalg.solve_triangular(transform, beta_c * v_c, upper=False, unitriangular=True)
        u_corrected = u - w @ state.transpose(-2, -1)
        scores = (q_c @ k_c.transpose(-2, -1)) * causal_mask(size, size, q.device)
        outputs.append(q_c @ state.transpose(-2, -1) + scores @ u_corrected)
        state = state + u_corrected.transpose(-2, -1) @ k_c
    return torch.cat(outputs, dim=2)


class DeltaNet(MultiHeadMixer):
    """Multi-head DeltaNet: L2-normalised q, k per head, β_t = beta_max·σ(w_βᵀ x_t) per head, chunked form.

    ``beta_max = 1`` gives β ∈ (0, 1) (positive transition eigenvalues); ``beta_max = 2`` gives β ∈ (0, 2),
    allowing eigenvalue 1 − β < 0 (Grazzi et al. 2024).
    """

    def __init__(self, width: int, heads: int, *, beta_max: float = 1.0, chunk_size: int = 32) -> None:
        super().__init__(width, heads)
        if beta_max not in (1.0, 2.0):
            raise ValueError(f"beta_max must be 1.0 or 2.0, got {beta_max}")
        self.beta_max, self.chunk_size = beta_max, chunk_size
        self.beta_proj = nn.Linear(width, heads)

    def mix(self, q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
        """Delta-rule recurrence on normalised keys/queries, computed chunkwise."""
        beta = self.beta_max * torch.sigmoid(self.beta_proj(x)).transpose(1, 2)
        q, k = F.normalize(q, dim=-1), F.normalize(k, dim=-1)
        return delta_rule_chunked(q, k, v, beta, chunk_size=self.chunk_size)


def _delta_inputs(generator: torch.Generator, shape: Shape, dtype: torch.dtype, *, beta_max: float = 1.0) -> Inputs:
    """Normal q, v, unit-norm keys (as the module uses them) and β = beta_max·σ(N(0, 1)) per token."""
    inputs = normal_qkv(generator, shape, dtype)
    beta = beta_max * torch.sigmoid(torch.randn(*shape[:3], generator=generator, dtype=dtype))
    return {**inputs, "k": F.normalize(inputs["k"], dim=-1), "beta": beta}


FORMS: dict[str, Forms] = {
    "deltanet": Forms(
        {"recurrent": Form(delta_rule_recurrent), "chunked": Form(delta_rule_chunked, chunk="chunk_size")},
        _delta_inputs,
        ({"beta_max": 1.0}, {"beta_max": 2.0}),
    ),
}
