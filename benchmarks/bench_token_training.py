"""Token-task training: the former seed loop against batched (seed, lr) members, and the exact LLA paths (issue 16 §1).

Training, per mixer of the token tasks at the MQAR quick sizes (batch 32, length 48, vocabulary 64, K = 12,
width 32, depth 2, one head, no MLP, a short convolution of kernel 3, a position embedding: the defaults of
sweeps/experiments/mqar/study.py): E = 9 members (3 seeds × 3 lrs) trained for ``--steps`` steps end to end
(models built, data sampled), two or three ways:
- loop: the path before batched members, once per lr on its 3 seed modules (summed loss, one AdamW);
- batched: `attnbench.sweeps.batched_members.train_batched` on all 9 at once (vmap, or its loop fallback where
  vmap cannot run the mixer), AdamW at the same weight decay and warm-up-cosine schedule, so both paths
  compute the same trajectories: ``max_param_gap`` is the largest parameter difference from the loop (fp32);
- compiled loop (softmax and linear attention only): the loop with every member's forward through
  ``torch.compile`` (default mode), the route of fusing the elementwise work; ``compile_s`` is the wall time of
  its first one-step run from an empty compile cache, the cost paid once per cell shape.
Each at 1 and 2 torch threads, timed by `benchmarks.timing.measure`; per-member steps/s = E·steps / median time
(building the 9 models and the first batch, ≈ 0.1 s, is inside each timed run and lowers both paths' rates).

Roofline: ``matmul_gflop`` is the matrix-product work of one member's training step (forward + backward,
counted by ``torch.utils.flop_counter.FlopCounterMode``: matrix products and convolutions only, no
elementwise work), so ``matmul_gflop_per_s`` = that work × per-member steps/s is the rate at which a path
does its matrix products; the ``peak`` rows time one 2048 × 2048 fp32 product at each thread count, the
machine's dense-matmul ceiling, and the backbone's own (batch·length, 32) × (32, 32) projection as one bmm over the
9 members, the ceiling at the model's shapes. A path far below the ceilings is bound by elementwise work and
per-op overhead, which batching members cannot remove.

LLA paths: forward+backward (loss = Σ o²) of each exact LLA path at the backbone's mixer shape, q, k, v of
(32, 1, 48, 32): blockwise FlashLLA with the Cholesky solve (the backbone's CPU path) and with CG (32 iterations),
and the materialised closed form `lla_reference` (a batched `torch.linalg.solve`) in fp64 and fp32; causal softmax
attention at the same shape is the yardstick. The fastest LLA path is printed.

LLA floor: the exact path's own pieces at that shape (building the explicit systems, factorising them, one
solve; `lla_floor_rows`); the factorisation and two solves, which every path that solves each query's d×d system
with torch's CPU LAPACK pays, are compared with what the goal "LLA's step time at most 4x softmax's" leaves each
of the DEPTH LLA layers (`floor_lines`).

Writes results/benchmarks/token_training.{csv,png,pdf}: one row per timing (``section`` training, lla_path,
lla_floor or peak).

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/bench_token_training.py [--steps 5 --lla-steps 2 --threads 1 2]
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from timing import Timing, measure
from torch._inductor import config as inductor_config
from torch.utils.flop_counter import FlopCounterMode

from attnbench.kernels.lla import lla
from attnbench.kernels.lla.common import resolve_scale
from attnbench.kernels.lla.reference import lla_reference
from attnbench.kernels.lla.streams import BlockwiseStreams
from attnbench.models.attention import softmax_attention
from attnbench.models.backbone import Backbone
from attnbench.sweeps.batched_members import AdamW, build_members, masked_token_loss, member_grid, train_batched
from attnbench.sweeps.plotting import legend_outside, panels, save
from attnbench.sweeps.token_training import warmup_cosine
from attnbench.sweeps.training import train_ensemble
from attnbench.tasks.base import member_configs
from attnbench.tasks.mqar import MQARConfig

OUT = Path(__file__).resolve().parents[1] / "results" / "benchmarks"
MIXERS = (
    "softmax",
    "linear",
    "linear_elu",
    "sigmoid",
    "deltanet",
    "deltanet_neg",
    "gated_linear",
    "lightning",
    "random_feature",
    "lla",
)
TASK = MQARConfig(vocab_size=64, seq_len=48, num_kv_pairs=12, batch_size=32)
WEIGHT_DECAY = 0.1
SEEDS, LRS = (0, 1, 2), (1e-3, 3e-3, 1e-2)
MEMBERS = len(SEEDS) * len(LRS)
DEPTH = 2  # backbone layers, each with one mixer
COMPILED = ("softmax", "linear")  # mixers also timed with torch.compile (the fusion route)
CPU = torch.device("cpu")


def loop(factory: Callable[[], Backbone], steps: int, compiled: bool = False) -> torch.Tensor:
    """The path before batched members: per lr, the 3 seed modules trained as a loop with one Adam on their
    summed masked losses (`attnbench.sweeps.training.train_ensemble`, ``torch.optim.AdamW``); every member's
    parameters (E, P). ``compiled``: each member's forward (and so its backward) runs through
    ``torch.compile`` (the optimiser stays eager); the compiled code is shared by every module of one mixer."""
    streams = member_configs(TASK, SEEDS)
    trained = []
    for lr in LRS:
        members = build_members(factory, SEEDS)
        params = [p for m in members for p in m.parameters()]
        optimizer = torch.optim.AdamW(params, lr=lr, weight_decay=WEIGHT_DECAY)
        forwards = [torch.compile(m) for m in members] if compiled else members
        train_ensemble(
            partial(_summed_losses, forwards, streams),
            optimizer,
            steps,
            show_progress=False,
            lr_schedule=warmup_cosine(steps),
        )
        trained += [torch.cat([p.detach().flatten() for p in m.parameters()]) for m in members]
    return torch.stack(trained)


def _summed_losses(members: list[Callable], streams: list[MQARConfig], step: int) -> torch.Tensor:
    batches = [stream.sample("train", step) for stream in streams]
    return torch.stack(
        [masked_token_loss(m(b.inputs), b.targets, b.loss_mask) for m, b in zip(members, batches, strict=True)]
    )


def batched(factory: Callable[[], Backbone], steps: int) -> tuple[torch.Tensor, bool]:
    """The same 9 trajectories as `loop`, as batched members; whether vmap ran them (else the loop fallback)."""
    run = train_batched(
        factory,
        member_grid(SEEDS, LRS),
        TASK,
        steps=steps,
        schedule=warmup_cosine(steps),
        device=CPU,
        hyper=AdamW(weight_decay=WEIGHT_DECAY),
    )
    return run.stacked.flat.detach(), run.fallback is None


def step_gflop(factory: Callable[[], Backbone]) -> float:
    """The matrix-product work (GFLOP) of one member's training step: forward and backward on one batch."""
    torch.manual_seed(0)
    model, batch = factory(), TASK.sample("train", 0)
    with FlopCounterMode(display=False) as counter:
        masked_token_loss(model(batch.inputs), batch.targets, batch.loss_mask).backward()
    return counter.get_total_flops() / 1e9


