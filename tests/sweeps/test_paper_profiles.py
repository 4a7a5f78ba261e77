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


def test_state_tracking_paper_profile_keeps_grazzis_length_split() -> None:
    """The quick profile trains at lengths 3..10 and tests at 10..40; the paper profile is Grazzi et al.'s split,
    train 3..40 and test 40..256 (Sec. 5)."""
    quick, paper = (registry.get("state_tracking").params_of(p) for p in ("quick", "paper"))
    assert (quick.train_min_len, quick.train_max_len, quick.eval_min_len, quick.eval_max_len) == (3, 10, 10, 40)
    assert (paper.train_min_len, paper.train_max_len, paper.eval_min_len, paper.eval_max_len) == (3, 40, 40, 256)
