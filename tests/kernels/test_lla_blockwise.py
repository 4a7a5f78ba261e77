"""Blockwise FlashLLA (PyTorch) against the fp64 references: forward, gradcheck, autograd gradients.

fp32 tolerance (documented, from first-order error analysis): a linear solve in precision u has relative
error ≲ κ(A)·u, stopping CG at relative residual τ adds ≲ κ(A)·τ, and a length-N sum adds ≲ N·u. fp32
outputs and gradients are checked as ``max|x − x_ref| ≤ 4 (κ_max (u₃₂ + τ) + N u₃₂) max|x_ref|``, κ_max the
largest condition number of the systems Σ_i (from the fp64 reference), τ = 1e-6 the default fp32 CG tolerance
(0 for Cholesky).
"""

from __future__ import annotations

import pytest
import torch
from lla_helpers import random_qkv

from attnbench.kernels.lla import lla
from attnbench.kernels.lla.blockwise import lla_blockwise, lla_blockwise_forward
from attnbench.kernels.lla.cg import CGSettings, conjugate_gradient
from attnbench.kernels.lla.reference import lla_reference, lla_reference_terms
from attnbench.kernels.lla.streams import BlockwiseStreams

FP32_UNIT_ROUNDOFF = torch.finfo(torch.float32).eps / 2
SOLVER_OPTIONS = [{"solver": "cg"}, {"solver": "cg", "jacobi": True}, {"solver": "cholesky"}]


def _grads(out: torch.Tensor, inputs: tuple[torch.Tensor, ...], cotangent: torch.Tensor) -> tuple:
    return torch.autograd.grad((out * cotangent.to(out.dtype)).sum(), inputs)


@pytest.mark.parametrize("options", SOLVER_OPTIONS)
@pytest.mark.parametrize("causal", [True, False])
@pytest.mark.parametrize("length", [1, 5, 13])
def test_forward_matches_reference_fp64(options, causal, length):
    q, k, v = random_qkv(2, 2, length, 4, seed=length, value_dim=3)
    expected = lla_reference(q, k, v, causal=causal, ridge=0.1)
    actual = lla_blockwise(q, k, v, causal=causal, ridge=0.1, block_size=4, **options)
    torch.testing.assert_close(actual, expected, rtol=0, atol=1e-10)


@pytest.mark.parametrize(
    ("options", "length", "causal"),
    [
        ({"solver": "cg"}, 1, True),
        ({"solver": "cg"}, 7, True),
        ({"solver": "cg"}, 6, False),
        ({"solver": "cg", "jacobi": True}, 7, True),
        ({"solver": "cholesky"}, 7, True),
        ({"solver": "cholesky"}, 1, True),
    ],
)
def test_gradcheck_fp64(options, length, causal):
    q, k, v = random_qkv(1, 1, length, 3, seed=10 + length, requires_grad=True)

    def function(q, k, v):
        return lla_blockwise(q, k, v, causal=causal, ridge=0.3, block_size=3, **options)

    assert torch.autograd.gradcheck(function, (q, k, v), eps=1e-6, atol=1e-6, rtol=1e-5)


