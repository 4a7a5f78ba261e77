"""`lla`: the functional entry point; Triton kernels on CUDA, blockwise PyTorch FlashLLA otherwise."""

from __future__ import annotations

from typing import Literal

import torch

from attnbench.kernels.lla.blockwise import Solver, lla_blockwise
from attnbench.kernels.lla.common import DEFAULT_RIDGE
from attnbench.kernels.lla.reference import lla_reference
from attnbench.kernels.lla.streams import BlockwiseStreams

Backend = Literal["auto", "triton", "torch", "reference"]
BACKENDS: tuple[Backend, ...] = ("auto", "triton", "torch", "reference")


def _streams_type(backend: Backend, device: torch.device) -> type[BlockwiseStreams]:
    if backend == "torch" or (backend == "auto" and device.type != "cuda"):
        return BlockwiseStreams
    from attnbench.kernels.lla.triton_lla import TritonStreams  # imports triton lazily

    return TritonStreams


def default_solver(device: torch.device) -> Solver:
    """The solver chosen per device: on the CPU the exact query-blocked Cholesky path, measured faster than CG
    even with only 8 (unconverged) CG iterations (results/kernels/bench_lla_cpu.csv, d = 32: fwd+bwd 0.89 s vs
    1.9 s at N = 2048), at the cost of holding its N·d² factors; on CUDA the matrix-free CG of FlashLLA (no GPU
    timing measured yet)."""
    return "cg" if device.type == "cuda" else "cholesky"


def lla(
    q: torch.Tensor,
    k: torch.Tensor,
    v: torch.Tensor,
    *,
    causal: bool = True,
    scale: float | None = None,
    ridge: float | torch.Tensor = DEFAULT_RIDGE,
    backend: Backend = "auto",
    solver: Solver | Literal["auto"] = "auto",
    block_size: int = 64,
    cg_iters: int = 32,
    cg_tol: float | None = None,
    jacobi: bool = False,
    detach_ridge_omega: bool = False,
) -> torch.Tensor:
    """Local Linear Attention (Zuo et al. 2025) on (batch, heads, length, dim) tensors; returns (B, H, N, Dv).

    ``backend="auto"`` runs the Triton kernels on CUDA tensors and the blockwise PyTorch FlashLLA elsewhere;
    ``"reference"`` is the materialised fp64 closed form (cast back to the input dtype). Ridge convention
    λω_i (see `attnbench.kernels.lla.reference`). ``solver="auto"`` picks `default_solver` for the device.
    Other options: see `lla_blockwise`.
    """
    if backend not in BACKENDS:
        raise ValueError(f"backend must be one of {BACKENDS}, got {backend!r}")
    if backend == "reference":
        return lla_reference(q, k, v, causal=causal, scale=scale, ridge=ridge).to(q.dtype)
    return lla_blockwise(
        q,
        k,
        v,
        causal=causal,
        scale=scale,
        ridge=ridge,
        block_size=block_size,
        solver=default_solver(q.device) if solver == "auto" else solver,
        cg_iters=cg_iters,
        cg_tol=cg_tol,
        jacobi=jacobi,
        detach_ridge_omega=detach_ridge_omega,
        streams_type=_streams_type(backend, q.device),
    )
