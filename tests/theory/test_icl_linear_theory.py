"""Closed forms of the in-context regression theory: exact optima, reference values, and Monte-Carlo
checks of the risk formulas against the task's own oracles (float64)."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from scipy.optimize import minimize_scalar

from attnbench.tasks import icl_linear as task
from attnbench.theory import icl_linear as theory

D, L, NOISE = 5, 40, 0.1


def test_eta_star_minimises_the_dgd_risk_exactly():
    result = minimize_scalar(
        lambda eta: theory.dgd_risk(eta, D, L, NOISE), bounds=(0, 2), method="bounded", options={"xatol": 1e-12}
    )
    assert result.x == pytest.approx(theory.eta_star(D, L, NOISE), abs=1e-7)
    minimum = 1 + NOISE - (L - 1) / (L + (1 + NOISE) * D)
    assert theory.dgd_risk(theory.eta_star(D, L, NOISE), D, L, NOISE) == pytest.approx(minimum, rel=1e-12)


def test_eta_gd_minimises_the_gd_risk():
    result = minimize_scalar(
        lambda eta: theory.gd_risk(eta, D, L, NOISE), bounds=(0, 2), method="bounded", options={"xatol": 1e-12}
    )
    assert result.x == pytest.approx(theory.eta_gd(D, L, NOISE), abs=1e-7)


def test_reference_values_at_d5_l40():
    """Notes Table A (derived values, recomputed here from the formulas' definitions)."""
    assert theory.eta_star(D, L, NOISE) == pytest.approx(0.87912, abs=1e-5)
    assert theory.dgd_risk(theory.eta_star(D, L, NOISE), D, L, NOISE) == pytest.approx(0.24286, abs=1e-5)
    assert theory.eta_gd(D, L, NOISE) == pytest.approx(0.86022, abs=1e-5)
    assert theory.gd_risk(theory.eta_gd(D, L, NOISE), D, L, NOISE) == pytest.approx(0.23978, abs=1e-5)


@pytest.mark.parametrize(
    ("predict", "risk"),
    [
        (lambda x: task.debiased_gd_predict(x, 0.8), lambda n: theory.dgd_risk(0.8, D, n, NOISE)),
        (lambda x: task.gd_predict(x, 0.8), lambda n: theory.gd_risk(0.8, D, n, NOISE)),
        (task.ols_predict, lambda n: theory.ols_risk(D, n, NOISE)),
    ],
)
@pytest.mark.parametrize("length", [10, 40])
def test_risk_formulas_against_monte_carlo(predict, risk, length):
    """2^15 prompts; the check is 5 Monte-Carlo standard errors (false-failure rate 6e-7 per case)."""
    config = task.IclLinearConfig(dim=D, context_length=length, noise_var=NOISE, batch_size=8192)
    errors = torch.cat(
        [
            (predict(b.inputs) - b.targets) ** 2
            for b in (config.sample("test", i, dtype=torch.float64) for i in range(4))
        ]
    )
    standard_error = float(errors.std()) / len(errors) ** 0.5
    assert abs(float(errors.mean()) - risk(length)) < 5 * standard_error


def test_linear_attention_length_risk_matches_the_reported_table():
    """Notes A3 length-transfer row (derived): 0.746, 0.485, 0.240, 0.860, 6.54, 35.7."""
    expected = {10: 0.746, 20: 0.485, 40: 0.240, 80: 0.860, 160: 6.54, 320: 35.7}
    for length, value in expected.items():
        assert theory.linear_attention_length_risk(length, L, D, NOISE) == pytest.approx(value, rel=5e-3)


def test_lsa_risk_generalises_the_isotropic_formulas():
    optimum = theory.lsa_optimum(np.eye(D), L, NOISE, 1 / D)
    assert np.allclose(optimum, theory.eta_gd(D, L, NOISE) * np.eye(D))
    for m in (10, 40, 320):
        assert theory.lsa_risk(optimum, np.eye(D), m, NOISE, 1 / D, normaliser_length=L) == pytest.approx(
            theory.linear_attention_length_risk(m, L, D, NOISE), rel=1e-12
        )


def test_zfb_test_length_risk_against_monte_carlo():
    """ZFB setting (τ² = 1, σ² = 0, Λ = diag(1, 2, .5, 1.5, .3), N = 20), the optimum B* = Γ⁻¹ evaluated at
    test length M by direct simulation: 4 standard errors (false-failure rate 6e-5)."""
    cov = np.diag([1.0, 2.0, 0.5, 1.5, 0.3])
    optimum = theory.lsa_optimum(cov, 20, 0.0, 1.0)
    rng = np.random.default_rng(0)
    for m in (5, 80):
        x = rng.standard_normal((20000, m + 1, 5)) * np.sqrt(np.diag(cov))
        w = rng.standard_normal((20000, 5))
        y = np.einsum("sld,sd->sl", x, w)
        h = np.einsum("sl,sld->sd", y[:, :-1], x[:, :-1]) / m
        errors = (np.einsum("sd,de,se->s", x[:, -1], optimum, h) - y[:, -1]) ** 2
        assert abs(errors.mean() - theory.lsa_risk(optimum, cov, m, 0.0, 1.0)) < 4 * errors.std() / np.sqrt(20000)


def test_manifold_loss_increases_in_gamma_and_mu_gamma_gives_eta_star_in_the_limit():
    gammas = np.linspace(1e-3, 1.0, 200)
    losses = [theory.manifold_loss(g, D, L, NOISE) for g in gammas]
    assert np.all(np.diff(losses) > 0)
    assert 2 * 1e-4 * theory.mu_gamma(1e-4, D, L, NOISE) == pytest.approx(theory.eta_star(D, L, NOISE), rel=1e-6)


def test_bayes_limit_and_ratio_bound_on_a_grid():
    """He et al. 2025, Thm 1(3) on a 60×60 log grid where σ² + 1/ξ > 1, and the limit risk at ξ = 1/8."""
    for noise in np.geomspace(1e-3, 1e2, 60):
        for xi in np.geomspace(1e-3, 1e3, 60):
            if noise + 1 / xi <= 1:
                continue
            ratio = theory.dgd_risk_limit(xi, noise) / theory.bayes_risk_limit(xi, noise)
            assert 1 - 1e-12 <= ratio <= theory.bayes_ratio_bound(xi, noise) + 1e-12
    assert theory.bayes_risk_limit(0.125, 0.1) == pytest.approx(0.11406, abs=1e-5)


@pytest.mark.slow
def test_finite_length_bayes_risk_matches_the_limit_at_large_size():
    """At d = 100, L = 400 the finite-L Bayes risk is within 2e-3 of its ξ = 1/4 limit (notes B5)."""
    value, error = theory.bayes_risk(100, 400, 0.25, samples=200, seed=1)
    assert abs(value - theory.bayes_risk_limit(0.25, 0.25)) < 2e-3 + 4 * error
