"""A toy experiment for testing the harness: instant, and able to diverge, fail or sleep on demand."""

from __future__ import annotations

import time
from dataclasses import dataclass

import pandas as pd
import torch

from attnbench.sweeps.experiments.base import Claim, Experiment, RunContext, Verdict, require
from attnbench.sweeps.training import Diverged


@dataclass
class ToyParams:
    value: float = 1.0
    width: int = 3
    sleep: float = 0.0
    mode: str = "ok"

    def __post_init__(self) -> None:
        require(self.width >= 1, "params.width", f"must be >= 1, got {self.width}")
        require(self.mode in ("ok", "diverge", "fail"), "params.mode",
                f"got {self.mode!r}; allowed: ok, diverge, fail")


def run(params: ToyParams, ctx: RunContext) -> pd.DataFrame:
    time.sleep(params.sleep)
    if params.mode == "diverge":
        raise Diverged(7)
    if params.mode == "fail":
        raise RuntimeError("toy failure")
    noise = torch.randn(params.width, generator=torch.Generator().manual_seed(ctx.seed)).tolist()
    return pd.DataFrame({"metric": "square", "value": [params.value**2 + n for n in noise],
                         "predicted": params.value**2, "step": list(range(params.width))})


def _check(table: pd.DataFrame) -> Verdict:
    rows = table[table["metric"] == "square"]
    return Verdict("pass" if len(rows) else "fail", "v²", f"{len(rows)} rows")


EXPERIMENT = Experiment(
    name="toy",
    description="harness test experiment",
    params=ToyParams,
    run=run,
    claims=(Claim("toy.rows", "the toy experiment stores rows", "derived", _check),),
    paper={"width": 5},
    sweep={"value": "1,2,3"},
    paper_sweep={"value": "4,5"},
)
