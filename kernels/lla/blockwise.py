"""FlashLLA in PyTorch: blockwise Local Linear Attention with O(length·dim) memory (notes §3, paper §3).

The key sweeps are the methods of `BlockwiseStreams` (``streams.py``; `TritonStreams` in ``triton_lla.py``
fuses them), written with the normalised weights ``p_ij = w_ij/ω_i`` and the normalised system
``A_i = Σ_j p_ij z_ij z_ijᵀ + λI`` (right-hand side ``k̄_i − q_i``); this module combines them into the
forward, the backward and the autograd function, shared by both backends.

Forward (notes §3.2):
1. online statistics over key blocks with max rescaling: running max ``m_i``, ``ω_i``, ``Σ_j w_ij k_j``
   (and ``Σ_j w_ij k_j⊙k_j`` for the Jacobi preconditioner);
2. solve ``A_i ρ_i = k̄_i − q_i``: batched matrix-free conjugate gradient (`conjugate_gradient`), the product
   ``A_i x = Σ_j p_ij (z_ijᵀx) z_ij + λx`` streamed over key blocks via ``z_ijᵀx = xᵀk_j − xᵀq_i``; or, on the
   exact path, per query block Cholesky factorisations of the explicit d×d matrices (Θ(N²d²) work; no CG
   error). When a backward follows, the factors are kept for its adjoint solve, so this path then holds
   O(N·d²) memory; on the CPU it is also the faster path (results/kernels), CG the one that keeps O(N·d);
3. output pass ``o_i = Σ_j p_ij (1 − ρ_iᵀz_ij) v_j / δ̂_i`` with ``δ̂_i = δ_i/ω_i = 1 − ρ_iᵀ(k̄_i − q_i)``.

Backward (derived by differentiating the ρ/δ form; formulas in `lla_blockwise_backward`): one adjoint solve
``A_i Û_i = T̂_i`` (A is symmetric) and two sweeps. It includes the term ``λ(Ûᵀρ − β̂‖ρ‖²)`` from the ridge's
dependence on ω_i that the released FlashLLA backward drops (notes §3.3); ``detach_ridge_omega=True``
reproduces the released gradient for comparison.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import torch

from attnbench.kernels.lla.cg import CGReport, CGSettings, conjugate_gradient
from attnbench.kernels.lla.common import DEFAULT_RIDGE, resolve_scale, validate_inputs
from attnbench.kernels.lla.streams import BlockwiseStreams

Solver = Literal["cg", "cholesky"]
SOLVERS: tuple[Solver, ...] = ("cg", "cholesky")


def _solve(
    streams: BlockwiseStreams, rhs: torch.Tensor, solver: Solver, cg: CGSettings
) -> tuple[torch.Tensor, CGReport]:
    """Solve ``A_i x_i = rhs_i`` for every query by CG (matrix-free) or exactly (Cholesky per query block)."""
    if solver == "cg":
        diagonal = streams.jacobi_diagonal() if cg.jacobi else None
        return conjugate_gradient(
            streams.system_matvec,
            rhs,
            max_iters=cg.max_iters,
            tol=cg.resolved_tol(rhs.dtype),
            diagonal=diagonal,
        )
    x = torch.empty_like(rhs)
    n = rhs.shape[1]
    factors = streams.cholesky_factors  # kept by the forward solve when a backward follows, reused there
    for block, start in enumerate(range(0, n, streams.block_size)):
        rows = slice(start, min(start + streams.block_size, n))
        if block < len(factors):
            factor = factors[block]
        else:
            factor = torch.linalg.cholesky(streams.explicit_systems(rows))
            if streams.keep_factors:
                factors.append(factor)
        x[:, rows] = torch.cholesky_solve(rhs[:, rows, :, None], factor)[..., 0]
    return x, CGReport(0, 0.0)


@dataclass(frozen=True)
class LLAForward:
    """Forward result and saved state (O(length·dim); the exact path adds its O(length·dim²) Cholesky factors
    in ``streams``); flattened to (batch·heads, ...)."""

    output: torch.Tensor
    rho: torch.Tensor
    delta_hat: torch.Tensor
    streams: BlockwiseStreams
    cg_report: CGReport


def lla_blockwise_forward(streams: BlockwiseStreams, *, solver: Solver, cg: CGSettings) -> LLAForward:
    """The three forward passes (no autograd): statistics, solve ``A_i ρ_i = k̄_i − q_i``, output."""
    streams.cholesky_factors.clear()  # factors of earlier inputs never serve these
    streams.compute_statistics(need_squares=solver == "cg" and cg.jacobi)
    rhs = streams.key_mean - streams.q
    rho, report = _solve(streams, rhs, solver, cg)
    delta_hat = 1 - (rho * rhs).sum(-1)
    return LLAForward(streams.output(rho, delta_hat), rho, delta_hat, streams, report)


def lla_blockwise_backward(
    saved: LLAForward, grad_out: torch.Tensor, *, solver: Solver, cg: CGSettings, detach_ridge_omega: bool
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """Exact gradient of the ρ/δ form w.r.t. (q, k, v, λ) given ``∂L/∂o`` (flattened tensors).

    Per query i with g_ij = dO_iᵀv_j, r_ij = ρ_iᵀz_ij, β̂_i = dO_iᵀo_i/δ̂_i,
    ``T̂_i = Σ_j p_ij g_ij z_ij / δ̂_i`` and the adjoint solve ``A_i Û_i = T̂_i``, u_ij = Û_iᵀz_ij:

        w_ij ∂L/∂w_ij = p_ij [ g_ij(1−r_ij)/δ̂_i − β̂_i(1−r_ij)² − u_ij(1−r_ij) + λ(Û_iᵀρ_i − β̂_i‖ρ_i‖²) ]
        ∂L/∂z_ij      = p_ij [ (2β̂_i(1−r_ij) − g_ij/δ̂_i + u_ij) ρ_i − (1−r_ij) Û_i ]  =: p_ij c_ij ρ_i − ...
        ∂L/∂v_j       = Σ_i s_ij dO_i,   s_ij = p_ij(1−r_ij)/δ̂_i

    and the chain rule through ``log w_ij = scale q_iᵀk_j − m_i`` (m_i carries no gradient: the output is
    invariant to it) and ``z_ij = k_j − q_i``. The last bracket term is the ridge-ω term; it is omitted when
    ``detach_ridge_omega``. Σ_j ∂L/∂z_ij collapses to ``(Σ_j p_ij c_ij) ρ_i − δ̂_i Û_i``
    because Σ_j p_ij(1−r_ij) = δ̂_i.

    Ridge (derived): with ``A_i = C_i + λI``, ``∂ρ_i/∂λ = −A_i⁻¹ρ_i`` and ``∂δ̂_i/∂λ = ‖ρ_i‖²``, so
    ``∂L/∂λ = Σ_i dO_iᵀ(Σ_j p_ij (z_ijᵀA_i⁻¹ρ_i) v_j − o_i‖ρ_i‖²)/δ̂_i = Σ_i (Û_iᵀρ_i − β̂_i‖ρ_i‖²)``
    (T̂_iᵀA_i⁻¹ρ_i = Û_iᵀρ_i as A_i is symmetric): the ridge-ω bracket divided by λ, summed over queries.
    It does not depend on ``detach_ridge_omega`` (that only concerns the ω in λω).
    """
    streams, rho, delta_hat = saved.streams, saved.rho, saved.delta_hat
    beta = (grad_out * saved.output).sum(-1) / delta_hat
    adjoint, _ = _solve(streams, streams.gradient_target(grad_out, delta_hat), solver, cg)
    ridge_sensitivity = (adjoint * rho).sum(-1) - beta * (rho * rho).sum(-1)
    ridge_term = torch.zeros_like(ridge_sensitivity) if detach_ridge_omega else streams.ridge * ridge_sensitivity
    return (*streams.gradient(grad_out, rho, adjoint, delta_hat, beta, ridge_term), ridge_sensitivity.sum())


class _LLAFunction(torch.autograd.Function):
    """Autograd wrapper: saves O(length·dim) state (o, ρ, δ̂, m, ω, k̄; plus the Cholesky factors on the exact
    path) and recomputes weights."""

    @staticmethod
    def forward(
        ctx: torch.autograd.function.FunctionCtx,
        q: torch.Tensor,
        k: torch.Tensor,
        v: torch.Tensor,
        scale: float,
        ridge: float | torch.Tensor,
        causal: bool,
        block_size: int,
        solver: Solver,
        cg: CGSettings,
        detach_ridge_omega: bool,
        streams_type: type[BlockwiseStreams],
    ) -> torch.Tensor:
        shape = q.shape
        flat = [t.reshape(-1, *t.shape[-2:]).contiguous() for t in (q, k, v)]
        streams = streams_type(
            *flat,
            scale=scale,
            ridge=float(ridge),
            causal=causal,
            block_size=block_size,
            keep_factors=any(ctx.needs_input_grad),
        )
        saved = lla_blockwise_forward(streams, solver=solver, cg=cg)
        ctx.saved = saved
        ctx.options = (solver, cg, detach_ridge_omega)
        ctx.shapes = (shape, k.shape, v.shape)
        ctx.ridge_like = ridge.detach() if isinstance(ridge, torch.Tensor) else None
        return saved.output.reshape(*shape[:-1], v.shape[-1])

    @staticmethod
    def backward(ctx: torch.autograd.function.FunctionCtx, grad_out: torch.Tensor) -> tuple:
        solver, cg, detach_ridge_omega = ctx.options
        grads = lla_blockwise_backward(
            ctx.saved,
            grad_out.reshape(-1, *grad_out.shape[-2:]).contiguous(),
            solver=solver,
            cg=cg,
            detach_ridge_omega=detach_ridge_omega,
        )
        shaped = [grad.reshape(shape) for grad, shape in zip(grads[:3], ctx.shapes, strict=True)]
        ridge = ctx.ridge_like
        grad_ridge = None if ridge is None else grads[3].to(ridge.dtype).reshape(ridge.shape)
        return (*shaped, None, grad_ridge, None, None, None, None, None, None)


def lla_blockwise(
    q: torch.Tensor,
    k: torch.Tensor,
    v: torch.Tensor,
    *,
    causal: bool = True,
    scale: float | None = None,
    ridge: float | torch.Tensor = DEFAULT_RIDGE,
    block_size: int = 64,
    solver: Solver = "cg",
    cg_iters: int = 32,
    cg_tol: float | None = None,
    jacobi: bool = False,
    detach_ridge_omega: bool = False,
    streams_type: type[BlockwiseStreams] = BlockwiseStreams,
) -> torch.Tensor:
    """FlashLLA in PyTorch: LLA output (B, H, N, Dv) with O(N·(D + block_size)) memory per head (CG).

    ``solver="cg"``: matrix-free CG (``cg_iters`` max iterations, relative tolerance ``cg_tol``, optional
    Jacobi preconditioner). ``solver="cholesky"``: exact per-query-block Cholesky, factors kept for the
    backward (memory O(N·D²)).
    Half-precision inputs are computed in float32 and cast back. ``detach_ridge_omega=True`` gives the
    released FlashLLA gradient (ridge's ω treated as a constant) instead of the exact one.
    ``streams_type`` selects the implementation of the key sweeps (`TritonStreams` for the Triton kernels).
    ``ridge`` may be a one-element tensor: λ then receives its exact gradient (`lla_blockwise_backward`).
    """
    validate_inputs(q, k, v, causal=causal, ridge=ridge)
    if solver not in SOLVERS:
        raise ValueError(f"solver must be one of {SOLVERS}, got {solver!r}")
    if block_size < 1:
        raise ValueError(f"block_size must be >= 1, got {block_size}")
    cg = CGSettings(max_iters=cg_iters, tol=cg_tol, jacobi=jacobi)
    compute_dtype = q.dtype if q.dtype in (torch.float32, torch.float64) else torch.float32
    out = _LLAFunction.apply(
        q.to(compute_dtype),
        k.to(compute_dtype),
        v.to(compute_dtype),
        resolve_scale(scale, q.shape[-1]),
        ridge,
        causal,
        block_size,
        solver,
        cg,
        detach_ridge_omega,
        streams_type,
    )
    return out.to(q.dtype)
