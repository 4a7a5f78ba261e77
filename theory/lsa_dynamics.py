"""Gradient flow of one linear self-attention layer on the population loss (Zhang, Frei & Bartlett 2023; notes B1).

With u = W^{PV}_{d+1,d+1} and A = W^{KQ}_{1:d,1:d} (the only entries that move from ZFB's initialisation), the
prediction is ŷ = x_qᵀ B (1/N) Σ_i y_i x_i with B = u Aᵀ, and the population loss of x ~ N(0, Λ), w ~ N(0, τ² I),
noise σ² is (derived, notes B1; `theory.icl_linear.lsa_risk` is twice it)

    L(u, A) = ½ [tr(Bᵀ Λ B M) − 2 τ² tr(Λ B Λ) + τ² tr Λ + σ²],   M = Λ (τ² Γ + σ²/N I) = E hhᵀ,
    Γ = (1 + 1/N) Λ + (tr Λ / N) I.

Its gradient in B is G = Λ B M − τ² Λ² (Λ and Γ commute, so M is symmetric), hence ∂L/∂u = tr(G A) and
∂L/∂A = u Gᵀ. The flow du/dt = −tr(GA), dA/dt = −u Gᵀ conserves u² − ‖A‖²_F (d/dt of both is −2u tr(GA)), and
its fixed point on the balanced set is B* = (Γ + σ²/(Nτ²) I)⁻¹ (`theory.icl_linear.lsa_optimum`), with
u* = ‖B*‖_F^{1/2} from a balanced start. `flow` integrates it with scipy's DOP853.
"""

from __future__ import annotations

import numpy as np
from scipy.integrate import solve_ivp

from attnbench.theory.icl_linear import context_moment


def population_gradient(
    u: float, a: np.ndarray, cov: np.ndarray, curvature: np.ndarray, weight_var: float
) -> tuple[float, np.ndarray]:
    """(∂L/∂u, ∂L/∂A) at (u, A), with ``curvature`` = M = `theory.icl_linear.context_moment` (module docstring)."""
    g = cov @ (u * a.T) @ curvature - weight_var * cov @ cov
    return float(np.trace(g @ a)), u * g.T


def balance(u: float | np.ndarray, a: np.ndarray) -> float | np.ndarray:
    """u² − ‖A‖²_F (over a leading axis of ``a`` when ``u`` is an array): conserved by the flow."""
    return np.asarray(u) ** 2 - (np.asarray(a) ** 2).sum(axis=(-2, -1))


def flow(
    u0: float,
    a0: np.ndarray,
    times: np.ndarray,
    cov: np.ndarray,
    length: int,
    noise_var: float,
    weight_var: float,
    rtol: float = 1e-10,
    atol: float = 1e-12,
) -> tuple[np.ndarray, np.ndarray]:
    """The gradient flow from (u0, A0), at ``times`` (increasing, from 0): (u(t) shaped (T,), A(t) shaped (T, d, d))."""
    dim = cov.shape[0]
    curvature = context_moment(cov, length, noise_var, weight_var)

    def velocity(_: float, state: np.ndarray) -> np.ndarray:
        grad_u, grad_a = population_gradient(state[0], state[1:].reshape(dim, dim), cov, curvature, weight_var)
        return -np.concatenate([[grad_u], grad_a.ravel()])

    solution = solve_ivp(
        velocity,
        (0.0, float(times[-1])),
        np.concatenate([[u0], a0.ravel()]),
        method="DOP853",
        t_eval=times,
        rtol=rtol,
        atol=atol,
    )
    if not solution.success:
        raise RuntimeError(f"the LSA gradient flow did not integrate: {solution.message}")
    return solution.y[0], solution.y[1:].T.reshape(len(times), dim, dim)
