"""Input validation and defaults shared by every LLA implementation (reference, blockwise, Triton).

Conventions (notes ``papers/lla.md`` §1.2): tensors are shaped (batch, heads, length, dim); the kernel is the
softmax kernel ``w_ij = exp(scale * q_i . k_j)``; the ridge is ``ridge * omega_i`` with
``omega_i = sum_j w_ij`` (the λω convention of the FlashLLA code), so ``ridge`` is relative to the
*normalised*-weight covariance.
"""

from __future__ import annotations

import math

import torch

DEFAULT_RIDGE = 0.1
"""λ in the λω convention. The FlashLLA README example uses 0.1; the functional default there moved from
0.01 to 10 between commits (notes §3.5). 0.1 keeps LLA clearly distinct from softmax for unit-scale keys."""


def resolve_scale(scale: float | None, dim: int) -> float:
    """The logit scale: ``1/sqrt(dim)`` when not given (notes §1.2)."""
    if scale is None:
        return 1.0 / math.sqrt(dim)
    if not math.isfinite(scale):
        raise ValueError(f"scale must be finite, got {scale}")
    return float(scale)


def validate_inputs(
    q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, *, causal: bool, ridge: float | torch.Tensor
) -> None:
    """Raise ``ValueError`` naming the problem unless (q, k, v, ridge) describe a valid LLA call.

    ``ridge`` is a number or a one-element tensor (a learnable λ)."""
    if isinstance(ridge, torch.Tensor):
        if ridge.numel() != 1 or not ridge.is_floating_point():
            raise ValueError(f"a tensor ridge must be one floating-point element, got shape {tuple(ridge.shape)}")
        ridge_value = float(ridge.detach())
    else:
        ridge_value = ridge
    for name, tensor in (("q", q), ("k", k), ("v", v)):
        if tensor.dim() != 4:
            raise ValueError(f"{name} must have shape (batch, heads, length, dim), got {tuple(tensor.shape)}")
        if not tensor.is_floating_point():
            raise ValueError(f"{name} must be a floating-point tensor, got {tensor.dtype}")
    if not (q.dtype == k.dtype == v.dtype):
        raise ValueError(f"q, k, v must share a dtype, got {q.dtype}, {k.dtype}, {v.dtype}")
    if not (q.device == k.device == v.device):
        raise ValueError(f"q, k, v must share a device, got {q.device}, {k.device}, {v.device}")
    if q.shape[:2] != k.shape[:2] or k.shape[:2] != v.shape[:2]:
        raise ValueError(f"batch/heads of q {tuple(q.shape)}, k {tuple(k.shape)}, v {tuple(v.shape)} differ")
    if q.shape[-1] != k.shape[-1]:
        raise ValueError(f"q and k must share the last dim, got {q.shape[-1]} and {k.shape[-1]}")
    if k.shape[-2] != v.shape[-2]:
        raise ValueError(f"k and v must have the same length, got {k.shape[-2]} and {v.shape[-2]}")
    if k.shape[-2] == 0:
        raise ValueError("k and v must hold at least one position")
    if causal and q.shape[-2] != k.shape[-2]:
        raise ValueError(f"causal LLA needs len(q) == len(k), got {q.shape[-2]} and {k.shape[-2]}")
    if not (math.isfinite(ridge_value) and ridge_value > 0):
        raise ValueError(f"ridge must be a finite number > 0 (λ in the λω convention), got {ridge_value}")


def causal_logit_mask(
    n_queries: int, key_start: int, key_stop: int, query_start: int, device: torch.device
) -> torch.Tensor:
    """Boolean (n_queries, key_stop-key_start) mask, True where key index > query index (masked out)."""
    query_index = torch.arange(query_start, query_start + n_queries, device=device)
    key_index = torch.arange(key_start, key_stop, device=device)
    return key_index[None, :] > query_index[:, None]
