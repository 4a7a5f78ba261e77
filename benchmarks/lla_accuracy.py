"""FlashLLA accuracy study (issue 3, item 2): error vs CG iterations and λ; conditioning vs query offset.

Outputs under results/kernels/:
- ``lla_cg_error.csv`` / ``.png``: max |o_CG − o_ref| / max |o_ref| of the blockwise CG path (fixed T
  iterations, no early stop) against the fp64 closed form, over T and λ (λω ridge convention), in fp64
  (pure CG truncation error) and fp32, with and without the Jacobi preconditioner.
- ``lla_conditioning.csv`` / ``.png``: for one query moved away from the keys, the condition numbers of the
  uncentred system ``Σ_i/ω_i = C_kk + μ̄μ̄ᵀ + λI`` (what FlashLLA solves) and of the centred ``C_kk + λI``
  (notes §1.4, §3.5), the CG iterations each needs to reach relative residual 1e-8 (fp64), and the relative
  solution error of fp32 CG (at most 2d iterations, tolerance 1e-7) against the fp64 direct solve.

Run: ``OMP_NUM_THREADS=2 .venv/bin/python benchmarks/lla_accuracy.py`` (a few minutes on 2 shared cores).
"""

from __future__ import annotations

import itertools
from pathlib import Path

import pandas as pd
import torch

from attnbench.kernels.lla.blockwise import lla_blockwise
from attnbench.kernels.lla.cg import conjugate_gradient
from attnbench.kernels.lla.reference import lla_reference
from attnbench.sweeps.plotting import legend_outside, panels, save

OUT_DIR = Path(__file__).resolve().parents[1] / "results" / "kernels"
ITERATIONS = (2, 4, 8, 16, 32, 64)
RIDGES = (0.01, 0.1, 1.0, 10.0)


def cg_error_table(length: int = 128, dim: int = 32, seed: int = 0) -> pd.DataFrame:
    """Relative output error of fixed-iteration CG against the fp64 reference, per (T, λ, dtype, Jacobi)."""
    generator = torch.Generator().manual_seed(seed)
    q, k, v = (torch.randn(1, 2, length, dim, generator=generator, dtype=torch.float64) for _ in range(3))
    rows = []
    for ridge in RIDGES:
        reference = lla_reference(q, k, v, ridge=ridge)
        scale = float(reference.abs().max())
        for iters, dtype, jacobi in itertools.product(ITERATIONS, (torch.float64, torch.float32), (False, True)):
            out = lla_blockwise(
                *(t.to(dtype) for t in (q, k, v)), ridge=ridge, cg_iters=iters, cg_tol=0.0, jacobi=jacobi
            )
            error = float((out.double() - reference).abs().max()) / scale
            rows.append(
                {
                    "ridge": ridge,
                    "cg_iters": iters,
                    "dtype": str(dtype).removeprefix("torch."),
                    "jacobi": jacobi,
                    "relative_error": error,
                }
            )
    return pd.DataFrame(rows)


def conditioning_table(n_keys: int = 512, dim: int = 64, ridge: float = 0.1, seed: int = 0) -> pd.DataFrame:
    """κ of the uncentred and centred systems as the query moves along a random direction."""
    generator = torch.Generator().manual_seed(seed)
    keys = torch.randn(n_keys, dim, generator=generator, dtype=torch.float64)
    direction = torch.randn(dim, generator=generator, dtype=torch.float64)
    direction /= direction.norm()
    rows = []
    for distance in (0.0, 1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 64.0):
        query = distance * direction
        p = torch.softmax(keys @ query / dim**0.5, dim=0)
        key_mean = p @ keys
        centred = keys - key_mean
        c_kk = centred.T @ (p[:, None] * centred) + ridge * torch.eye(dim, dtype=torch.float64)
        offset = key_mean - query
        uncentred = c_kk + torch.outer(offset, offset)
        for system, matrix, rhs in (("uncentred", uncentred, offset), ("centred", c_kk, -offset)):
            _, report = conjugate_gradient(lambda x, m=matrix: x @ m, rhs[None], max_iters=500, tol=1e-8)
            exact = torch.linalg.solve(matrix, rhs)
            matrix32 = matrix.float()
            solution32, _ = conjugate_gradient(
                lambda x, m=matrix32: x @ m, rhs.float()[None], max_iters=2 * dim, tol=1e-7
            )
            rows.append(
                {
                    "query_offset": float(offset.norm()),
                    "query_distance": distance,
                    "system": system,
                    "condition_number": float(torch.linalg.cond(matrix)),
                    "cg_iters_to_1e-8": report.iterations,
                    "fp32_cg_relative_error": float((solution32[0].double() - exact).norm() / exact.norm()),
                }
            )
    return pd.DataFrame(rows)


