"""Test-wide set-up: the toy experiment of tests/sweeps is registered for harness tests (also in
subprocesses), and torch runs single-threaded so pytest-xdist workers do not fight over the cores."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest
import torch

TOY_DIR = Path(__file__).parent / "sweeps"
os.environ["ATTNBENCH_EXPERIMENTS"] = "toy_experiment"
os.environ["PYTHONPATH"] = os.pathsep.join(filter(None, [str(TOY_DIR), os.environ.get("PYTHONPATH")]))
os.environ.setdefault("OMP_NUM_THREADS", "1")
sys.path.insert(0, str(TOY_DIR))
torch.set_num_threads(1)


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "claim(id=...): the results/CLAIMS.md id this test checks")


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Record which claim ids have a test (before any -m deselection), for test_claim_coverage."""
    config.stash[CLAIM_IDS] = {m.kwargs.get("id", *m.args[:1]) for item in items for m in item.iter_markers("claim")}
    config.stash[WHOLE_SUITE] = all(Path(a).resolve() == Path(__file__).parent for a in config.args or ["tests"])


CLAIM_IDS = pytest.StashKey[set]()
WHOLE_SUITE = pytest.StashKey[bool]()