def training_rows(mixer: str, steps: int, threads: int) -> list[dict]:
    """Loop and batched timings of ``mixer`` (one row each), their matrix-product throughput, and the parameter
    gap between the two paths."""
    factory = partial(
        Backbone, TASK.vocab_size, 32, DEPTH, mixer, heads=1, mlp_ratio=0, max_len=TASK.seq_len, conv_kernel=3
    )
    last: dict[str, tuple] = {}
    runs = {"loop": lambda: (loop(factory, steps), False), "batched": lambda: batched(factory, steps)}
    compile_s = float("nan")
    if mixer in COMPILED:
        torch.compiler.reset()  # the first call compiles, from nothing: its wall time is the compile cost
        with inductor_config.patch(force_disable_caches=True):  # nor from the on-disk caches of earlier runs
            start = time.perf_counter()
            loop(factory, 1, compiled=True)
            compile_s = time.perf_counter() - start
        runs["compiled loop"] = lambda: (loop(factory, steps, compiled=True), False)
    timings = {
        path: measure(lambda p=path, r=run: last.__setitem__(p, r()), max_run_time=2) for path, run in runs.items()
    }
    gflop = step_gflop(factory)
    return [
        {
            "section": "training",
            "mixer": mixer,
            "path": path,
            "threads": threads,
            "members": MEMBERS,
            "steps": steps,
            **timing.columns("time"),
            "member_steps_per_s": MEMBERS * steps / timing.median_s,
            "matmul_gflop": gflop,
            "matmul_gflop_per_s": gflop * MEMBERS * steps / timing.median_s,
            "vmapped": last[path][1],
            "max_param_gap": float((last["loop"][0] - last[path][0]).abs().max()),
            "compile_s": compile_s if path == "compiled loop" else float("nan"),
            "load_average": timing.load_average,
        }
        for path, timing in timings.items()
    ]


