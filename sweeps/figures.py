"""Rebuild every figure and ``results/CLAIMS.md`` from stored tables, without training (and copy the ledger
into the README between its claims markers, so the README always shows the current verdicts)."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")

from attnbench.sweeps import registry  # noqa: E402
from attnbench.sweeps.ledger import ledger_rows, render_markdown  # noqa: E402
from attnbench.sweeps.store import ExperimentStore, atomic_write_text, read_table  # noqa: E402

README_MARKERS = ("<!-- claims:start -->", "<!-- claims:end -->")


def update_readme(readme: Path, ledger: str) -> bool:
    """Replace the text between the README's claims markers with the ledger; False if there are no markers."""
    if not readme.exists():
        return False
    text = readme.read_text()
    start, end = README_MARKERS
    if start not in text or end not in text:
        return False
    head, rest = text.split(start, 1)
    atomic_write_text(readme, f"{head}{start}\n{ledger}{end}{rest.split(end, 1)[1]}")
    return True


def rebuild(results_dir: Path, only: str | None = None, readme: Path | None = None) -> list[Path]:
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
    markdown = render_markdown(ledger_rows(results_dir))
    atomic_write_text(ledger, markdown)
    if readme is not None and update_readme(readme, markdown):
        written.append(readme)
    return [*written, ledger]
