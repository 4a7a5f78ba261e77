"""The committed ledger is exactly what the committed runs give under the committed code (ARCHITECTURE.md,
"The claims ledger"): re-evaluating every claim reproduces results/CLAIMS.md byte for byte, no claim is
``fail``, ``error`` or ``stale``, and every figure it links exists."""

from __future__ import annotations

import re
from functools import cache
from pathlib import Path

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