def timing_row(section: str, mixer: str, path: str, threads: int, timing: Timing, **figures: float) -> dict:
    """One table row of a timed function: its section, mixer, path and thread count, the timing's columns, any
    further ``figures``, and the load average."""
    row = {"section": section, "mixer": mixer, "path": path, "threads": threads, **timing.columns("time")}
    return {**row, **figures, "load_average": timing.load_average}


def peak_rows(threads: int) -> list[dict]:
    """Matmul ceilings at ``threads``, in GFLOP/s: one dense 2048 × 2048 fp32 product (the machine's), and the
    backbone's own projection shape, E = 9 members' (batch·length, 32) × (32, 32) products as one bmm."""
    generator = torch.Generator().manual_seed(0)
    square = torch.randn(2048, 2048, generator=generator)
    tokens = TASK.batch_size * TASK.seq_len
    activations = torch.randn(MEMBERS, tokens, 32, generator=generator)
    weights = torch.randn(MEMBERS, 32, 32, generator=generator)
    products = {
        "matmul 2048x2048": (lambda: square @ square, 2 * 2048**3),
        f"bmm {MEMBERS}x({tokens}x32)(32x32)": (lambda: activations @ weights, 2 * MEMBERS * tokens * 32 * 32),
    }
    rows = []
    for path, (product, flop) in products.items():
        timing = measure(product, max_run_time=2)
        rows.append(
            timing_row(
                "peak",
                "",
                path,
                threads,
                timing,
                matmul_gflop=flop / 1e9,
                matmul_gflop_per_s=flop / 1e9 / timing.median_s,
            )
        )
    return rows


def lla_path_rows(threads: int) -> list[dict]:
    """Forward+backward time of every exact LLA path (and softmax) at the backbone's mixer shape."""
    generator = torch.Generator().manual_seed(0)
    q, k, v = (torch.randn(32, 1, 48, 32, generator=generator).requires_grad_() for _ in range(3))
    paths = {
        "softmax attention": lambda: softmax_attention(q, k, v, causal=True),
        "blockwise cholesky": lambda: lla(q, k, v, ridge=0.1, solver="cholesky"),
        "blockwise cg (32 it.)": lambda: lla(q, k, v, ridge=0.1, solver="cg", cg_iters=32),
        "closed form fp64": lambda: lla_reference(q, k, v, ridge=0.1).float(),
        "closed form fp32": lambda: lla_reference(q, k, v, ridge=0.1, dtype=torch.float32),
    }
    exact = lla_reference(q, k, v, ridge=0.1).detach()
    rows = []
    for path, forward in paths.items():
        timing = measure(lambda f=forward: f().square().sum().backward(), max_run_time=2)
        error = float((forward().detach() - exact).abs().max()) if path != "softmax attention" else np.nan
        mixer = "softmax" if path == "softmax attention" else "lla"
        rows.append(timing_row("lla_path", mixer, path, threads, timing, max_error_vs_fp64=error))
    return rows


