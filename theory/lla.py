"""Bias–variance predictions behind Local Linear Attention (Zuo et al. 2025, arXiv 2510.01450, §2).

Sources, honestly labelled (notes papers/lla.md §2): the paper's Props. 2.1-2.2 are known to us only as
paraphrases from secondary summaries; their assumptions, constants and proofs are [not found]. What is
asserted here is the classical integrated-MSE theory of kernel regression on a compact support with boundary
(derived, textbook), which reproduces the exponents the paraphrases state:

- Nadaraya–Watson (softmax attention, local constant): boundary bias O(h) on a layer of width O(h), so
  IMSE ≈ c₁h³ + c₂h⁴ + c₃/(nhᵈ), optimised at h ∝ n^{-1/(d+3)}: IMSE* ∝ n^{-3/(d+3)}.
- local linear (LLA): bias O(h²) everywhere (no design or boundary term), IMSE ≈ c₂'h⁴ + c₃/(nhᵈ):
  IMSE* ∝ n^{-4/(d+4)}.
- global linear (linear attention / MesaNet-type, with intercept): IMSE → ∫(f − f_lin)² p > 0 (Ω(1)).

Setting of every function here: x ~ U[0, 1]^d, y = f(x) + σ ε, f(x) = Σ_k sin(ω x_k) (non-zero normal
gradient at the boundary of the cube for ω = 3).
"""

from __future__ import annotations

import math

import numpy as np


def nadaraya_watson_imse_exponent(dim: int) -> float:
    """Exponent a in IMSE* ∝ n^a for tuned-bandwidth Nadaraya–Watson with boundary bias: −3/(d+3)."""
    return -3.0 / (dim + 3)


def local_linear_imse_exponent(dim: int) -> float:
    """Exponent a in IMSE* ∝ n^a for tuned-bandwidth local linear regression (f ∈ C²): −4/(d+4)."""
    return -4.0 / (dim + 4)


def sine_target(x: np.ndarray, frequency: float) -> np.ndarray:
    """f(x) = Σ_k sin(ω x_k) for x of shape (..., d)."""
    return np.sin(frequency * x).sum(-1)


def linear_misspecification_floor(dim: int, frequency: float) -> float:
    """min over affine g of E[(f(x) − g(x))²] for f = Σ_k sin(ω x_k), x ~ U[0,1]^d (exact, derived).

    The coordinates are independent and f is additive, so the best affine predictor is additive and the floor
    is d times the one-dimensional one: Var(sin ωx) − Cov(x, sin ωx)²/Var(x), with Var(x) = 1/12 and
    E sin ωx = (1 − cos ω)/ω, E sin² ωx = ½ − sin 2ω/(4ω), E x sin ωx = (sin ω − ω cos ω)/ω².
    """
    w = frequency
    mean_sin = (1 - math.cos(w)) / w
    mean_sin_sq = 0.5 - math.sin(2 * w) / (4 * w)
    mean_x_sin = (math.sin(w) - w * math.cos(w)) / w**2
    covariance = mean_x_sin - 0.5 * mean_sin
    return dim * (mean_sin_sq - mean_sin**2 - covariance**2 * 12)


def global_linear_imse(dim: int, n: int, noise: float, frequency: float) -> float:
    """Predicted test MSE of f (noise-free target) for OLS with intercept on n samples (derived, asymptotic).

    floor + (σ² + floor)(d + 1)/n: the excess risk of least squares is tr(Σ⁻¹ E[x̃x̃ᵀ r²])/n with r the
    residual (noise plus misspecification); treating r² as uncorrelated with the leverage gives
    (σ² + floor)(d+1)/n (first-order in 1/n; an approximation, exact for well-specified models).
    """
    floor = linear_misspecification_floor(dim, frequency)
    return floor + (noise**2 + floor) * (dim + 1) / n
