"""Batched ensembles against the same runs one after another (foundation issue, §7).

Two settings:
- the attention-SVM theory setting (Tarzanagh et al.): 100 runs of one attention layer, n = 6, T = 8,
  d = 10, 1000 steps of normalised GD in float64 (goal: ≥ 10× faster as one ensemble);
- the in-context regression setting (He et al.): 2-head softmax, batch 256, compute-bound (ratio reported).

Both paths run the same code (`attnbench.sweeps.training.train_ensemble`); the ensemble has a leading run
axis, the loop calls it with one run at a time. The script also checks that both give the same parameters.
Prints a table and writes results/benchmarks/ensemble.{csv,png}.

    .venv/bin/python benchmarks/bench_ensemble.py [--runs 100] [--steps 1000] [--icl-runs 4 --icl-steps 200]
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable
from pathlib import Path

import pandas as pd
import torch

from attnbench.models.icl_attention import MultiHeadSoftmaxICL
from attnbench.models.svm_attention import NormalisedGD, attention_run_losses
from attnbench.sweeps.plotting import save
from attnbench.sweeps.training import make_optimizer, train_ensemble
from attnbench.tasks import icl_linear, token_selection

OUT = Path("results/benchmarks")


def svm_setting(first: int, runs: int, steps: int) -> torch.Tensor:
    """Train runs ``first .. first+runs-1`` of the SVM setting as one ensemble; return their W."""
    data = token_selection.sample_ensemble(token_selection.TokenSelectionConfig(), "train", runs, first)
    weights = torch.zeros(runs, 10, 10, dtype=torch.float64, requires_grad=True)
    losses = attention_run_losses(data.X, data.z, data.Y, v=data.v)
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
        batches = [icl_linear.sample(c, "train", step) for c in configs]
        prompts, targets = torch.stack([b.inputs for b in batches]), torch.stack([b.targets for b in batches])
        return ((model(prompts) - targets) ** 2).mean(-1)

    train_ensemble(losses, make_optimizer(model.parameters(), "adam", 1e-3), steps, show_progress=False)
    return model.query.detach()


def compare(name: str, setting: Callable[[int, int, int], torch.Tensor], runs: int, steps: int) -> dict:
    setting(0, 2, 2)  # warm-up: first-call allocations and kernel selection are not what is measured
    start = time.perf_counter()
    together = setting(0, runs, steps)
    ensemble_s = time.perf_counter() - start
    start = time.perf_counter()
    alone = torch.cat([setting(r, 1, steps) for r in range(runs)])
    loop_s = time.perf_counter() - start
    return {"setting": name, "runs": runs, "steps": steps, "ensemble_s": ensemble_s, "loop_s": loop_s,
            "speedup": loop_s / ensemble_s, "max_param_gap": float((together - alone).abs().max())}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=100)
    parser.add_argument("--steps", type=int, default=1000)
    parser.add_argument("--icl-runs", type=int, default=4)
    parser.add_argument("--icl-steps", type=int, default=200)
    args = parser.parse_args()
    rows = [compare("attention-SVM (n=6, T=8, d=10, fp64, NGD)", svm_setting, args.runs, args.steps),
            compare("ICL softmax H=2 (batch 256, fp32, Adam)", icl_setting, args.icl_runs, args.icl_steps)]
    table = pd.DataFrame(rows)
    table["torch_threads"] = torch.get_num_threads()
    OUT.mkdir(parents=True, exist_ok=True)
    table.to_csv(OUT / "ensemble.csv", index=False)
    print(table.to_string(index=False))
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 3))
    ax.barh(table["setting"], table["speedup"], color="C2")
    ax.axvline(10, color="k", ls="--", lw=0.8, label="goal for the theory setting (10×)")
    ax.set(xlabel="loop time / ensemble time", title="Batched ensemble speed-up (CPU)")
    ax.legend(fontsize=7)
    save(fig, OUT, "ensemble.png")


if __name__ == "__main__":
    main()
