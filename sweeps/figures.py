"""Rebuild every figure and ``results/CLAIMS.md`` from stored tables, without training."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")

from attnbench.sweeps import registry  # noqa: E402
from attnbench.sweeps.ledger import ledger_rows, render_markdown  # noqa: E402
from attnbench.sweeps.store import ExperimentStore, atomic_write_text, read_table  # noqa: E402


def rebuild(results_dir: Path, only: str | None = None) -> list[Path]:
    """Re-aggregate each experiment's stored runs, redraw its figures, and rewrite the ledger."""
    written: list[Path] = []
    for name, experiment in registry.experiments().items():
        if only is not None and name != only:
            continue
        store = ExperimentStore(results_dir, name)
        table = store.write_table() if store.records() else read_table(store.folder)
        if table.empty or experiment.draw is None:
            continue
        ok = table[table["status"] == "ok"]
        written += experiment.draw(ok, store.folder)
    ledger = results_dir / "CLAIMS.md"
    atomic_write_text(ledger, render_markdown(ledger_rows(results_dir)))
    return [*written, ledger]
