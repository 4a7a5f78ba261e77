"""Closed-form predictions for in-context linear regression.

Setting (He, Pan, Chen, Yang 2025, "In-Context Linear Regression Demystified", §2; notes A1): x ~ N(0, Λ),
w ~ N(0, τ² I), y = wᵀx + ε with ε ~ N(0, σ²), L context pairs and one query. He et al. use Λ = I and
τ² = 1/d, so E(wᵀx)² = 1. Functions without a ``cov`` argument assume that isotropic setting.
"""

from __future__ import annotations

import numpy as np


def eta_star(dim: int, length: int, noise_var: float) -> float:
    """He et al. 2025, Thm 1(2): the optimal debiased-GD step η* = (1 + (1+σ²)d/L)⁻¹."""
    return 1.0 / (1.0 + (1.0 + noise_var) * dim / length)


def dgd_risk(eta: float, dim: int, length: int, noise_var: float) -> float:
    """Exact risk E(ŷ − y)² of debiased GD ŷ = (η/L) Σ y_ℓ (x_ℓ − x̄)ᵀx_q (He et al. 2025, §3 definition).

    Derived (notes A2.5, MC-checked to 2e-3): with m = L − 1,
    R = 1 + σ² − 2ηm/L + η²[m(m + d + 1) + σ²dm]/L². Its minimiser over η is exactly `eta_star`.
    """
    m = length - 1
    return 1 + noise_var - 2 * eta * m / length + eta**2 * (m * (m + dim + 1) + noise_var * dim * m) / length**2


def gd_risk(eta: float, dim: int, length: int, noise_var: float) -> float:
    """Exact risk of one GD step from zero, ŷ = (η/L) Σ y_ℓ x_ℓᵀx_q (derived, notes A2.5):
    R = 1 + σ² − 2η + η²(1 + (d+1)/L + σ²d/L)."""
    return 1 + noise_var - 2 * eta + eta**2 * (1 + (dim + 1) / length + noise_var * dim / length)


def eta_gd(dim: int, length: int, noise_var: float) -> float:
    """The minimiser of `gd_risk`: η_GD = (1 + (d + 1 + σ²d)/L)⁻¹ (derived, notes A2.5)."""
    return 1.0 / (1.0 + (dim + 1 + noise_var * dim) / length)


def linear_attention_length_risk(test_length: int, train_length: int, dim: int, noise_var: float) -> float:
    """Risk at context length L' of the optimal linear attention trained at L, whose 1/L is frozen.

    He et al. 2025, §4 (LinTF with 1/L fixed at training): the predictor is GD with step η_GD(L)·L'/L, so
    R_lin(L') = `gd_risk`(η_GD(L) · L'/L; L') (derived, notes A2.7). Grows quadratically in L'/L.
    """
    step = eta_gd(dim, train_length, noise_var) * test_length / train_length
    return gd_risk(step, dim, test_length, noise_var)


def ols_risk(dim: int, length: int, noise_var: float) -> float:
    """Risk of least squares with isotropic Gaussian x: σ²(1 + d/(L − d − 1)) for L > d + 1, else ∞.

    Standard (derived): E tr((XᵀX)⁻¹) = d/(L − d − 1) for a Wishart with L degrees of freedom.
    """
    return noise_var * (1 + dim / (length - dim - 1)) if length > dim + 1 else float("inf")


def bayes_risk(dim: int, length: int, noise_var: float, samples: int = 20000, seed: int = 0) -> tuple[float, float]:
    """Finite-L Bayes risk σ² + σ² E tr((XᵀX + σ²d I)⁻¹) by Monte Carlo, with its standard error.

    The posterior mean under w ~ N(0, I/d) is ridge with λ = σ²d (notes B5, A2.6), whose risk given X is
    σ² + σ² tr((XᵀX + λI)⁻¹). Returns (mean, standard error of the mean).
    """
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((samples, length, dim))
    gram = np.einsum("sld,sle->sde", x, x) + noise_var * dim * np.eye(dim)
    traces = np.linalg.inv(gram).trace(axis1=1, axis2=2)
    values = noise_var + noise_var * traces
    return float(values.mean()), float(values.std(ddof=1) / np.sqrt(samples))


def bayes_risk_limit(xi: float, noise_var: float) -> float:
    """Limiting Bayes risk as L, d → ∞ with d/L → ξ (notes A2.6; the authors' code `ridge_loss`):
    ½[σ² + 1 − 1/ξ + √((σ² − 1 + 1/ξ)² + 4σ²)]."""
    return 0.5 * (noise_var + 1 - 1 / xi + np.sqrt((noise_var - 1 + 1 / xi) ** 2 + 4 * noise_var))


