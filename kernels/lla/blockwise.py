"""FlashLLA in PyTorch: blockwise Local Linear Attention with O(length·dim) memory (notes §3, paper §3).

Nothing of size length×length or length×dim×dim is ever materialised: keys are streamed in blocks of
``block_size`` and all queries at or after a block (causal) are processed against it at once, so the largest
temporary is (batch·heads, length, block_size). Everything is expressed with the normalised weights
``p_ij = w_ij/ω_i`` and the normalised system ``A_i = Σ_i/ω_i = Σ_j p_ij z_ij z_ijᵀ + λI`` (same solution ρ_i
as ``Σ_i ρ = μ_i``, right-hand side ``μ_i/ω_i = k̄_i − q_i``), so CG tolerances are scale free.

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

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Literal

import torch

from attnbench.kernels.lla.common import DEFAULT_RIDGE, causal_logit_mask, resolve_scale, validate_inputs

Solver = Literal["cg", "cholesky"]
SOLVERS: tuple[Solver, ...] = ("cg", "cholesky")


@dataclass(frozen=True)
class CGSettings:
    """Conjugate-gradient knobs: at most ``max_iters`` iterations, a row stops once its residual satisfies
    ``‖r‖ ≤ tol ‖b‖``; ``jacobi`` turns on the diagonal preconditioner (notes §3.2)."""

    max_iters: int = 32
    tol: float | None = None  # None: 1e-12 for float64, 1e-6 otherwise
    jacobi: bool = False

    def __post_init__(self) -> None:
        if self.max_iters < 1:
            raise ValueError(f"cg max_iters must be >= 1, got {self.max_iters}")
        if self.tol is not None and not self.tol >= 0:
            raise ValueError(f"cg tol must be >= 0, got {self.tol}")

    def resolved_tol(self, dtype: torch.dtype) -> float:
        if self.tol is not None:
            return self.tol
        return 1e-12 if dtype == torch.float64 else 1e-6


@dataclass(frozen=True)
class CGReport:
    """What a batched CG solve did: iterations run and the worst final relative residual over rows."""

    iterations: int
    max_relative_residual: float


def conjugate_gradient(
    matvec: Callable[[torch.Tensor], torch.Tensor],
    rhs: torch.Tensor,
    *,
    max_iters: int,
    tol: float,
    diagonal: torch.Tensor | None = None,
) -> tuple[torch.Tensor, CGReport]:
    """Solve ``A x = rhs`` row-wise for symmetric positive-definite ``A`` (Hestenes–Stiefel CG, x₀ = 0).

    ``rhs`` is (..., d): every leading index is an independent system and ``matvec`` applies all of them at
    once. A row is frozen once ``‖r‖ ≤ tol ‖rhs‖`` or on breakdown (curvature ``pᵀAp`` not positive and
    finite, e.g. an exactly zero residual when ``tol = 0``); the loop stops early when every row is frozen.
    ``diagonal`` (same shape as rhs) turns on Jacobi preconditioning ``M = diag(A)``.
    """
    x = torch.zeros_like(rhs)
    residual = rhs.clone()
    rhs_norm_sq = (rhs * rhs).sum(-1)
    threshold = tol * tol * rhs_norm_sq
    precondition = (lambda r: r / diagonal) if diagonal is not None else (lambda r: r)
    z = precondition(residual)
    direction = z.clone()
    rz = (residual * z).sum(-1)
    active = (residual * residual).sum(-1) > threshold
    iterations = 0
    while iterations < max_iters and bool(active.any()):
        iterations += 1
        a_direction = matvec(direction)
        curvature = (direction * a_direction).sum(-1)
        active = active & (curvature > 0) & torch.isfinite(curvature)  # breakdown: freeze the row
        step = torch.where(active, rz / torch.where(active, curvature, 1.0), 0.0)
        x = x + step[..., None] * direction
        residual = residual - step[..., None] * a_direction
        active = active & ((residual * residual).sum(-1) > threshold)
        z = precondition(residual)
        rz_new = (residual * z).sum(-1)
        momentum = torch.where(active, rz_new / torch.where(active, rz, 1.0), 0.0)
        direction = torch.where(active[..., None], z + momentum[..., None] * direction, direction)
        rz = torch.where(active, rz_new, rz)
    relative = ((residual * residual).sum(-1) / rhs_norm_sq.clamp_min(torch.finfo(rhs.dtype).tiny)).sqrt()
    return x, CGReport(iterations, float(relative.max()) if relative.numel() else 0.0)


@dataclass
class BlockwiseStreams:
    """The key-streaming primitives of FlashLLA on flattened (G = batch·heads, N, D) tensors, in PyTorch.

    Every method sweeps the key blocks once; `TritonStreams` (``triton_lla.py``) overrides the same methods
    with fused kernels, so the solver and the autograd logic below are shared by both backends.
    """

    q: torch.Tensor  # (G, N, D)
    k: torch.Tensor  # (G, N, D)
    v: torch.Tensor  # (G, N, Dv)
    scale: float
    ridge: float
    causal: bool
    block_size: int
    row_max: torch.Tensor | None = None  # m_i (G, N)
    omega: torch.Tensor | None = None  # ω_i relative to exp(m_i) (G, N)
    key_mean: torch.Tensor | None = None  # k̄_i (G, N, D)
    key_sq_mean: torch.Tensor | None = None  # Σ_j p_ij k_j⊙k_j (G, N, D), for Jacobi only
    keep_factors: bool = False  # exact solver: keep the forward's Cholesky factors for the backward
    cholesky_factors: list[torch.Tensor] = field(default_factory=list)  # per query block

    def blocks(self) -> Iterator[tuple[slice, slice]]:
        """(query rows, key block) pairs; causal: only queries at or after the block's first key."""
        n = self.k.shape[1]
        for start in range(0, n, self.block_size):
            stop = min(start + self.block_size, n)
            yield slice(start if self.causal else 0, self.q.shape[1]), slice(start, stop)

    def logits(self, rows: slice, keys: slice) -> torch.Tensor:
        logits = self.scale * self.q[:, rows] @ self.k[:, keys].transpose(-1, -2)
        if not self.causal:
            return logits
        mask = causal_logit_mask(logits.shape[-2], keys.start, keys.stop, rows.start, logits.device)
        return logits.masked_fill(mask, float("-inf"))

    def probabilities(self, rows: slice, keys: slice) -> torch.Tensor:
        """Normalised weights ``p_ij`` for the given query rows and key block, zero where masked."""
        return torch.exp(self.logits(rows, keys) - self.row_max[:, rows, None]) / self.omega[:, rows, None]

    def project(self, x: torch.Tensor, rows: slice, keys: slice) -> torch.Tensor:
        """``x_iᵀ z_ij = x_iᵀ k_j − x_iᵀ q_i`` for a key block (the paper's relmm)."""
        x_rows = x[:, rows]
        return x_rows @ self.k[:, keys].transpose(-1, -2) - (x_rows * self.q[:, rows]).sum(-1, keepdim=True)

    def compute_statistics(self, need_squares: bool) -> None:
        """Pass 1: m_i, ω_i, k̄_i (and the k⊙k mean) in one sweep with running-max rescaling."""
        g, n, d = self.q.shape
        row_max = self.q.new_full((g, n), float("-inf"))
        omega = self.q.new_zeros(g, n)
        key_sum = self.q.new_zeros(g, n, d)
        key_sq_sum = self.q.new_zeros(g, n, d) if need_squares else None
        for rows, keys in self.blocks():
            logits = self.logits(rows, keys)
            new_max = torch.maximum(row_max[:, rows], logits.amax(-1))
            rescale = torch.exp(row_max[:, rows] - new_max)
            w = torch.exp(logits - new_max[..., None])
            row_max[:, rows] = new_max
            omega[:, rows] = rescale * omega[:, rows] + w.sum(-1)
            key_sum[:, rows] = rescale[..., None] * key_sum[:, rows] + w @ self.k[:, keys]
            if key_sq_sum is not None:
                key_sq_sum[:, rows] = rescale[..., None] * key_sq_sum[:, rows] + w @ (self.k[:, keys] ** 2)
        self.row_max, self.omega, self.key_mean = row_max, omega, key_sum / omega[..., None]
        self.key_sq_mean = None if key_sq_sum is None else key_sq_sum / omega[..., None]

    def system_matvec(self, x: torch.Tensor) -> torch.Tensor:
        """``A_i x_i = Σ_j p_ij (z_ijᵀx_i) z_ij + λ x_i`` for every query, streamed over key blocks."""
        out = self.ridge * x
        for rows, keys in self.blocks():
            coeff = self.probabilities(rows, keys) * self.project(x, rows, keys)
            out[:, rows] += coeff @ self.k[:, keys] - coeff.sum(-1, keepdim=True) * self.q[:, rows]
        return out

    def output(self, rho: torch.Tensor, delta_hat: torch.Tensor) -> torch.Tensor:
        """Pass 3: ``o_i = Σ_j p_ij (1 − ρ_iᵀz_ij) v_j / δ̂_i``."""
        out = self.q.new_zeros(*self.q.shape[:2], self.v.shape[-1])
        for rows, keys in self.blocks():
            s = self.probabilities(rows, keys) * (1 - self.project(rho, rows, keys))
            out[:, rows] += s @ self.v[:, keys]
        return out / delta_hat[..., None]

    def gradient_target(self, grad_out: torch.Tensor, delta_hat: torch.Tensor) -> torch.Tensor:
        """``T̂_i = Σ_j p_ij g_ij z_ij / δ̂_i``, ``g_ij = dO_iᵀ v_j``: right-hand side of the adjoint solve."""
        weighted_keys = torch.zeros_like(self.q)
        weighted_mass = self.q.new_zeros(self.q.shape[:2])
        for rows, keys in self.blocks():
            pg = self.probabilities(rows, keys) * (grad_out[:, rows] @ self.v[:, keys].transpose(-1, -2))
            weighted_keys[:, rows] += pg @ self.k[:, keys]
            weighted_mass[:, rows] += pg.sum(-1)
        return (weighted_keys - weighted_mass[..., None] * self.q) / delta_hat[..., None]

    def gradient(
        self,
        grad_out: torch.Tensor,
        rho: torch.Tensor,
        adjoint: torch.Tensor,
        delta_hat: torch.Tensor,
        beta: torch.Tensor,
        ridge_term: torch.Tensor,
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """The final sweep of the backward (formulas in `lla_blockwise_backward`)."""
        q, k, v, scale = self.q, self.k, self.v, self.scale
        grad_q, grad_k, grad_v = torch.zeros_like(q), torch.zeros_like(k), torch.zeros_like(v)
        z_coeff_sum = q.new_zeros(q.shape[:2])
        for rows, keys in self.blocks():
            p = self.probabilities(rows, keys)
            one_minus_r = 1 - self.project(rho, rows, keys)
            u = self.project(adjoint, rows, keys)
            g_over_delta = (grad_out[:, rows] @ v[:, keys].transpose(-1, -2)) / delta_hat[:, rows, None]
            b = beta[:, rows, None]
            logit_grad = p * (one_minus_r * (g_over_delta - b * one_minus_r - u) + ridge_term[:, rows, None])
            z_coeff = p * (2 * b * one_minus_r - g_over_delta + u)
            p_one_minus_r = p * one_minus_r
            grad_q[:, rows] += scale * logit_grad @ k[:, keys]
            z_coeff_sum[:, rows] += z_coeff.sum(-1)
            grad_k[:, keys] += (
                scale * logit_grad.transpose(-1, -2) @ q[:, rows]
                + z_coeff.transpose(-1, -2) @ rho[:, rows]
                - p_one_minus_r.transpose(-1, -2) @ adjoint[:, rows]
            )
            grad_v[:, keys] += (p_one_minus_r / delta_hat[:, rows, None]).transpose(-1, -2) @ grad_out[
                :, rows
            ]
        grad_q += delta_hat[..., None] * adjoint - z_coeff_sum[..., None] * rho
        return grad_q, grad_k, grad_v

    def jacobi_diagonal(self) -> torch.Tensor:
        """``diag(A_i) = Σ_j p_ij k_j⊙k_j − 2 k̄_i⊙q_i + q_i⊙q_i + λ``."""
        if self.key_sq_mean is None:
            raise RuntimeError("the Jacobi diagonal needs the k⊙k statistic from the forward pass")
        return self.key_sq_mean - 2 * self.key_mean * self.q + self.q * self.q + self.ridge

    def explicit_systems(self, query_rows: slice) -> torch.Tensor:
        """The explicit ``A_i`` (G, block, d, d) for one query block; memory O(block·d²).

        ``A_i = Σ_j p_ij k_j k_jᵀ − k̄_i q_iᵀ − q_i k̄_iᵀ + q_i q_iᵀ + λI``, built in place as the Gram sum plus
        the rank-2 correction ``u_i u_iᵀ − k̄_i k̄_iᵀ`` (``u_i = q_i − k̄_i``), one batched product.
        """
        q_rows = self.q[:, query_rows]
        g, rows, d = q_rows.shape
        gram = q_rows.new_zeros(g, rows, d * d)
        last_key = query_rows.stop if self.causal else self.k.shape[1]
        for start in range(0, last_key, self.block_size):
            keys = slice(start, min(start + self.block_size, last_key))
            k_block = self.k[:, keys]
            outer = (k_block[..., :, None] * k_block[..., None, :]).flatten(-2)  # (G, BC, d²)
            gram.baddbmm_(self.probabilities(query_rows, keys), outer)
        kbar = self.key_mean[:, query_rows]
        offset = q_rows - kbar
        systems = gram.view(g * rows, d, d)
        systems.baddbmm_(torch.stack((offset, -kbar), -1).view(g * rows, d, 2),
                         torch.stack((offset, kbar), -2).view(g * rows, 2, d))
        systems.diagonal(dim1=-2, dim2=-1).add_(self.ridge)
        return gram.view(g, rows, d, d)


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
        streams = streams_type(*flat, scale=scale, ridge=float(ridge), causal=causal, block_size=block_size,
                               keep_factors=any(ctx.needs_input_grad))
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
