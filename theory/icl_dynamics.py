"""The reduced training dynamics of multi-head softmax attention on in-context linear regression.

He, Pan, Chen, Yang 2025 reduce H heads to one scalar pair per head, ω_h (the KQ circuit's x-block ω_h I_d) and
μ_h (the OV readout's y-entry), and approximate the population loss for large L by (notes A2.2)

    L̃(μ, ω) = 1 + σ² − 2 μᵀω + μᵀ(ωωᵀ + c E) μ,   c = (1 + σ²)/L,   E = exp_entrywise(d ωωᵀ).

Gradient descent on L̃ with step η is their Stage I / Stage II dynamics (notes A2.3); its gradients, in
matrix form (derived: the Taylor form of A2.3 summed back into E),

    ∇_μ L̃ = −2ω + 2(ωωᵀ + c E) μ,   ∇_ω L̃ = −2μ + 2⟨μ, ω⟩ μ + 2cd μ ⊙ (E (μ ⊙ ω)).

`reduced_flow` integrates the gradient flow dθ/dt = −∇L̃ (GD with step η is this flow at time t = η·step up
to O(η)) with scipy's ``solve_ivp``. Besides S̄ (one positive and one negative head, A2.4) the flow has a
second attracting set, the one-signed valley where every head shares one ω, the single-head optimum
(derived: there the predictor depends on Σμ only, so L̃ is flat along the heads' split of it); which of the
two an initialisation flows to is `flows_one_signed`.
"""

from __future__ import annotations

import numpy as np
from scipy.integrate import solve_ivp

# A flow time long past Stage I: at d = 5, L = 20–80 the heads' signs are settled by t ≈ 10² (measured).
BASIN_HORIZON = 5000.0


def approximate_loss(mu: np.ndarray, omega: np.ndarray, dim: int, length: int, noise_var: float) -> float:
    """He et al. 2025, L̃(μ, ω) (notes A2.2), for heads ``mu``, ``omega`` of shape (H,)."""
    c = (1 + noise_var) / length
    curvature = np.outer(omega, omega) + c * np.exp(dim * np.outer(omega, omega))
    return float(1 + noise_var - 2 * mu @ omega + mu @ curvature @ mu)


def approximate_loss_gradient(
    mu: np.ndarray, omega: np.ndarray, dim: int, length: int, noise_var: float
) -> tuple[np.ndarray, np.ndarray]:
    """(∇_μ L̃, ∇_ω L̃) in the matrix form of the module docstring (He et al. 2025, notes A2.3)."""
    c = (1 + noise_var) / length
    kernel = np.exp(dim * np.outer(omega, omega))
    grad_mu = -2 * omega + 2 * (np.outer(omega, omega) + c * kernel) @ mu
    grad_omega = -2 * mu + 2 * (mu @ omega) * mu + 2 * c * dim * mu * (kernel @ (mu * omega))
    return grad_mu, grad_omega


def reduced_flow(
    mu0: np.ndarray, omega0: np.ndarray, times: np.ndarray, dim: int, length: int, noise_var: float
) -> tuple[np.ndarray, np.ndarray]:
    """The gradient flow of L̃ from (μ(0), ω(0)) = (``mu0``, ``omega0``), read at flow ``times`` (increasing,
    from 0): returns (μ(t), ω(t)), each shaped (len(times), H). LSODA, rtol 1e-9, atol 1e-12."""
    heads = len(mu0)

    def velocity(_: float, state: np.ndarray) -> np.ndarray:
        grad_mu, grad_omega = approximate_loss_gradient(state[:heads], state[heads:], dim, length, noise_var)
        return -np.concatenate([grad_mu, grad_omega])

    start = np.concatenate([np.asarray(mu0, float), np.asarray(omega0, float)])
    times = np.asarray(times, float)
    solution = solve_ivp(velocity, (0.0, float(times[-1])), start, method="LSODA", t_eval=times, rtol=1e-9, atol=1e-12)
    if not solution.success:
        raise RuntimeError(f"the reduced flow failed: {solution.message}")
    return solution.y[:heads].T, solution.y[heads:].T


def flows_one_signed(mu0: np.ndarray, omega0: np.ndarray, dim: int, length: int, noise_var: float) -> bool:
    """Whether the flow of L̃ from (``mu0``, ``omega0``) ends in the one-signed valley (every head's ω of one
    sign at `BASIN_HORIZON`) rather than on S̄: the prediction, made before training, that a seed stalls."""
    _, omega = reduced_flow(mu0, omega0, np.array([0.0, BASIN_HORIZON]), dim, length, noise_var)
    return bool(np.all(omega[-1] > 0) or np.all(omega[-1] < 0))