def dgd_risk_limit(xi: float, noise_var: float) -> float:
    """Limit of `dgd_risk` at η* as L → ∞ with d/L → ξ: σ² + (1+σ²)ξ / (1 + (1+σ²)ξ) (derived)."""
    return noise_var + (1 + noise_var) * xi / (1 + (1 + noise_var) * xi)


def bayes_ratio_bound(xi: float, noise_var: float) -> float:
    """He et al. 2025, Thm 1(3): E(ŷ_gd(η*)) / BayesRisk ≤ 1 + σ⁻²[(1 + ξσ²)(1 + σ² + ξ⁻¹)]⁻¹,
    for σ² > 0 and σ² + ξ⁻¹ > 1."""
    return 1 + 1 / (noise_var * (1 + xi * noise_var) * (1 + noise_var + 1 / xi))


def mu_gamma(gamma: float, dim: int, length: int, noise_var: float) -> float:
    """He et al. 2025, solution manifold S_γ (notes A2.4): the total positive-head OV weight
    μ_γ = γ / (2(γ² + (1+σ²)L⁻¹ sinh(dγ²)))."""
    return gamma / (2 * (gamma**2 + (1 + noise_var) / length * np.sinh(dim * gamma**2)))


def manifold_loss(gamma: float, dim: int, length: int, noise_var: float) -> float:
    """He et al. 2025, approximate loss L̃ on S_γ (notes A2.4): 1 + σ² − γ²/(γ² + (1+σ²)L⁻¹ sinh(dγ²))."""
    return 1 + noise_var - gamma**2 / (gamma**2 + (1 + noise_var) / length * np.sinh(dim * gamma**2))


def zfb_gamma(cov: np.ndarray, length: int) -> np.ndarray:
    """Zhang, Frei & Bartlett 2023: Γ = (1 + 1/N)Λ + (tr Λ / N) I (derived, notes B1)."""
    return (1 + 1 / length) * cov + np.trace(cov) / length * np.eye(cov.shape[0])


def lsa_optimum(cov: np.ndarray, length: int, noise_var: float, weight_var: float) -> np.ndarray:
    """The population-optimal preconditioner B* of one linear self-attention layer, ŷ = x_qᵀ B (1/N)Σ y_i x_i.

    Zhang, Frei & Bartlett 2023 give B* = Γ⁻¹ for σ² = 0, τ² = 1; with noise and w ~ N(0, τ²I) the
    same derivation gives B* = (Γ + σ²/(Nτ²) I)⁻¹ (derived, notes B1). In He et al.'s scaling this is η_GD I.
    """
    dim = cov.shape[0]
    return np.linalg.inv(zfb_gamma(cov, length) + noise_var / (length * weight_var) * np.eye(dim))


def context_moment(cov: np.ndarray, length: int, noise_var: float, weight_var: float) -> np.ndarray:
    """E hhᵀ of h = (1/N) Σ_{i≤N} y_i x_i: τ² Λ (Γ_N + σ²/(N τ²) I) (derived, notes B1). It is the curvature M of the
    LSA population loss in B (`theory.lsa_dynamics`) and the quadratic term of `lsa_risk`."""
    noise_term = noise_var / (length * weight_var) * np.eye(cov.shape[0])
    return weight_var * cov @ (zfb_gamma(cov, length) + noise_term)


def lsa_risk(
    b: np.ndarray,
    cov: np.ndarray,
    test_length: int,
    noise_var: float,
    weight_var: float,
    normaliser_length: int | None = None,
) -> float:
    """Exact risk of ŷ = x_qᵀ B (1/N₀) Σ_{i≤M} y_i x_i at test length M (derived, notes B1 and A2.7).

    With h = (1/M)Σ y_i x_i: E hhᵀ = τ²Λ(Γ_M + σ²/(Mτ²) I), E[h y_q x_qᵀ] = τ²Λ². ``normaliser_length``
    N₀ is the frozen 1/N₀ of a linear attention trained at N₀ (He et al.); None means 1/M (ZFB's form).
    """
    ratio = 1.0 if normaliser_length is None else test_length / normaliser_length
    second_moment = context_moment(cov, test_length, noise_var, weight_var)
    quadratic = ratio**2 * np.trace(b.T @ cov @ b @ second_moment)
    cross = ratio * weight_var * np.trace(b @ cov @ cov)
    return float(quadratic - 2 * cross + weight_var * np.trace(cov) + noise_var)
