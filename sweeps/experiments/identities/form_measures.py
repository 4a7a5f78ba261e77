"""The form equivalences of the experiment, measured through the mixers' ``FORMS`` registries
(`attnbench.models.forms`): each value is the largest relative error between any two forms of one mixer.

Lightning Attention-2 tiling (Qin et al. 2024), chunked DeltaNet (WY form, Yang et al. 2024), tiled sigmoid
attention (Ramapuram et al. 2025), the Aaren scan (Feng et al. 2024), and the normalised and scalar-gated
recurrences (DSF, Sieber et al. 2024); the identities are stated in each mixer's module (notes §1–3, §11).
"""

from __future__ import annotations

from typing import Any

import torch

from attnbench.models import aaren, deltanet, lightning, recurrences, sigmoid_attention
from attnbench.models.forms import Forms, Shape, apply, evaluate, relative_error

DTYPE = torch.float64


def form_errors(
    forms: Forms, seed: int, shape: Shape, *, causal: bool = True, chunk: int | None = None, **setting: Any
) -> dict[str, float]:
    """The largest relative error between any two forms that compute ``causal``: on the output ("forward")
    and on the gradient of every input ("gradient", cotangent from ``seed + 1``), fp64 autograd through each
    form, on inputs drawn by ``forms.sample`` from ``seed`` at ``setting``; ``chunk`` is the block size."""
    inputs = forms.sample(torch.Generator().manual_seed(seed), shape, DTYPE, **setting)
    names = [name for name, form in forms.forms.items() if causal in form.masks]
    results = {
        name: evaluate(forms.forms[name], inputs, cotangent_seed=seed + 1, causal=causal, chunk=chunk) for name in names
    }
    pairs = [(results[a], results[b]) for a, b, masks in forms.pairs() if causal in masks]
    return {
        "forward": max(relative_error(a["output"], b["output"]) for a, b in pairs),
        "gradient": max(relative_error(a[q], b[q]) for a, b in pairs for q in a if q != "output"),
    }


def lightning_tiling_errors(
    seed: int, n: int = 300, dim: int = 16, block_size: int = 64, decay: float = 0.97
) -> dict[str, float]:
    """Tiled intra/inter-block Lightning Attention-2 vs the quadratic [(QKᵀ) ⊙ M]V with λ = ``decay`` in both
    heads: forward and gradients. n need not be a multiple of the block (partial last block). Predicted 0."""
    return form_errors(lightning.FORMS["lightning"], seed, (1, 2, n, dim), chunk=block_size, decay=decay)


def deltanet_chunk_errors(
    seed: int, n: int = 64, dim: int = 16, chunk_size: int = 16, beta_max: float = 1.0
) -> dict[str, float]:
    """DeltaNet chunked (WY/UT) form vs the token recurrence, β = beta_max·σ(·): forward and gradients."""
    return form_errors(deltanet.FORMS["deltanet"], seed, (1, 2, n, dim), chunk=chunk_size, beta_max=beta_max)


def sigmoid_tiling_error(seed: int, n: int = 200, dim: int = 16, block_size: int = 32, causal: bool = True) -> float:
    """Σ over key blocks of σ(S_blk − log n)V_blk (no running max) vs the untiled product; predicted 0."""
    forms = sigmoid_attention.FORMS["sigmoid"]
    return form_errors(forms, seed, (1, 2, n, dim), causal=causal, chunk=block_size)["forward"]


def aaren_scan_error(seed: int, n: int = 257, dim: int = 8, logit_scale: float = 1.0) -> float:
    """Prefix scan, token recurrence and explicit causal softmax attention of one query over n keys (logits
    q·k·logit_scale/√d, ‖q‖ ≈ 2√d), in fp64; the largest relative error between them."""
    return form_errors(aaren.FORMS["aaren"], seed, (1, 1, n, dim), logit_scale=logit_scale)["forward"]


def aaren_scan_fp32_error(seed: int, n: int = 257, dim: int = 8, logit_scale: float = 1.0) -> float:
    """The prefix scan run in fp32 vs causal softmax attention in fp64, on the inputs of `aaren_scan_error`:
    the relative error, or inf if any output is not finite (fp32 overflows e^s for s > 88 without the running
    max)."""
    forms = aaren.FORMS["aaren"]
    inputs = forms.sample(torch.Generator().manual_seed(seed), (1, 1, n, dim), DTYPE, logit_scale=logit_scale)
    single = {name: x.float() if isinstance(x, torch.Tensor) else x for name, x in inputs.items()}
    scanned = apply(forms.forms["scan"], single).to(DTYPE)
    if not bool(torch.isfinite(scanned).all()):
        return float("inf")
    return relative_error(scanned, apply(forms.forms["quadratic"], inputs))


def normalized_recurrence_error(seed: int, n: int = 100, dim: int = 8) -> float:
    """Normalised linear attention (η_i = Σ_{j≤i} 1ᵀψ(k_j)) = the gated recurrence
    h_i = (η_{i−1}/η_i)h_{i−1} + ψ(k_i)v_iᵀ/η_i on 1+elu features; relative error, predicted 0. Derived."""
    return form_errors(recurrences.FORMS["normalized_linear"], seed, (1, 2, n, dim))["forward"]


def gated_recurrence_error(seed: int, n: int = 100, dim: int = 8) -> float:
    """The scalar-gated recurrence h_i = a_i h_{i−1} + k_i v_iᵀ = ((QKᵀ) ⊙ L)V, L_ij = Π_{l=j+1}^{i} a_l
    (1-semiseparable mask), a_i = σ(2 + N(0, 1)) ∈ (0, 1); relative error, predicted 0. Derived."""
    return form_errors(recurrences.FORMS["gated_linear"], seed, (1, 2, n, dim))["forward"]
