"""The results store (DESIGN.md, "Data flow").

A run's identity is the hash of its resolved config minus cosmetic keys. Each finished run is written
atomically as two files under ``<results_dir>/<experiment>/runs/``: ``<run_id>.csv`` (its tidy rows) and
then ``<run_id>.json`` (its record: config, seed, library versions, wall time, status). The record is
written last, so its presence means the run is complete; a run killed half-way leaves at most a temporary
file, which is ignored and overwritten. Starting a sweep again skips every run whose record exists.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

# Keys that change how a run is shown or where it is written, never what it computes.
COSMETIC_KEYS = frozenset({"progress", "results_dir", "rerun"})
STATUSES = ("ok", "diverged", "failed")


def run_id(config: dict[str, Any]) -> str:
    """The identity of a run: a short hash of its resolved config without cosmetic keys."""
    essential = {k: v for k, v in config.items() if k not in COSMETIC_KEYS}
    text = json.dumps(essential, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def atomic_write_text(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` so that readers see either the old file or the whole new one."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


@dataclass(frozen=True)
class ExperimentStore:
    """The stored runs of one experiment under ``<root>/<experiment>/``."""

    root: Path
    experiment: str

    @property
    def folder(self) -> Path:
        return self.root / self.experiment

    @property
    def runs(self) -> Path:
        return self.folder / "runs"

    @property
    def table_path(self) -> Path:
        return self.folder / "table.csv"

    def is_done(self, rid: str) -> bool:
        return (self.runs / f"{rid}.json").exists()

    def save(self, rid: str, record: dict[str, Any], rows: pd.DataFrame) -> None:
        """Store one finished run: rows first, then the record that marks it complete."""
        if record.get("status") not in STATUSES:
            raise ValueError(f"run status must be one of {STATUSES}, got {record.get('status')!r}")
        atomic_write_text(self.runs / f"{rid}.csv", rows.to_csv(index=False))
        atomic_write_text(self.runs / f"{rid}.json", json.dumps(record, indent=2, sort_keys=True, default=str))

    def records(self) -> list[dict[str, Any]]:
        """Every complete run's record, sorted by run id."""
        if not self.runs.exists():
            return []
        return [json.loads(p.read_text()) for p in sorted(self.runs.glob("*.json"))]

    def table(self) -> pd.DataFrame:
        """All complete runs as one tidy table, in a deterministic order.

        Every row carries its run's id, status and flattened params (``p.<key>``); a run that diverged
        or failed appears with one row (metric ``run_status``) even when it produced no measurements.
        """
        frames = []
        for record in self.records():
            rid = record["run_id"]
            csv = self.runs / f"{rid}.csv"
            rows = pd.read_csv(csv) if csv.exists() and csv.stat().st_size > 1 else pd.DataFrame()
            if rows.empty:
                rows = pd.DataFrame({"metric": ["run_status"], "value": [float("nan")]})
            rows.insert(0, "run_id", rid)
            rows["status"] = record["status"]
            rows["profile"] = record["config"].get("profile")
            for key, value in record["config"].get("params", {}).items():
                rows[f"p.{key}"] = json.dumps(value) if isinstance(value, list | dict) else value
            frames.append(rows)
        if not frames:
            return pd.DataFrame()
        return pd.concat(frames, ignore_index=True)

    def write_table(self) -> pd.DataFrame:
        """Rebuild ``table.csv`` from the stored runs (atomically) and return it."""
        table = self.table()
        if not table.empty:
            atomic_write_text(self.table_path, table.to_csv(index=False))
        return table


def read_table(folder: Path) -> pd.DataFrame:
    """The committed ``table.csv`` of an experiment folder, or an empty frame if there is none."""
    path = folder / "table.csv"
    return pd.read_csv(path) if path.exists() else pd.DataFrame()
