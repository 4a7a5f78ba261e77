"""A toy experiment for testing the harness: instant, and able to diverge, fail or sleep on demand."""

from __future__ import annotations

import time
from dataclasses import dataclass

import pandas as pd
import torch

from attnbench.sweeps.experiments.base import Claim, Experiment, Profile, RunContext, Scope, Tolerance, Verdict
from attnbench.sweeps.training import Diverged
from attnbench.sweeps.validation import Params, param


@dataclass
class ToyParams(Params):
    value: float = param(1.0, help="the value squared")
    width: int = param(3, ge=1, help="rows per run")
    sleep: float = param(0.0, ge=0, help="seconds to sleep first")
    mode: str = param("ok", choices=("ok", "diverge", "fail"), help="what the run does")
    sizes: list[int] = param([1], ge=1, help="a list, for grid tests")


def run(params: ToyParams, ctx: RunContext) -> pd.DataFrame:
    time.sleep(params.sleep)
    if params.mode == "diverge":
        raise Diverged(7)
    if params.mode == "fail":
        raise RuntimeError("toy failure")
    noise = torch.randn(params.width, generator=torch.Generator().manual_seed(ctx.seed)).tolist()
    return pd.DataFrame(
        {
            "metric": "square",
            "value": [params.value**2 + 0.01 * n for n in noise],
            "predicted": params.value**2,
            "step": list(range(params.width)),
        }
    )


def _check(rows: pd.DataFrame) -> Verdict:
    rows = rows[rows["metric"] == "square"]
    gap = float((rows["value"] - rows["predicted"]).abs().max())
    return Verdict("pass" if gap <= 0.1 else "fail", "v²", f"max gap {gap:.3g} over {len(rows)} rows")


EXPERIMENT = Experiment(
    name="toy",
    description="harness test experiment",
    params=ToyParams,
    run=run,
    claims=(
        Claim(
            "toy.rows",
            "the toy experiment stores v² per value",
            "derived",
            "consistency",
            Scope(cells=("p.value",)),
            Tolerance("≤ 0.1", "cut-off"),
            _check,
        ),
    ),
    sweep={"value": "1,2,3"},
    tiny=Profile(overrides={"width": 2}, grid={"value": "1,2"}),
    paper=Profile(overrides={"width": 5}, grid={"value": "4,5"}),
)
