"""LLA speed and memory benchmark (issue 3, item 4): naive vs blockwise FlashLLA vs SDPA softmax.

For each method and sequence length: forward time, forward+backward time (median and IQR from
`benchmarks.timing.measure`: `torch.utils.benchmark` on the CPU, `triton.testing.do_bench` on a GPU), peak
extra memory of one forward+backward, and achieved FLOP/s. Each (method,
length) runs in a fresh subprocess. CPU memory: the peak resident set (VmHWM, reset just before) of one
forward+backward minus the resident size before it (glibc is told to mmap every allocation above 64 KiB,
``MALLOC_MMAP_THRESHOLD_=65536``, so freed tensors leave the RSS). The high-water mark replaced a thread that
sampled /proc/self/statm every 0.5 ms: it is exact and cannot miss a short peak.
CUDA: ``torch.cuda.max_memory_allocated``.

Methods: ``naive`` (materialised closed form `lla_reference` in fp32: Θ(N² + N·d²) memory), ``flash_cg``
(blockwise CG, T iterations fixed: ``cg_tol=0``), ``flash_cholesky`` (blockwise exact path), ``sdpa``
(``torch.nn.functional.scaled_dot_product_attention``, causal softmax, speed reference). On CUDA the flash
methods run the Triton kernels through the dispatcher.

FLOP counts (multiply-add = 2 FLOPs; P = N(N+1)/2 causal pairs per head, d = head dim = value dim; G = B·H;
exponentials and O(N·d) vector work ignored):
- flash_cg forward  (10 + 6T)·d·P: statistics 2 matmuls (QKᵀ, WK), each CG iteration 3 (QKᵀ, XKᵀ, CK),
  output 3 (QKᵀ, ρKᵀ, SV). Backward (24 + 6T)·d·P: target 3 (QKᵀ, dOVᵀ, (P⊙G)K), adjoint CG 3 per
  iteration, final sweep 9. Forward+backward (34 + 12T)·d·P.
- flash_cholesky forward (12d + 2d²)·P + N·d³/3: statistics 2 matmuls, Σ̃ = P(K⊗K) 2d²P plus its QKᵀ,
  Cholesky N·d³/3, output 3 matmuls. Backward 24d·P + 2N·d²: target 3 matmuls, final sweep 9, and the
  adjoint solve reuses the forward's factors (two triangular solves per query).
- naive forward (8d + 2d²)·N² + 2N·d³/3 (full N×N products: QKᵀ, WK, W(K⊗K), ρKᵀ, SV, plus LU solves);
  backward counted as 2× forward (autograd rule of thumb).
- sdpa forward 4d·P, backward 10d·P (FlashAttention-2 counts).
All counts are multiplied by G.

d = 64 run (results/kernels/bench_lla_cpu_d64.*): ``OMP_NUM_THREADS=1 .venv/bin/python benchmarks/bench_lla.py
--dim 64 --lengths 1024 2048 4096 --methods naive flash_cholesky flash_cg --out-name bench_lla_cpu_d64``
(naive stops at N = 2048: its einsum materialises N²·d floats, an estimated ≈ 12 GiB at N = 4096, d = 64).

Run: ``OMP_NUM_THREADS=1 .venv/bin/python benchmarks/bench_lla.py`` (CPU: lengths up to 4096; about
5 min on a shared 2-core machine; with OMP_NUM_THREADS=2 under contention it was 10-30x slower).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pandas as pd
import torch
from timing import measure

from attnbench.sweeps.plotting import figure_legend, panels, save

OUT_DIR = Path(__file__).resolve().parents[1] / "results" / "kernels"
METHODS = ("naive", "flash_cg", "flash_cholesky", "sdpa")


def flop_count(method: str, length: int, dim: int, groups: int, cg_iters: int) -> tuple[float, float]:
    """(forward, forward+backward) FLOPs per the formulas in the module docstring."""
    pairs = length * (length + 1) / 2
    if method == "flash_cg":
        forward, backward = (10 + 6 * cg_iters) * dim * pairs, (24 + 6 * cg_iters) * dim * pairs
    elif method == "flash_cholesky":
        forward = (12 * dim + 2 * dim**2) * pairs + length * dim**3 / 3
        backward = 24 * dim * pairs + 2 * length * dim**2
    elif method == "naive":
        forward = (8 * dim + 2 * dim**2) * length**2 + 2 * length * dim**3 / 3
        backward = 2 * forward
    else:
        forward, backward = 4 * dim * pairs, 10 * dim * pairs
    return groups * forward, groups * (forward + backward)


def _method(name: str, ridge: float, cg_iters: int, block_size: int) -> Callable[..., torch.Tensor]:
    from attnbench.kernels.lla import lla
    from attnbench.kernels.lla.reference import lla_reference

    if name == "naive":
        return lambda q, k, v: lla_reference(q, k, v, ridge=ridge, dtype=q.dtype)
    if name == "flash_cg":
        return lambda q, k, v: lla(
            q, k, v, ridge=ridge, solver="cg", cg_iters=cg_iters, cg_tol=0.0, block_size=block_size
        )
    if name == "flash_cholesky":
        return lambda q, k, v: lla(q, k, v, ridge=ridge, solver="cholesky", block_size=block_size)
    return lambda q, k, v: torch.nn.functional.scaled_dot_product_attention(q, k, v, is_causal=True)


def _status_kib(key: str) -> int:
    """A ``kB`` field of /proc/self/status (VmRSS: resident now; VmHWM: resident high-water mark)."""
    with open("/proc/self/status") as status:
        return next(int(line.split()[1]) for line in status if line.startswith(f"{key}:"))


def _peak_rss_increase_mb(function: Callable[[], None]) -> float:
    """Peak resident-set increase (MiB) while ``function`` runs: the kernel's high-water mark VmHWM, reset just
    before (writing 5 to /proc/self/clear_refs), minus the resident size at that moment. Exact, no sampling.
    NaN where the kernel refuses the reset (some containers)."""
    try:
        with open("/proc/self/clear_refs", "w") as clear_refs:
            clear_refs.write("5")
    except OSError:
        function()
        return float("nan")
    base = _status_kib("VmRSS")
    function()
    return (_status_kib("VmHWM") - base) / 1024


def run_worker(args: argparse.Namespace) -> dict:
    """One (method, length) measurement in this process; returns the result row."""
    device = torch.device(args.device)
    generator = torch.Generator().manual_seed(0)
    q, k, v = (
        torch.randn(args.batch, args.heads, args.length, args.dim, generator=generator).to(device).requires_grad_()
        for _ in range(3)
    )
    function = _method(args.method, args.ridge, args.cg_iters, args.block_size)
    grad_out = torch.randn(args.batch, args.heads, args.length, args.dim, generator=generator).to(device)

    def forward_backward() -> None:
        torch.autograd.grad((function(q, k, v) * grad_out).sum(), (q, k, v))

    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats()
        base = torch.cuda.memory_allocated()
        forward_backward()
        peak_mb = (torch.cuda.max_memory_allocated() - base) / 2**20
    else:
        forward_backward()  # warm-up: one-off allocations (thread pools, caches) are not the method's
        peak_mb = _peak_rss_increase_mb(forward_backward)
    with torch.no_grad():
        forward = measure(lambda: function(q, k, v), device, args.max_run_time)
    forward_backward_timing = measure(forward_backward, device, args.max_run_time)
    forward_s, forward_backward_s = forward.median_s, forward_backward_timing.median_s
    flops = flop_count(args.method, args.length, args.dim, args.batch * args.heads, args.cg_iters)
    return {
        "method": args.method,
        "length": args.length,
        "dim": args.dim,
        "batch": args.batch,
        "heads": args.heads,
        "cg_iters": args.cg_iters if args.method == "flash_cg" else None,
        "device": str(device),
        **forward.columns("forward"),
        **forward_backward_timing.columns("forward_backward"),
        "load_average": forward_backward_timing.load_average,
        "peak_extra_mb": peak_mb,
        "forward_flops": flops[0],
        "forward_backward_flops": flops[1],
        "forward_gflops_per_s": flops[0] / forward_s / 1e9,
        "forward_backward_gflops_per_s": flops[1] / forward_backward_s / 1e9,
    }


def _draw(table: pd.DataFrame, path: Path) -> None:
    """Four panels against N (log-log): the two timings with their IQR as error bars, peak memory, GFLOP/s."""
    columns = [
        ("forward_s", "forward time (s)"),
        ("forward_backward_s", "forward+backward time (s)"),
        ("peak_extra_mb", "peak extra memory (MiB)"),
        ("forward_backward_gflops_per_s", "GFLOP/s (fwd+bwd)"),
    ]
    fig, axes = panels(1, 4)
    lengths = sorted(table.length.unique())
    for ax, (column, label) in zip(axes[0], columns, strict=True):
        for method, group in table.groupby("method"):
            spread = group.get(column.replace("_s", "_iqr_s")) if column.endswith("_s") else None
            ax.errorbar(
                group.length,
                group[column],
                yerr=None if spread is None else spread / 2,
                marker="o",
                capsize=2,
                label=method,
            )
        ax.set(xscale="log", yscale="log", xlabel=r"sequence length $N$", ylabel=label)
        ax.set_xticks(lengths, labels=[str(n) for n in lengths])
        ax.set_xticks([], minor=True)
    figure_legend(fig, axes)
    fig.suptitle(
        f"LLA vs SDPA on {table.device.iloc[0]} ($d$={table.dim.iloc[0]}, "
        f"$B\\cdot H$={table.batch.iloc[0] * table.heads.iloc[0]}; bars: ± IQR/2)"
    )
    save(fig, path.parent, path.name)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lengths", type=int, nargs="+", default=[256, 512, 1024, 2048, 4096])
    parser.add_argument("--methods", nargs="+", default=list(METHODS), choices=METHODS)
    parser.add_argument("--naive-max-length", type=int, default=2048, help="skip naive above this length")
    parser.add_argument("--dim", type=int, default=32)
    parser.add_argument("--batch", type=int, default=1)
    parser.add_argument("--heads", type=int, default=1)
    parser.add_argument("--ridge", type=float, default=0.1)
    parser.add_argument("--cg-iters", type=int, default=8)
    parser.add_argument("--block-size", type=int, default=128)
    parser.add_argument("--max-run-time", type=float, default=10.0, help="seconds per timing (after warm-up)")
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--out-name", help="file stem under results/kernels (default bench_lla_<device>)")
    parser.add_argument("--worker", action="store_true", help="internal: measure one (method, length)")
    parser.add_argument("--method", choices=METHODS)
    parser.add_argument("--length", type=int)
    args = parser.parse_args()
    if args.worker:
        print(json.dumps(run_worker(args)))
        return

    rows = []
    shared = [
        "--dim",
        str(args.dim),
        "--batch",
        str(args.batch),
        "--heads",
        str(args.heads),
        "--ridge",
        str(args.ridge),
        "--cg-iters",
        str(args.cg_iters),
        "--block-size",
        str(args.block_size),
        "--device",
        args.device,
    ]
    env = {**os.environ, "MALLOC_MMAP_THRESHOLD_": "65536"}
    for length in args.lengths:
        for method in args.methods:
            if method == "naive" and length > args.naive_max_length:
                continue
            command = [
                sys.executable,
                __file__,
                "--worker",
                "--method",
                method,
                "--length",
                str(length),
                "--max-run-time",
                str(args.max_run_time),
                *shared,
            ]
            completed = subprocess.run(command, capture_output=True, text=True, check=False, env=env)
            if completed.returncode != 0:
                print(f"{method} N={length} failed: {completed.stderr[-500:]}", file=sys.stderr)
                continue
            rows.append(json.loads(completed.stdout.strip().splitlines()[-1]))
            row = rows[-1]
            print(
                f"{method:15s} N={length:5d} fwd {row['forward_s']:.3f}s fwd+bwd {row['forward_backward_s']:.3f}s "
                f"peak {row['peak_extra_mb']:.1f} MiB {row['forward_backward_gflops_per_s']:.2f} GFLOP/s",
                flush=True,
            )
        stem = args.out_name or f"bench_lla_{args.device.split(':')[0]}"
        _save(pd.DataFrame(rows), stem)  # after every length, so an interrupted run keeps its rows


def _save(table: pd.DataFrame, stem: str) -> None:
    OUT_DIR.mkdir(parents=True, exist_ok=True)
    table.to_csv(OUT_DIR / f"{stem}.csv", index=False)
    _draw(table, OUT_DIR / f"{stem}.png")
    print(f"wrote {OUT_DIR / stem}.csv and .png", flush=True)


if __name__ == "__main__":
    main()
