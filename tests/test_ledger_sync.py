"""The committed ledger is exactly what the committed runs give under the committed code (ARCHITECTURE.md,
"The claims ledger"): re-evaluating every claim reproduces results/CLAIMS.md byte for byte, no claim is
``fail``, ``error`` or ``stale``, every figure it links exists, and every experiment's figures were drawn by
its current figure code from its current runs (``figures.json``)."""

from __future__ import annotations

import json
import re
from functools import cache
from pathlib import Path

import pytest

from attnbench.sweeps import registry
from attnbench.sweeps.figures import MANIFEST
from attnbench.sweeps.fingerprint import draw_fingerprint, fingerprint
from attnbench.sweeps.ledger import Ledger, ledger, render_markdown

RESULTS = Path(__file__).resolve().parents[1] / "results"


@cache
def _committed() -> Ledger:
    return ledger(RESULTS, leave_out={"toy"})  # the harness's toy experiment is registered for the tests


def test_the_committed_ledger_is_reproduced_exactly():
    assert render_markdown(_committed()) == (RESULTS / "CLAIMS.md").read_text()


def test_no_committed_claim_is_fail_error_or_stale():
    assert [(r.claim.id, r.verdict, r.note) for r in _committed().failing()] == []


def test_every_linked_figure_exists():
    links = set(re.findall(r"`([^`]+\.(?:png|pdf))`", (RESULTS / "CLAIMS.md").read_text()))
    assert links and sorted(link for link in links if not (RESULTS / link).is_file()) == []


@pytest.mark.parametrize("name", [n for n, e in registry.experiments().items() if n != "toy" and e.draw])
def test_figures_were_drawn_by_the_current_code_from_the_current_runs(name):
    experiment = registry.get(name)
    manifest = json.loads((RESULTS / name / MANIFEST).read_text())
    assert manifest["draw"] == draw_fingerprint(experiment), "figure code changed: run `attnbench figures`"
    assert manifest["runs"] == fingerprint(experiment)
    linked = {c.figure for c in experiment.claims if c.figure}
    assert linked <= set(manifest["files"]) and all((RESULTS / name / f).is_file() for f in manifest["files"])
