"""Gradient of LLA w.r.t. the ridge λ (learnable λ): blockwise backward against fp64 autograd and finite differences."""

from __future__ import annotations

import pytest
import torch
from lla_helpers import random_qkv

from attnbench.kernels.lla import lla
from attnbench.kernels.lla.reference import lla_reference


def _ridge_gradient(function, q, k, v, cotangent, ridge: float, **options) -> torch.Tensor:
    lam = torch.tensor(ridge, dtype=torch.float64, requires_grad=True)
    (function(q, k, v, ridge=lam, **options) * cotangent).sum().backward()
    return lam.grad


@pytest.mark.parametrize("solver", ["cholesky", "cg"])
@pytest.mark.parametrize("ridge", [0.01, 0.3, 3.0])
@pytest.mark.parametrize("detach_ridge_omega", [False, True])
def test_ridge_gradient_matches_reference_autograd_fp64(solver, ridge, detach_ridge_omega):
    q, k, v = random_qkv(2, 2, 23, 4, seed=11)
    cotangent = random_qkv(2, 2, 23, 4, seed=12)[0]
    expected = _ridge_gradient(lla_reference, q, k, v, cotangent, ridge, detach_ridge_omega=detach_ridge_omega)
    measured = _ridge_gradient(
        lla,
        q,
        k,
        v,
        cotangent,
        ridge,
        solver=solver,
        block_size=8,
        detach_ridge_omega=detach_ridge_omega,
        cg_tol=1e-13,
        cg_iters=64,
    )
    assert torch.allclose(measured, expected, rtol=1e-9, atol=1e-10 * expected.abs().item())


def test_ridge_gradient_matches_central_finite_difference():
    q, k, v = random_qkv(1, 1, 17, 3, seed=3)
    cotangent = random_qkv(1, 1, 17, 3, seed=4)[0]
    analytic = _ridge_gradient(lla, q, k, v, cotangent, 0.2, solver="cholesky", block_size=4)
    step = 1e-6
    loss = [(lla(q, k, v, ridge=0.2 + sign * step, solver="cholesky") * cotangent).sum() for sign in (1, -1)]
    assert analytic.item() == pytest.approx(((loss[0] - loss[1]) / (2 * step)).item(), rel=1e-7)


def test_tensor_ridge_gives_the_same_output_as_a_float():
    q, k, v = random_qkv(1, 2, 9, 3, seed=5)
    assert torch.equal(lla(q, k, v, ridge=torch.tensor(0.4, dtype=torch.float64)), lla(q, k, v, ridge=0.4))


@pytest.mark.parametrize("ridge", [torch.tensor([0.1, 0.2]), torch.tensor(-1.0), torch.tensor(1)])
def test_bad_tensor_ridge_raises(ridge):
    q, k, v = random_qkv(1, 1, 4, 2, seed=6)
    with pytest.raises(ValueError, match="ridge"):
        lla(q, k, v, ridge=ridge)
