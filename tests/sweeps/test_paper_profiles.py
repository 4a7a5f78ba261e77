"""The token tasks' paper profiles (Zoology's and Grazzi et al.'s sizes) complete one cell end to end on the CPU,
at reduced steps, batch and evaluation (issue 16 §4). Slow: the main job runs it (``pytest -m slow``)."""

from __future__ import annotations

import pytest
import torch

from attnbench.sweeps import registry
from attnbench.sweeps.experiments.base import RunContext

CTX = RunContext(seed=0, device=torch.device("cpu"), progress=False, log=lambda _: None)
# One cell of each paper grid; every other size (vocabulary, sequence and test lengths, width) is the paper's.
CELLS = {
    "mqar": {"models": ["softmax"], "kv_pairs": [64], "widths": [64]},
    "state_tracking": {"models": ["softmax"], "tasks": ["parity"]},
}
REDUCED = {"steps": 2, "batch_size": 2, "eval_batches": 1, "seeds": 2}


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(CELLS))
def test_paper_profile_completes_one_cell(name: str) -> None:
    experiment = registry.get(name)
    paper = experiment.params_of("paper")
    params = experiment.params_of("paper", **CELLS[name], **REDUCED, lrs=paper.lrs[:1])
    table = experiment.run(params, CTX)
    accuracy = table[table["metric"] == "test_accuracy"]
    assert not accuracy.empty and accuracy["value"].between(0, 1).all()
    assert set(table.loc[table["metric"] == "val_accuracy_curve", "step"]) == {1, 2}
