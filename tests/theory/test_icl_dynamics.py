"""The reduced dynamics of He et al. 2025 (notes A2.2–A2.4): L̃'s gradient is its derivative, L̃ is the reduced
model's population loss up to the documented O(1/L), and the flow ends on S̄ or in the one-signed valley."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from scipy.optimize import approx_fprime

from attnbench.models.icl_attention import ReducedSoftmaxICL
from attnbench.tasks import icl_linear as task
from attnbench.theory import icl_dynamics as dyn
from attnbench.theory import icl_linear as theory

D, L, NOISE = 5, 40, 0.1


def test_gradient_is_the_derivative_of_the_approximate_loss():
    rng = np.random.default_rng(0)
    for _ in range(5):
        mu, omega = rng.normal(0, 1, 3), rng.normal(0, 0.3, 3)
        grad_mu, grad_omega = dyn.approximate_loss_gradient(mu, omega, D, L, NOISE)
        numeric = approx_fprime(
            np.concatenate([mu, omega]), lambda z: dyn.approximate_loss(z[:3], z[3:], D, L, NOISE), 1e-7
        )
        np.testing.assert_allclose(np.concatenate([grad_mu, grad_omega]), numeric, rtol=1e-5, atol=1e-5)


def test_approximate_loss_on_the_manifold_is_the_sinh_formula():
    gamma = 0.2
    mu_g = theory.mu_gamma(gamma, D, L, NOISE)
    loss = dyn.approximate_loss(np.array([mu_g, -mu_g]), np.array([gamma, -gamma]), D, L, NOISE)
    assert loss == pytest.approx(theory.manifold_loss(gamma, D, L, NOISE), rel=1e-12)


def test_approximate_loss_is_the_reduced_models_population_loss_up_to_order_one_over_l():
    """Monte Carlo over 2¹⁶ prompts (float64). L̃ drops O(1/L) terms and underestimates (notes A2.2, which advise
    a tolerance of about 1/L): on S_γ the gap is below 1/L; at the one-signed point (ω = 0.45 in both heads)
    it is 1.6/L (measured), so there the test asks for an underestimate by less than 2/L."""
    config = task.IclLinearConfig(dim=D, context_length=L, noise_var=NOISE, batch_size=1 << 16)
    batch = config.sample("test", 0, dtype=torch.float64)
    for mu, omega, bound in (([2.9, -2.9], [0.15, -0.15], 1 / L), ([0.8, 0.8], [0.45, 0.45], 2 / L)):
        model = ReducedSoftmaxICL(torch.tensor([mu], dtype=torch.float64), torch.tensor([omega], dtype=torch.float64))
        with torch.no_grad():
            measured = float(((model(batch.inputs[None]) - batch.targets) ** 2).mean())
        assert 0 < measured - dyn.approximate_loss(np.array(mu), np.array(omega), D, L, NOISE) < bound


def test_flow_from_two_signed_heads_reaches_the_manifold():
    mu, omega = dyn.reduced_flow(np.array([0.1, -0.05]), np.array([0.02, -0.01]), np.array([0.0, 2000.0]), D, L, NOISE)
    gamma = float(np.abs(omega[-1]).mean())
    assert np.sign(omega[-1]).tolist() == [1.0, -1.0] and np.sign(mu[-1]).tolist() == [1.0, -1.0]
    assert abs(mu[-1].sum()) / np.abs(mu[-1]).sum() < 1e-3
    assert mu[-1, 0] == pytest.approx(theory.mu_gamma(gamma, D, L, NOISE), rel=1e-2)
    assert not dyn.flows_one_signed(np.array([0.1, -0.05]), np.array([0.02, -0.01]), D, L, NOISE)


def test_a_symmetric_start_stays_in_the_one_signed_valley():
    """Equal heads stay equal (the symmetric subspace is invariant) and end at the single-head optimum of L̃,
    where ∇L̃ = 0 with Σμ split between them."""
    mu, omega = dyn.reduced_flow(np.array([0.1, 0.1]), np.array([0.02, 0.02]), np.array([0.0, 500.0]), D, L, NOISE)
    assert omega[-1, 0] == pytest.approx(omega[-1, 1], rel=1e-9)
    grad_mu, grad_omega = dyn.approximate_loss_gradient(mu[-1], omega[-1], D, L, NOISE)
    assert np.abs(np.concatenate([grad_mu, grad_omega])).max() < 1e-6
    assert dyn.flows_one_signed(np.array([0.1, 0.09]), np.array([0.02, 0.021]), D, L, NOISE)
