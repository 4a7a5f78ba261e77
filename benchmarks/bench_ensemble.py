"""Batched ensembles against the same runs one after another.

Two settings:
- the attention-SVM theory setting (Tarzanagh et al.): 100 runs of one attention layer, n = 6, T = 8, d = 10,
  normalised GD in float64 (goal: ≥ 10× faster as one ensemble);
- the in-context regression setting (He et al.): 2-head softmax, batch 256, Adam, compute-bound (ratio reported).

Both paths run the same code (`attnbench.sweeps.training.train_ensemble`); the ensemble has a leading run axis,
the loop calls it with one run at a time. Each path is timed end to end (data, set-up and ``--steps`` steps) by
`benchmarks.timing.measure` (median and IQR of at least 4 replicates after a warm-up); the script also checks that
both paths give the same parameters. Prints a table and writes results/benchmarks/ensemble.{csv,png,pdf}.

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/bench_ensemble.py [--runs 100 --steps 20 --icl-runs 4 --icl-steps 50]
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from timing import measure

from attnbench.models.icl_attention import MultiHeadSoftmaxICL
from attnbench.models.svm_attention import NormalisedGD, attention_run_losses
from attnbench.sweeps.plotting import legend_outside, panels, save
from attnbench.sweeps.training import make_optimizer, train_ensemble
from attnbench.tasks import icl_linear, token_selection
from attnbench.tasks.base import stack

OUT = Path(__file__).resolve().parents[1] / "results" / "benchmarks"


def svm_setting(first: int, runs: int, steps: int) -> torch.Tensor:
    """Train runs ``first .. first+runs-1`` of the SVM setting as one ensemble; return their W."""
    data = token_selection.sample_ensemble(token_selection.TokenSelectionConfig(), "train", runs, first)
    weights = torch.zeros(runs, 10, 10, dtype=torch.float64, requires_grad=True)
    losses = attention_run_losses(data.inputs, data.z, data.targets, v=data.v)
    train_ensemble(lambda step: losses({"W": weights}), NormalisedGD([weights], lr=0.1), steps, show_progress=False)
    return weights.detach()


def icl_setting(first: int, runs: int, steps: int) -> torch.Tensor:
    """Train seeds ``first .. first+runs-1`` of 2-head softmax ICL (batch 256) as one ensemble."""
    configs = [icl_linear.IclLinearConfig(stream=s) for s in range(first, first + runs)]
    members = [MultiHeadSoftmaxICL(1, 2, 5, torch.Generator().manual_seed(s)) for s in range(first, first + runs)]
    model = MultiHeadSoftmaxICL(runs, 2, 5, torch.Generator())
    with torch.no_grad():
        for name, parameter in model.named_parameters():
            parameter.copy_(torch.cat([dict(m.named_parameters())[name] for m in members]))

    def losses(step: int) -> torch.Tensor:
        batch = stack(configs, "train", step)
        prompts, targets = batch.inputs, batch.targets
        return ((model(prompts) - targets) ** 2).mean(-1)

    train_ensemble(losses, make_optimizer(model.parameters(), "adam", 1e-3), steps, show_progress=False)
    return model.query.detach()


def compare(name: str, setting: Callable[[int, int, int], torch.Tensor], runs: int, steps: int) -> dict:
    """Ensemble and loop timings of ``setting`` and the largest parameter gap between the two paths."""
    together = measure(lambda: setting(0, runs, steps), max_run_time=60)
    alone = measure(lambda: [setting(r, 1, steps) for r in range(runs)], max_run_time=120)
    gap = (setting(0, runs, steps) - torch.cat([setting(r, 1, steps) for r in range(runs)])).abs().max()
    return {
        "setting": name,
        "runs": runs,
        "steps": steps,
        **together.columns("ensemble"),
        **alone.columns("loop"),
        "speedup": alone.median_s / together.median_s,
        "max_param_gap": float(gap),
        "load_average": alone.load_average,
    }


def draw(table: pd.DataFrame) -> Path:
    """Speed-up per setting (log scale), with the range the IQRs of both timings allow, and the 10× goal."""
    fig, axes = panels(1, 1)
    fig.set_size_inches(7.0, 2.6)
    ax = axes[0, 0]
    low = (table["loop_s"] - table["loop_iqr_s"] / 2) / (table["ensemble_s"] + table["ensemble_iqr_s"] / 2)
    high = (table["loop_s"] + table["loop_iqr_s"] / 2) / (table["ensemble_s"] - table["ensemble_iqr_s"] / 2)
    positions = np.arange(len(table))
    spread = np.vstack([table["speedup"] - low, high - table["speedup"]])
    ax.barh(positions, table["speedup"], height=0.5, color="C2", xerr=spread, capsize=3, label="measured (median)")
    for position, speedup in zip(positions, table["speedup"], strict=True):
        ax.annotate(f"{speedup:.1f}×", (speedup, position), xytext=(8, 6), textcoords="offset points", fontsize=8)
    ax.set_yticks(positions, labels=[s.replace(" (", "\n(") for s in table["setting"]])
    ax.axvline(10, color="k", ls="--", lw=0.8, label="goal, theory setting (10×)")
    ax.set_xscale("log")
    ax.set_xlim(0.8, 100)
    ax.set(xlabel="loop time / ensemble time (bars: ± IQR/2 of both timings)")
    ax.set_title(f"Batched ensemble speed-up, CPU, {int(table['torch_threads'].iloc[0])} thread")
    legend_outside(ax)
    return save(fig, OUT, "ensemble.png")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=100)
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--icl-runs", type=int, default=4)
    parser.add_argument("--icl-steps", type=int, default=50)
    args = parser.parse_args()
    rows = [
        compare("attention-SVM (n=6, T=8, d=10, fp64, NGD)", svm_setting, args.runs, args.steps),
        compare("ICL softmax H=2 (batch 256, fp32, Adam)", icl_setting, args.icl_runs, args.icl_steps),
    ]
    table = pd.DataFrame(rows).assign(torch_threads=torch.get_num_threads())
    OUT.mkdir(parents=True, exist_ok=True)
    table.to_csv(OUT / "ensemble.csv", index=False)
    print(table.to_string(index=False))
    print(f"wrote {draw(table)}")


if __name__ == "__main__":
    main()
