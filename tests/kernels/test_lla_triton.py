"""Triton FlashLLA kernels against the fp64 reference: forward and all gradients.

The CPU test runs the kernels under ``TRITON_INTERPRET=1`` in a subprocess (the variable must be set before
triton is first imported, which another test module may already have done in this process) at tiny shapes:
lengths 1 and 17 (not a multiple of the 16-wide tile), causal and not, CG with and without Jacobi, Cholesky.
Errors are relative to max(1, max|x_ref|) (at length 1, dq is exactly 0). fp64 tolerance: 1e-9 (CG stopped
at relative residual 1e-12). fp32: the conditioning bound documented in test_lla_blockwise.py.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

CASES = [  # (dtype, length, causal, options)
    ("float64", 1, True, {"solver": "cholesky"}),
    ("float64", 17, True, {"solver": "cg"}),
    ("float64", 17, False, {"solver": "cg", "jacobi": True}),
    ("float32", 17, True, {"solver": "cg"}),
]


def measure_errors(device: str) -> list[dict]:
    """Relative max errors of Triton outputs and gradients against fp64 autograd through the reference."""
    sys.path.insert(0, str(Path(__file__).parent))
    from lla_helpers import random_qkv

    from attnbench.kernels.lla import lla
    from attnbench.kernels.lla.cg import CGSettings
    from attnbench.kernels.lla.reference import lla_reference, lla_reference_terms

    results = []
    for dtype_name, length, causal, options in CASES:
        dtype = getattr(torch, dtype_name)
        q, k, v = random_qkv(1, 1, length, 3, seed=length, value_dim=2, requires_grad=True)
        cotangent = torch.randn(1, 1, length, 2, generator=torch.Generator().manual_seed(1), dtype=torch.float64)
        reference = lla_reference(q, k, v, causal=causal)
        expected = (reference.detach(), *torch.autograd.grad((reference * cotangent).sum(), (q, k, v)))
        inputs = [t.detach().to(device=device, dtype=dtype).requires_grad_() for t in (q, k, v)]
        out = lla(*inputs, causal=causal, backend="triton", block_size=16, **options)
        grads = torch.autograd.grad((out * cotangent.to(out)).sum(), inputs)
        errors = {
            name: float((a.double().cpu() - e).abs().max() / max(1.0, float(e.abs().max())))
            for name, a, e in zip(("o", "dq", "dk", "dv"), (out.detach(), *grads), expected, strict=True)
        }
        sigma = lla_reference_terms(q.detach(), k.detach(), v.detach(), causal=causal).sigma
        cg_tol = CGSettings().resolved_tol(dtype) if options["solver"] == "cg" else 0.0
        results.append(
            {
                "dtype": dtype_name,
                "length": length,
                "causal": causal,
                "options": options,
                "errors": errors,
                "kappa": float(torch.linalg.cond(sigma).max()),
                "cg_tol": cg_tol,
            }
        )
    return results


def _bound(case: dict) -> float:
    if case["dtype"] == "float64":
        return 1e-9
    unit = torch.finfo(torch.float32).eps / 2
    return 4 * (case["kappa"] * (unit + case["cg_tol"]) + case["length"] * unit)


def _assert_within_bounds(results: list[dict]) -> None:
    for case in results:
        for name, error in case["errors"].items():
            assert error <= _bound(case), (case, name)


def test_triton_kernels_match_reference_under_interpreter():
    env = {**os.environ, "TRITON_INTERPRET": "1", "OMP_NUM_THREADS": "1"}
    completed = subprocess.run(
        [sys.executable, __file__], env=env, capture_output=True, text=True, timeout=120, check=False
    )
    assert completed.returncode == 0, completed.stderr[-3000:]
    results = json.loads(completed.stdout.strip().splitlines()[-1])
    assert len(results) == len(CASES)
    _assert_within_bounds(results)


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_triton_kernels_match_reference_on_gpu():
    _assert_within_bounds(measure_errors("cuda"))


if __name__ == "__main__":
    print(json.dumps(measure_errors("cpu")))
