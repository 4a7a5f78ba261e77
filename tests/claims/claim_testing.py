"""The tiny-profile tables the generic claim test judges (ARCHITECTURE.md, "The claims ledger").

`tiny_view(experiment)` runs every point of the experiment's ``tiny`` grid in this process (CPU, seed 0, no
progress output) and joins the rows exactly as the store's view does, so `attnbench.sweeps.ledger.evaluate`
sees the same shape of table in the test as in the ledger.
"""

from __future__ import annotations

import dataclasses
from functools import cache

import pandas as pd
import torch

from attnbench.sweeps import registry
from attnbench.sweeps.experiments.base import RunContext
from attnbench.sweeps.grid import points
from attnbench.sweeps.store import StoreView, join_run


@cache
def tiny_view(name: str) -> StoreView:
    """The rows of every tiny-profile grid point of experiment ``name``, joined as the store joins them."""
    experiment = registry.get(name)
    frames = []
    for index, point in enumerate(points(experiment.grid("tiny"))):
        params = experiment.params_of("tiny", **point)
        torch.manual_seed(0)
        context = RunContext(seed=0, device=torch.device("cpu"), progress=False, log=lambda _: None)
        rows = experiment.run(params, context)
        frames.append(join_run(rows, f"tiny{index}", "ok", "tiny", dataclasses.asdict(params), False))
    return StoreView(pd.concat(frames, ignore_index=True))
