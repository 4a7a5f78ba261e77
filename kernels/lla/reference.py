"""Materialised fp64 references for Local Linear Attention (Zuo et al. 2025, arXiv 2510.01450, §2-3).

For query ``i`` (causal: keys ``j <= i``), with ``z_ij = k_j - q_i``, LLA solves the weighted least squares

    (b_i, W_i) = argmin_{b, W}  ½ Σ_j w_ij ‖v_j − b − W z_ij‖² + ½ λ ω_i ‖W‖_F²,     o_i = b_i,

with softmax-kernel weights ``w_ij = exp(scale q_i·k_j)``, an unpenalised intercept ``b`` and
``ω_i = Σ_j w_ij``.

Ridge convention. The paper writes the ridge as ``λ‖W‖²`` (Σ_i + λI); the FlashLLA code (notes §1.2) uses
``λ ω_i`` (Σ_i + λω_i I). We use ``λ ω_i``: multiplying every ``w_ij`` of a row by ``c > 0`` multiplies
both the data term and ``λω_i`` by ``c``, so the minimiser, hence ``o_i``, is unchanged. Online-softmax
kernels subtract a running row max ``m_i`` from the logits, i.e. they rescale a row's weights by
``exp(-m_i)``; only with the ``λω`` ridge is that rescaling harmless.
λ is therefore relative to the normalised-weight covariance.

Two independent forms (both exact in exact arithmetic; notes §1.3 and §1.4):

- `lla_reference` (ρ/δ closed form, paper §3):
  ``μ_i = Σ_j w_ij z_ij``, ``Σ_i = Σ_j w_ij z_ij z_ijᵀ + λω_i I``, ``ρ_i = Σ_i⁻¹ μ_i``,
  ``δ_i = ω_i − μ_iᵀρ_i``,
  ``s_ij = w_ij (1 − ρ_iᵀ z_ij)/δ_i`` and ``o_i = Σ_j s_ij v_j``. Σ_i is built by algebraic separation
  ``Σ̃_i − μ̃_i q_iᵀ − q_i μ̃_iᵀ + ω_i q_i q_iᵀ`` (Θ(n²+nd²) memory: this is also the "naive" baseline).
- `lla_reference_centred` (centred form, derived): with ``p_ij = w_ij/ω_i``, ``k̄_i, v̄_i`` the softmax means,
  ``C_kk,i = Σ_j p_ij (k_j−k̄_i)(k_j−k̄_i)ᵀ + λI`` and ``C_vk,i = Σ_j p_ij (v_j−v̄_i)(k_j−k̄_i)ᵀ``,
  ``o_i = v̄_i + C_vk,i C_kk,i⁻¹ (q_i − k̄_i)``. It materialises the (n, n, d) centred keys: tests only.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from attnbench.kernels.lla.common import DEFAULT_RIDGE, causal_logit_mask, resolve_scale, validate_inputs


@dataclass(frozen=True)
class LLATerms:
    """Per-query intermediates of the ρ/δ form; shapes (B, H, N[, ...])."""

    weights: torch.Tensor  # w_ij with the row max subtracted, zero where masked, (B, H, N, N)
    omega: torch.Tensor  # ω_i = Σ_j w_ij, (B, H, N)
    mu: torch.Tensor  # μ_i, (B, H, N, D)
    sigma: torch.Tensor  # Σ_i including the ridge, (B, H, N, D, D)
    rho: torch.Tensor  # ρ_i = Σ_i⁻¹ μ_i, (B, H, N, D)
    delta: torch.Tensor  # δ_i = ω_i − μ_iᵀ ρ_i, (B, H, N)
    equivalent_kernel: torch.Tensor  # s_ij, (B, H, N, N); rows sum to 1
    output: torch.Tensor  # o_i = Σ_j s_ij v_j, (B, H, N, Dv)


def softmax_kernel_weights(q: torch.Tensor, k: torch.Tensor, *, causal: bool, scale: float) -> torch.Tensor:
    """``exp(scale q_i·k_j − m_i)`` with the (detached) row max ``m_i`` subtracted; zero where masked.

    The max is detached: LLA's output is invariant to rescaling a row's weights, so it carries no gradient.
    """
    logits = scale * q @ k.transpose(-1, -2)
    if causal:
        n = q.shape[-2]
        logits = logits.masked_fill(causal_logit_mask(n, 0, n, 0, q.device), float("-inf"))
    return torch.exp(logits - logits.amax(-1, keepdim=True).detach())


def _validated_weights(
    q: torch.Tensor,
    k: torch.Tensor,
    v: torch.Tensor,
    *,
    causal: bool,
    scale: float | None,
    ridge: float | torch.Tensor,
    dtype: torch.dtype,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """Validate an LLA call, cast (q, k, v) to ``dtype`` and return them with their softmax-kernel weights."""
    validate_inputs(q, k, v, causal=causal, ridge=ridge)
    scale = resolve_scale(scale, q.shape[-1])
    q, k, v = q.to(dtype), k.to(dtype), v.to(dtype)
    return q, k, v, softmax_kernel_weights(q, k, causal=causal, scale=scale)


def lla_reference_terms(
    q: torch.Tensor,
    k: torch.Tensor,
    v: torch.Tensor,
    *,
    causal: bool = True,
    scale: float | None = None,
    ridge: float | torch.Tensor = DEFAULT_RIDGE,
    dtype: torch.dtype = torch.float64,
    detach_ridge_omega: bool = False,
) -> LLATerms:
    """All intermediates of the ρ/δ closed form (paper §3, notes §1.3), computed in ``dtype``.

    ``detach_ridge_omega=True`` stops the gradient through the ω_i of the ridge λω_i (the forward is
    unchanged), and autograd then yields the gradient that the released FlashLLA backward computes
    (notes §3.3).
    """
    q, k, v, w = _validated_weights(q, k, v, causal=causal, scale=scale, ridge=ridge, dtype=dtype)
    return local_linear_fit(w, q, k, v, ridge=ridge, detach_ridge_omega=detach_ridge_omega)


def local_linear_fit(
    w: torch.Tensor,
    q: torch.Tensor,
    k: torch.Tensor,
    v: torch.Tensor,
    *,
    ridge: float | torch.Tensor,
    detach_ridge_omega: bool = False,
) -> LLATerms:
    """The ρ/δ closed form for arbitrary non-negative weights ``w`` (B, H, N_q, N_k) (zero = masked)."""
    omega = w.sum(-1)
    key_sum = w @ k  # μ̃_i
    key_gram = torch.einsum("bhij,bhjd,bhje->bhide", w, k, k)  # Σ̃_i
    mu = key_sum - omega[..., None] * q
    ridge_omega = omega.detach() if detach_ridge_omega else omega
    eye = torch.eye(q.shape[-1], dtype=q.dtype, device=q.device)
    sigma = (
        key_gram
        - key_sum[..., :, None] * q[..., None, :]
        - q[..., :, None] * key_sum[..., None, :]
        + omega[..., None, None] * q[..., :, None] * q[..., None, :]
        + ridge * ridge_omega[..., None, None] * eye
    )
    rho = torch.linalg.solve(sigma, mu[..., None])[..., 0]
    delta = omega - (mu * rho).sum(-1)
    rho_dot_z = rho @ k.transpose(-1, -2) - (rho * q).sum(-1, keepdim=True)  # ρ_iᵀ z_ij
    s = w * (1 - rho_dot_z) / delta[..., None]
    return LLATerms(w, omega, mu, sigma, rho, delta, s, s @ v)


def lla_reference(
    q: torch.Tensor,
    k: torch.Tensor,
    v: torch.Tensor,
    *,
    causal: bool = True,
    scale: float | None = None,
    ridge: float | torch.Tensor = DEFAULT_RIDGE,
    dtype: torch.dtype = torch.float64,
    detach_ridge_omega: bool = False,
) -> torch.Tensor:
    """LLA output (B, H, N, Dv) by the ρ/δ closed form, in ``dtype`` (fp64 by default); differentiable."""
    return lla_reference_terms(
        q, k, v, causal=causal, scale=scale, ridge=ridge, dtype=dtype, detach_ridge_omega=detach_ridge_omega
    ).output


def lla_reference_centred(
    q: torch.Tensor,
    k: torch.Tensor,
    v: torch.Tensor,
    *,
    causal: bool = True,
    scale: float | None = None,
    ridge: float = DEFAULT_RIDGE,
) -> torch.Tensor:
    """LLA output by the centred form ``v̄ + C_vk (C_kk + λI)⁻¹ (q − k̄)`` (notes §1.4), fp64."""
    q, k, v, w = _validated_weights(q, k, v, causal=causal, scale=scale, ridge=ridge, dtype=torch.float64)
    p = w / w.sum(-1, keepdim=True)
    k_mean, v_mean = p @ k, p @ v
    k_centred = k[..., None, :, :] - k_mean[..., :, None, :]  # (B, H, N_q, N_k, D)
    v_centred = v[..., None, :, :] - v_mean[..., :, None, :]
    c_kk = torch.einsum("bhij,bhijd,bhije->bhide", p, k_centred, k_centred)
    c_kk = c_kk + ridge * torch.eye(q.shape[-1], dtype=q.dtype, device=q.device)
    c_vk = torch.einsum("bhij,bhijd,bhije->bhide", p, v_centred, k_centred)
    slope_times_offset = c_vk @ torch.linalg.solve(c_kk, (q - k_mean)[..., None])
    return v_mean + slope_times_offset[..., 0]


def softmax_attention_reference(
    q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, *, causal: bool = True, scale: float | None = None
) -> torch.Tensor:
    """Softmax attention ``Σ_j p_ij v_j`` in fp64: the λ→∞ limit of LLA (notes §1.5)."""
    scale = resolve_scale(scale, q.shape[-1])
    q, k, v = q.double(), k.double(), v.double()
    w = softmax_kernel_weights(q, k, causal=causal, scale=scale)
    return (w / w.sum(-1, keepdim=True)) @ v