def lla_floor_rows(threads: int) -> list[dict]:
    """The exact path's own pieces at the backbone's mixer shape: building its B·N explicit d×d systems
    (`BlockwiseStreams.explicit_systems`), factorising them (the kernel's batched LAPACK ``torch.linalg.cholesky``,
    and ``torch.linalg.cholesky_ex`` without the error check) and one ``torch.cholesky_solve`` (the forward's ρ
    and the backward's adjoint need one each). Any exact path that solves every query's d×d system with torch's
    CPU LAPACK pays at least the factorisation and two solves."""
    generator = torch.Generator().manual_seed(0)
    flat = [torch.randn(32, 48, 32, generator=generator) for _ in range(3)]
    streams = BlockwiseStreams(*flat, scale=resolve_scale(None, 32), ridge=0.1, causal=True, block_size=64)
    streams.compute_statistics(need_squares=False)
    rows_of_queries = slice(0, 48)
    systems = streams.explicit_systems(rows_of_queries)
    factor = torch.linalg.cholesky(systems)
    rhs = (streams.key_mean - streams.q)[..., None]
    pieces = {
        "build systems": lambda: streams.explicit_systems(rows_of_queries),
        "factorise (linalg.cholesky)": lambda: torch.linalg.cholesky(systems),
        "factorise (cholesky_ex, no check)": lambda: torch.linalg.cholesky_ex(systems, check_errors=False),
        "one cholesky_solve": lambda: torch.cholesky_solve(rhs, factor),
    }
    return [
        timing_row("lla_floor", "lla", piece, threads, measure(run, max_run_time=2)) for piece, run in pieces.items()
    ]


def draw(table: pd.DataFrame) -> Path:
    """(a) per-member training steps/s per mixer, loop vs batched, per thread count; (b) LLA paths' fwd+bwd."""
    fig, axes = panels(1, 2)
    fig.set_size_inches(12.0, 4.2)
    training = table[table["section"] == "training"]
    mixers = list(dict.fromkeys(training["mixer"]))
    bars = [(p, t) for t in sorted(training["threads"].unique()) for p in ("loop", "batched")]
    height = 0.8 / len(bars)
    ax = axes[0, 0]
    for i, (path, threads) in enumerate(bars):
        rates = training[(training["path"] == path) & (training["threads"] == threads)].set_index("mixer")
        positions = np.arange(len(mixers)) + (i - (len(bars) - 1) / 2) * height
        ax.barh(positions, rates.loc[mixers, "member_steps_per_s"], height=height, label=f"{path}, {threads} thr.")
    ax.set_yticks(np.arange(len(mixers)), labels=mixers)
    ax.invert_yaxis()
    ax.set_xscale("log")
    ax.set(xlabel="training steps/s per member (median run)", title=f"MQAR quick sizes, E = {MEMBERS} members")
    legend_outside(ax)
    paths = table[(table["section"] == "lla_path") & (table["threads"] == table["threads"].min())]
    ax = axes[0, 1]
    ax.barh(np.arange(len(paths)), paths["time_s"] * 1e3, color="C2")
    ax.set_yticks(np.arange(len(paths)), labels=paths["path"])
    ax.invert_yaxis()
    ax.set_xscale("log")
    title = f"LLA paths, q, k, v of (32, 1, 48, 32), {paths['threads'].min()} thread(s)"
    ax.set(xlabel="forward+backward (ms, median)", title=title)
    return save(fig, OUT, "token_training.png")


def floor_lines(table: pd.DataFrame) -> list[str]:
    """Per thread count, the LAPACK floor of one exact LLA mixer call (the faster factorisation and two solves;
    building the systems is shown beside it) against what the 4x step-time goal leaves each LLA layer: with
    softmax's batched member-step S and its attention forward+backward s, an LLA step of ``S − DEPTH·s + DEPTH·t``
    is at most 4S when ``t ≤ (3S + DEPTH·s)/DEPTH``. S is measured with each run's setup (models and first batch)
    inside, so this allowance is an upper bound."""
    lines = []
    for threads, group in table.groupby("threads"):
        pieces = group[group["section"] == "lla_floor"].set_index("path")["time_s"]
        softmax_step = group[(group["section"] == "training") & (group["mixer"] == "softmax")]
        softmax_call = group[(group["section"] == "lla_path") & (group["mixer"] == "softmax")]
        if pieces.empty or softmax_step.empty or softmax_call.empty:
            continue
        factorise = pieces[pieces.index.str.startswith("factorise")].min()
        solves = 2 * pieces["one cholesky_solve"]
        step = 1 / softmax_step.set_index("path").loc["batched", "member_steps_per_s"]
        allowance = (3 * step + DEPTH * softmax_call["time_s"].iloc[0]) / DEPTH
        lines.append(
            f"{threads} thread(s): LAPACK floor of one exact LLA call {(factorise + solves) * 1e3:.1f} ms (factorise "
            f"{factorise * 1e3:.1f}, 2 solves {solves * 1e3:.1f}; building the systems adds "
            f"{pieces['build systems'] * 1e3:.1f}) vs the 4x goal's allowance of at most {allowance * 1e3:.1f} ms"
        )
    return lines