def draw_cg_error(table: pd.DataFrame, path: Path) -> None:
    """Relative CG error against T, one panel per dtype, one line per (λ, Jacobi)."""
    fig, axes = panels(1, 2, sharey=True)
    for ax, dtype in zip(axes[0], ("float64", "float32"), strict=True):
        for (ridge, jacobi), group in table[table.dtype == dtype].groupby(["ridge", "jacobi"]):
            ax.loglog(
                group.cg_iters,
                group.relative_error.clip(lower=1e-17),
                marker="o",
                color=f"C{RIDGES.index(ridge)}",
                linestyle="--" if jacobi else "-",
                label=rf"$\lambda$={ridge}{', Jacobi' if jacobi else ''}",
            )
        ax.set_xticks(ITERATIONS, labels=[str(t) for t in ITERATIONS], minor=False)
        ax.set_xticks([], minor=True)
        ax.set(
            title=f"blockwise CG, {dtype}",
            xlabel=r"CG iterations $T$",
            ylabel=r"$\max|o-o_\mathrm{ref}|\,/\,\max|o_\mathrm{ref}|$",
        )
    legend_outside(axes[0, 1])
    save(fig, path.parent, path.name)


def draw_conditioning(table: pd.DataFrame, path: Path) -> None:
    """Condition number, CG iterations and fp32 CG error against the query's distance from the keys' mean."""
    fig, axes = panels(1, 3)
    for system, group in table.groupby("system"):
        axes[0, 0].semilogy(group.query_offset, group.condition_number, marker="o", label=system)
        axes[0, 1].plot(group.query_offset, group["cg_iters_to_1e-8"], marker="o", label=system)
        axes[0, 2].semilogy(group.query_offset, group.fp32_cg_relative_error, marker="o", label=system)
    offset = r"$\|q-\bar{k}\|$"
    axes[0, 0].set(
        xlabel=offset, ylabel=r"condition number $\kappa$", title=r"$d\times d$ system ($d$=64, $\lambda$=0.1)"
    )
    axes[0, 1].set(xlabel=offset, ylabel=r"CG iterations to $10^{-8}$ (fp64)", title="CG iterations")
    axes[0, 2].set(
        xlabel=offset,
        ylabel=r"$\|x_\mathrm{fp32}-x\|\,/\,\|x\|$",
        title=r"fp32 CG ($\leq 2d$ iterations, tol $10^{-7}$)",
    )
    legend_outside(axes[0, 2])
    save(fig, path.parent, path.name)


def main() -> None:
    OUT_DIR.mkdir(parents=True, exist_ok=True)
    errors = cg_error_table()
    errors.to_csv(OUT_DIR / "lla_cg_error.csv", index=False)
    draw_cg_error(errors, OUT_DIR / "lla_cg_error.png")
    pivot = errors[~errors.jacobi].pivot_table(index="cg_iters", columns=["dtype", "ridge"], values="relative_error")
    print(pivot.to_string(float_format=lambda x: f"{x:.1e}"))
    conditioning = conditioning_table()
    conditioning.to_csv(OUT_DIR / "lla_conditioning.csv", index=False)
    draw_conditioning(conditioning, OUT_DIR / "lla_conditioning.png")
    print(conditioning.to_string(float_format=lambda x: f"{x:.3g}"))


if __name__ == "__main__":
    main()
