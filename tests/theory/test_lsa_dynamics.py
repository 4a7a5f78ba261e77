"""The LSA population flow (theory/lsa_dynamics.py) against independent computations, in fp64: its gradient
against central finite differences of the exact risk `lsa_risk` (which is twice the loss), its fixed point
against `lsa_optimum`, and the conservation of u² − ‖A‖²_F along the integrated flow."""

from __future__ import annotations

import numpy as np
import pytest

from attnbench.theory.icl_linear import context_moment, lsa_optimum, lsa_risk
from attnbench.theory.lsa_dynamics import balance, flow, population_gradient

COV = np.diag([1.0, 2.0, 0.5, 1.5, 0.3])
LENGTH = 20


@pytest.mark.parametrize(("noise_var", "weight_var"), [(0.0, 1.0), (0.1, 0.2)])
def test_gradient_matches_finite_differences_of_the_risk(noise_var, weight_var):
    rng = np.random.default_rng(0)
    u, a = 0.7, rng.normal(size=(5, 5))

    def loss(u: float, a: np.ndarray) -> float:
        return 0.5 * lsa_risk(u * a.T, COV, LENGTH, noise_var, weight_var)

    grad_u, grad_a = population_gradient(u, a, COV, context_moment(COV, LENGTH, noise_var, weight_var), weight_var)
    step = 1e-6
    assert grad_u == pytest.approx((loss(u + step, a) - loss(u - step, a)) / (2 * step), rel=1e-7)
    for i, j in [(0, 0), (1, 2), (4, 3)]:
        e = np.zeros((5, 5))
        e[i, j] = step
        assert grad_a[i, j] == pytest.approx((loss(u, a + e) - loss(u, a - e)) / (2 * step), rel=1e-6, abs=1e-9)


def test_the_optimum_is_a_fixed_point():
    optimum = lsa_optimum(COV, LENGTH, 0.1, 0.2)
    scale = np.linalg.norm(optimum) ** 0.5
    grad_u, grad_a = population_gradient(scale, optimum.T / scale, COV, context_moment(COV, LENGTH, 0.1, 0.2), 0.2)
    assert abs(grad_u) < 1e-12 and np.abs(grad_a).max() < 1e-12


def test_flow_conserves_the_balance_and_reaches_the_balanced_optimum():
    a0 = np.random.default_rng(1).normal(size=(5, 5))
    a0 *= 0.1 / np.linalg.norm(a0)
    u, a = flow(0.1, a0, np.linspace(0.0, 200.0, 11), COV, LENGTH, 0.0, 1.0)
    assert np.abs(balance(u, a) - balance(u[0], a[0])).max() < 1e-9
    optimum = lsa_optimum(COV, LENGTH, 0.0, 1.0)
    assert np.linalg.norm(u[-1] * a[-1].T - optimum) / np.linalg.norm(optimum) < 1e-8
    assert u[-1] == pytest.approx(np.linalg.norm(optimum) ** 0.5, rel=1e-8)
