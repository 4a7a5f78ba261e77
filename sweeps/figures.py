"""Rebuild every figure and ``results/CLAIMS.md`` from the stored runs, without training (and copy the ledger
into the README between its claims markers, so the README always shows the current verdicts)."""

from __future__ import annotations

import json
import logging
from pathlib import Path

from attnbench.sweeps import registry
from attnbench.sweeps.experiments.base import Experiment
from attnbench.sweeps.fingerprint import draw_fingerprint, fingerprint
from attnbench.sweeps.ledger import ledger, render_markdown
from attnbench.sweeps.store import atomic_write, load_view

README_MARKERS = ("<!-- claims:start -->", "<!-- claims:end -->")
log = logging.getLogger("attnbench")


def update_readme(readme: Path, text: str) -> bool:
    """Replace the text between the README's claims markers with ``text``; False if there are no markers."""
    if not readme.exists():
        return False
    content = readme.read_text()
    start, end = README_MARKERS
    if start not in content or end not in content:
        return False
    head, rest = content.split(start, 1)
    atomic_write(readme, f"{head}{start}\n{text}{end}{rest.split(end, 1)[1]}")
    return True


MANIFEST = "figures.json"


def write_manifest(folder: Path, experiment: Experiment, drawn: list[Path]) -> None:
    """Record which code drew the figures of ``folder`` from which runs (``figures.json``)."""
    manifest = {
        "draw": draw_fingerprint(experiment),
        "runs": fingerprint(experiment),
        "files": sorted(p.name for p in drawn),
    }
    atomic_write(folder / MANIFEST, json.dumps(manifest, indent=2) + "\n")


class DrawError(RuntimeError):
    """Some experiments' figures could not be drawn; the ledger was written all the same."""


def rebuild(results_dir: Path, only: str | None = None, readme: Path | None = None) -> list[Path]:
    """Redraw each experiment's figures from its stored runs, and rewrite the ledger (always, for every
    experiment: a figure that fails to draw is reported, by `DrawError` at the end, never a missing ledger)."""
    written: list[Path] = []
    failed: list[str] = []
    for name, experiment in registry.experiments().items():
        if (only is not None and name != only) or experiment.draw is None:
            continue
        view = load_view(results_dir, name)
        if view.errors:
            log.error("%s: figures not drawn, the store has bad files: %s", name, "; ".join(view.errors))
            continue
        ok = view.rows[view.rows["status"] == "ok"]
        try:
            drawn = experiment.draw(ok, results_dir / name) if not ok.empty else []
            written += drawn
            write_manifest(results_dir / name, experiment, drawn)
        except Exception as error:  # one experiment's figure never stops the others, nor the ledger
            log.error("%s: drawing the figures raised %s: %s", name, type(error).__name__, error)
            failed.append(f"{name} ({type(error).__name__}: {error})")
    path = results_dir / "CLAIMS.md"
    markdown = render_markdown(ledger(results_dir))
    atomic_write(path, markdown)
    if readme is not None and update_readme(readme, markdown):
        written.append(readme)
    if failed:
        raise DrawError(f"figures not drawn for {', '.join(failed)}; {path} was written")
    return [*written, path]