def summary(table: pd.DataFrame) -> str:
    """Speed-up per mixer and thread count, LLA's step time over softmax's, and the fastest LLA path."""
    training = table[table["section"] == "training"]
    wide = training.pivot_table(index=["mixer", "threads"], columns="path", values="member_steps_per_s", sort=False)
    wide["speedup"] = wide["batched"] / wide["loop"]
    lines = [wide.round(2).to_string()]
    for path in ("loop", "batched"):
        rates = training[training["path"] == path].set_index(["mixer", "threads"])["member_steps_per_s"]
        for threads in sorted(training["threads"].unique()):
            if ("lla", threads) in rates and ("softmax", threads) in rates:
                ratio = rates["softmax", threads] / rates["lla", threads]
                lines.append(f"{path}, {threads} thread(s): LLA step time = {ratio:.1f}x softmax's")
    paths = table[(table["section"] == "lla_path") & (table["mixer"] == "lla")]
    for threads, group in paths.groupby("threads"):
        best = group.loc[group["time_s"].idxmin()]
        lines.append(f"fastest exact LLA path, {threads} thread(s): {best['path']} ({best['time_s'] * 1e3:.1f} ms)")
    lines += floor_lines(table)
    compiled = training[training["path"] == "compiled loop"]
    for _, row in compiled.iterrows():
        eager = wide.loc[(row["mixer"], row["threads"]), "loop"]
        lines.append(
            f"{row['mixer']}, {row['threads']} thread(s): compiled loop {row['member_steps_per_s']:.1f} steps/s "
            f"= {row['member_steps_per_s'] / eager:.2f}x the loop, after a {row['compile_s']:.0f} s compile"
        )
    peaks = table[table["section"] == "peak"]
    for (mixer, threads), group in training.groupby(["mixer", "threads"], sort=False):
        ceilings = peaks[peaks["threads"] == threads].set_index("path")["matmul_gflop_per_s"]
        if mixer in ("softmax", "linear") and len(ceilings):
            rates = group.set_index("path")["matmul_gflop_per_s"]
            lines.append(
                f"{mixer}, {threads} thread(s): matrix products at {rates['loop']:.1f} (loop) / "
                f"{rates['batched']:.1f} (batched) GFLOP/s; 4x the loop = {4 * rates['loop']:.1f} GFLOP/s; "
                + ", ".join(f"ceiling {path} {rate:.1f}" for path, rate in ceilings.items())
            )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--steps", type=int, default=5, help="training steps per timed run")
    parser.add_argument("--lla-steps", type=int, default=2, help="training steps per timed run of LLA")
    parser.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--mixers", nargs="+", default=list(MIXERS), choices=MIXERS)
    args = parser.parse_args()
    rows = []
    for threads in args.threads:
        torch.set_num_threads(threads)
        for mixer in args.mixers:
            rows += training_rows(mixer, args.lla_steps if mixer == "lla" else args.steps, threads)
            print(f"{mixer}, {threads} thread(s): done", flush=True)
        rows += lla_path_rows(threads)
        rows += lla_floor_rows(threads)
        rows += peak_rows(threads)
    table = pd.DataFrame(rows)
    OUT.mkdir(parents=True, exist_ok=True)
    table.to_csv(OUT / "token_training.csv", index=False)
    print(table.drop(columns=["section"]).to_string(index=False))
    print(summary(table))
    print(f"wrote {draw(table)}")


if __name__ == "__main__":
    main()