@pytest.mark.parametrize("options", SOLVER_OPTIONS)
@pytest.mark.parametrize("ridge", [0.01, 1.0])
@pytest.mark.parametrize("length", [1, 11])
def test_gradients_match_reference_autograd_fp64(options, ridge, length):
    q, k, v = random_qkv(2, 1, length, 4, seed=20 + length, value_dim=2, requires_grad=True)
    cotangent = torch.randn(2, 1, length, 2, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    expected = _grads(lla_reference(q, k, v, ridge=ridge), (q, k, v), cotangent)
    actual = _grads(lla_blockwise(q, k, v, ridge=ridge, block_size=4, **options), (q, k, v), cotangent)
    for name, a, e in zip("qkv", actual, expected, strict=True):
        torch.testing.assert_close(a, e, rtol=0, atol=1e-9 * (1 + e.abs().max().item()), msg=name)


@pytest.mark.parametrize("solver", ["cg", "cholesky"])
@pytest.mark.parametrize("ridge", [0.01, 0.1, 1.0])
def test_fp32_forward_and_gradients_within_conditioning_bound(solver, ridge):
    length = 37  # not a multiple of the block size
    q, k, v = random_qkv(2, 2, length, 8, seed=0, requires_grad=True)
    cotangent = torch.randn(2, 2, length, 8, generator=torch.Generator().manual_seed(1), dtype=torch.float64)
    reference = lla_reference(q, k, v, ridge=ridge)
    expected = (reference.detach(), *_grads(reference, (q, k, v), cotangent))
    kappa = float(torch.linalg.cond(lla_reference_terms(q, k, v, ridge=ridge).sigma.detach()).max())
    q32, k32, v32 = (t.detach().float().requires_grad_() for t in (q, k, v))
    out = lla_blockwise(q32, k32, v32, ridge=ridge, block_size=16, solver=solver)
    actual = (out.detach(), *_grads(out, (q32, k32, v32), cotangent))
    for name, a, e in zip(("o", "dq", "dk", "dv"), actual, expected, strict=True):
        relative_error = float((a.double() - e).abs().max() / e.abs().max())
        cg_tol = CGSettings().resolved_tol(torch.float32) if solver == "cg" else 0.0
        bound = 4 * (kappa * (FP32_UNIT_ROUNDOFF + cg_tol) + length * FP32_UNIT_ROUNDOFF)
        assert relative_error <= bound, (name, relative_error, kappa)


def test_detached_ridge_variant_is_the_released_gradient_and_differs_from_the_exact_one():
    """notes §3.3: the released backward treats ω in λω as a constant; the exact gradient differs."""
    q, k, v = random_qkv(1, 2, 9, 4, seed=30, requires_grad=True)
    cotangent = torch.randn(1, 2, 9, 4, generator=torch.Generator().manual_seed(2), dtype=torch.float64)
    detached_ref = _grads(lla_reference(q, k, v, ridge=1.0, detach_ridge_omega=True), (q, k, v), cotangent)
    exact_ref = _grads(lla_reference(q, k, v, ridge=1.0), (q, k, v), cotangent)
    detached = _grads(lla_blockwise(q, k, v, ridge=1.0, block_size=4, detach_ridge_omega=True), (q, k, v), cotangent)
    for a, e in zip(detached, detached_ref, strict=True):
        torch.testing.assert_close(a, e, rtol=0, atol=1e-9)
    gap_q = float((detached[0] - exact_ref[0]).abs().max() / exact_ref[0].abs().max())
    assert gap_q > 1e-3, gap_q


def test_cg_error_decreases_with_iterations():
    q, k, v = random_qkv(1, 1, 40, 16, seed=31)
    expected = lla_reference(q, k, v, ridge=0.01)
    errors = [
        float((lla_blockwise(q, k, v, ridge=0.01, cg_iters=iters, cg_tol=0.0) - expected).abs().max())
        for iters in (2, 8, 32)
    ]
    assert errors[0] > errors[1] > errors[2]
    assert errors[2] < 1e-9


def test_conjugate_gradient_solves_random_spd_systems():
    generator = torch.Generator().manual_seed(3)
    factor = torch.randn(5, 6, 6, generator=generator, dtype=torch.float64)
    matrices = factor @ factor.transpose(-1, -2) + 0.5 * torch.eye(6, dtype=torch.float64)
    rhs = torch.randn(5, 6, generator=generator, dtype=torch.float64)
    x, report = conjugate_gradient(
        lambda p: (matrices @ p[..., None])[..., 0],
        rhs,
        max_iters=50,
        tol=1e-13,
        diagonal=torch.diagonal(matrices, dim1=-2, dim2=-1),
    )
    torch.testing.assert_close(x, torch.linalg.solve(matrices, rhs), rtol=0, atol=1e-9)
    assert report.iterations <= 12 and report.max_relative_residual <= 1e-13


def test_half_precision_inputs_return_their_dtype():
    q, k, v = random_qkv(1, 1, 6, 4, seed=32, dtype=torch.bfloat16)
    out = lla_blockwise(q, k, v)
    assert out.dtype == torch.bfloat16
    torch.testing.assert_close(out.double(), lla_reference(q, k, v), rtol=0, atol=0.1)


def test_exact_path_factorises_each_query_block_once(monkeypatch):
    """The adjoint solve of the backward reuses the forward's Cholesky factors: one factorisation per query
    block per forward+backward (3 blocks of 4 rows for N = 10)."""
    calls = []
    factorise = torch.linalg.cholesky
    monkeypatch.setattr(torch.linalg, "cholesky", lambda a: calls.append(a.shape) or factorise(a))
    q, k, v = random_qkv(2, 1, 10, 3, seed=34, requires_grad=True)
    out = lla_blockwise(q, k, v, solver="cholesky", block_size=4)
    grads = torch.autograd.grad(out.sum(), (q, k, v))
    assert len(calls) == 3
    expected = torch.autograd.grad(lla_reference(q, k, v).sum(), (q, k, v))
    for grad, reference in zip(grads, expected, strict=True):
        torch.testing.assert_close(grad, reference, rtol=0, atol=1e-10)


@pytest.mark.parametrize("keep", [False, True])
def test_factors_are_kept_only_for_a_backward(keep):
    """Without a following backward (e.g. under ``torch.no_grad``) the exact path holds one block's factor at a
    time; a second forward on the same streams starts from its own factors."""
    q, k, v = (t.reshape(2, 10, 3) for t in random_qkv(2, 1, 10, 3, seed=35))
    streams = BlockwiseStreams(q, k, v, scale=3**-0.5, ridge=0.1, causal=True, block_size=4, keep_factors=keep)
    first = lla_blockwise_forward(streams, solver="cholesky", cg=CGSettings())
    assert len(streams.cholesky_factors) == (3 if keep else 0)
    streams.q = streams.q + 1.0
    second = lla_blockwise_forward(streams, solver="cholesky", cg=CGSettings())
    expected = lla_reference(streams.q[:, None], k[:, None], v[:, None], ridge=0.1)[:, 0]
    torch.testing.assert_close(second.output, expected, rtol=0, atol=1e-10)
    assert not torch.allclose(first.output, second.output)


def test_dispatcher_uses_blockwise_on_cpu():
    q, k, v = random_qkv(1, 2, 9, 4, seed=33)
    torch.testing.assert_close(lla(q, k, v, ridge=0.2), lla_reference(q, k, v, ridge=0.2), rtol=0, atol=1e-10)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"solver": "lu"}, "solver"),
        ({"block_size": 0}, "block_size"),
        ({"cg_iters": 0}, "max_iters"),
        ({"ridge": -1.0}, "ridge"),
    ],
)
def test_bad_arguments_raise(kwargs, message):
    q, k, v = random_qkv(1, 1, 3, 2, seed=34)
    with pytest.raises(ValueError, match=message):
        lla_blockwise(q, k, v, **kwargs)


def test_cg_settings_default_tolerance_depends_on_dtype():
    assert CGSettings().resolved_tol(torch.float64) < CGSettings().resolved_tol(torch.float32)
