"""The results store (ARCHITECTURE.md, "The store").

A run's identity is the hash of its resolved config minus cosmetic keys. Its files live under
``<results_dir>/<experiment>/runs/``:

- ``<run_id>.lock`` while a job computes it (`attnbench.sweeps.locks`);
- ``<run_id>.parquet``: its tidy rows, written first;
- ``<run_id>.json``: its record (config, status, provenance, the code fingerprint, and the sha256 of the
  parquet file), written last, so its presence means the run is complete.

Every file is written atomically with mode 0644. Every read checks the record and the hash of its rows: a
truncated, emptied, edited or missing file is reported by path (`StoreView.errors`), never dropped. The
experiment's table is a view computed on read (`StoreView.rows`): the rows of every run with its params
joined, so it can never lag the runs. A run whose lock is held by a dead owner and that has no newer record
shows as ``killed``.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from attnbench.sweeps import locks

# Keys that change how a run is shown or where it is written, never what it computes.
COSMETIC_KEYS = frozenset({"progress", "results_dir", "rerun", "reuse_stale"})
FINAL_STATUSES = ("ok", "diverged", "failed")
STATUSES = ("running", *FINAL_STATUSES, "killed")
RETRIED = ("failed", "killed")
RECORD_KEYS = ("run_id", "status", "config", "fingerprint", "rows_sha256")


class StoreError(RuntimeError):
    """A store file that cannot be trusted; the message names its path."""


def run_id(config: dict[str, Any]) -> str:
    """The identity of a run: a short hash of its resolved config without cosmetic keys."""
    essential = {k: v for k, v in config.items() if k not in COSMETIC_KEYS}
    text = json.dumps(essential, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def atomic_write(path: Path, data: bytes | str) -> None:
    """Write ``data`` to ``path`` (mode 0644) so that readers see either the old file or the whole new one."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        os.fchmod(fd, 0o644)
        with os.fdopen(fd, "wb") as handle:
            handle.write(data.encode() if isinstance(data, str) else data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def parquet_bytes(rows: pd.DataFrame) -> bytes:
    """A run's rows as parquet (object columns that mix text and numbers are stored as text)."""
    rows = rows.reset_index(drop=True).copy()
    for column in [c for c in rows.columns if pd.api.types.is_object_dtype(rows[c])]:
        kinds = {type(v) for v in rows[column] if not (isinstance(v, float) and pd.isna(v)) and v is not None}
        if len(kinds) > 1 or (kinds and not kinds <= {str, bool}):
            rows[column] = rows[column].map(
                lambda v: None if v is None or (isinstance(v, float) and pd.isna(v)) else str(v)
            )
    buffer = io.BytesIO()
    pq.write_table(pa.Table.from_pandas(rows, preserve_index=False), buffer, compression="zstd")
    return buffer.getvalue()


def param_columns(params: dict[str, Any], prefix: str = "p.") -> dict[str, Any]:
    """A run's params as the view's ``p.<key>`` columns: scalars as they are, lists as JSON text, and a
    section's nested params as ``p.<section>.<key>``."""
    columns: dict[str, Any] = {}
    for key, value in params.items():
        if isinstance(value, dict):
            columns.update(param_columns(value, f"{prefix}{key}."))
        else:
            columns[f"{prefix}{key}"] = json.dumps(value) if isinstance(value, list) else value
    return columns


def join_run(
    rows: pd.DataFrame, rid: str, status: str, profile: str | None, params: dict[str, Any], stale: bool
) -> pd.DataFrame:
    """One run's rows with its identity, status and params joined (a run without rows keeps one row)."""
    rows = rows if not rows.empty else pd.DataFrame({"metric": ["run_status"], "value": [float("nan")]})
    run = {"run_id": rid, "status": status, "profile": profile, "stale": stale, **param_columns(params)}
    return rows.assign(**run)[[*run, *rows.columns]]


@dataclass(frozen=True)
class StoreView:
    """What the store holds for one experiment: every run's rows with its params joined (``rows``), and
    every file that could not be trusted, by path (``errors``)."""

    rows: pd.DataFrame
    errors: tuple[str, ...] = ()
    records: tuple[dict[str, Any], ...] = field(default=(), repr=False)


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

    def path(self, rid: str, suffix: str) -> Path:
        return self.runs / f"{rid}.{suffix}"

    def claim(self, rid: str) -> locks.RunLock | None:
        """Claim run ``rid`` for computing; None when a live job elsewhere holds it."""
        return locks.acquire(self.path(rid, "lock"))

    def save(self, rid: str, record: dict[str, Any], rows: pd.DataFrame) -> None:
        """Store one finished run: rows first, then the record (with the rows' hash) that marks it complete."""
        if record.get("status") not in FINAL_STATUSES:
            raise ValueError(f"run status must be one of {FINAL_STATUSES}, got {record.get('status')!r}")
        data = parquet_bytes(rows)
        atomic_write(self.path(rid, "parquet"), data)
        record = {**record, "run_id": rid, "rows": len(rows), "rows_sha256": hashlib.sha256(data).hexdigest()}
        atomic_write(self.path(rid, "json"), json.dumps(record, indent=2, sort_keys=True, default=str))

    def record(self, rid: str) -> dict[str, Any] | None:
        """The checked record of run ``rid`` (None if it has none); raises `StoreError` naming a bad file."""
        path = self.path(rid, "json")
        if not path.exists():
            return None
        try:
            record = json.loads(path.read_text())
        except (ValueError, UnicodeDecodeError) as error:
            raise StoreError(f"{path}: not a valid run record ({error})") from None
        missing = [k for k in RECORD_KEYS if not isinstance(record, dict) or k not in record]
        if missing:
            raise StoreError(f"{path}: run record lacks {', '.join(missing)}")
        if record["status"] not in FINAL_STATUSES:
            raise StoreError(f"{path}: status {record['status']!r} is not one of {', '.join(FINAL_STATUSES)}")
        if record["run_id"] != rid:
            raise StoreError(f"{path}: holds run {record['run_id']!r}, not {rid!r}")
        return record

    def rows(self, record: dict[str, Any]) -> pd.DataFrame:
        """The checked rows of a run; raises `StoreError` naming a missing, truncated or edited file."""
        path = self.path(record["run_id"], "parquet")
        try:
            data = path.read_bytes()
        except FileNotFoundError:
            raise StoreError(f"{path}: missing (its record {path.with_suffix('.json').name} exists)") from None
        if hashlib.sha256(data).hexdigest() != record["rows_sha256"]:
            raise StoreError(f"{path}: content does not match the sha256 in its record (edited or truncated)")
        return pq.read_table(io.BytesIO(data)).to_pandas()

    def run_ids(self) -> list[str]:
        """Every run with a record or a lock, sorted."""
        if not self.runs.exists():
            return []
        return sorted(
            {
                p.name.split(".", 1)[0]
                for p in self.runs.iterdir()
                if not p.name.startswith(".") and p.suffix in (".json", ".lock", ".parquet")
            }
        )

    def status(self, rid: str, record: dict[str, Any] | None = None) -> str | None:
        """``running`` while a live job holds the run's lock; else the record's status (``record``: the run's
        record, when already read); ``killed`` when a dead job's lock is all there is (a record beside a dead
        lock is complete: it is written before the lock is released); None when the run was never stored."""
        info = locks.owner(self.path(rid, "lock"))
        if info is not None and not locks.is_dead(info):
            return "running"
        record = self.record(rid) if record is None else record
        if record is None:
            return "killed" if info is not None else None
        return record["status"]

    def clear_dead_lock(self, rid: str) -> None:
        """Remove the lock a dead job left on run ``rid`` (taking it over first, so a live one is never removed)."""
        info = locks.owner(self.path(rid, "lock"))
        if info is not None and locks.is_dead(info):
            lock = self.claim(rid)
            if lock is not None:
                lock.release()

    def view(self, profile: str | None = None, fingerprint: str | None = None) -> StoreView:
        """The experiment's table: every run of ``profile`` (None: all) with params joined, and any bad file.

        A run counts as ``stale`` when ``fingerprint`` is given and differs from the run's own.
        """
        frames, errors, records = [], [], []
        for rid in self.run_ids():
            try:
                record = self.record(rid)
                status = self.status(rid, record)
                rows = self.rows(record) if record is not None and status in FINAL_STATUSES else pd.DataFrame()
            except StoreError as error:
                errors.append(str(error))
                continue
            config = (record or {}).get("config", {})
            if record is None and status is None:
                errors.append(f"{self.path(rid, 'parquet')}: rows without a run record")
                continue
            if profile is not None and record is not None and config.get("profile") != profile:
                continue
            stale = record is not None and fingerprint is not None and record["fingerprint"] != fingerprint
            frames.append(
                join_run(rows, rid, status or "killed", config.get("profile"), config.get("params", {}), stale)
            )
            records.append(record or {"run_id": rid, "status": status})
        table = (
            pd.concat(frames, ignore_index=True)
            if frames
            else pd.DataFrame(columns=["run_id", "status", "profile", "stale", "metric", "value"])
        )
        return StoreView(table, tuple(errors), tuple(records))

    def records(self) -> Iterator[dict[str, Any]]:
        """Every readable record (for summaries and tests)."""
        for rid in self.run_ids():
            record = self.record(rid)
            if record is not None:
                yield record


def load_view(results_dir: Path, experiment: str, profile: str | None = "quick") -> StoreView:
    """The view of ``experiment``'s stored runs, with staleness judged against the current code."""
    from attnbench.sweeps import registry
    from attnbench.sweeps.fingerprint import fingerprint

    return ExperimentStore(Path(results_dir), experiment).view(profile, fingerprint(registry.get(experiment)))


def load(experiment: str, results: str | Path = "results", profile: str | None = "quick") -> pd.DataFrame:
    """The stored table of ``experiment``: one row per run x step x metric, with ``run_id``, ``status``,
    ``stale`` and the run's params as ``p.<key>`` columns. Raises `StoreError` naming any corrupt file.

    >>> table = attnbench.load("icl_linear")                           # doctest: +SKIP
    >>> EXPERIMENT.draw(table[table.status == "ok"], Path("figs"))     # doctest: +SKIP
    """
    view = load_view(Path(results), experiment, profile)
    if view.errors:
        raise StoreError("; ".join(view.errors))
    return view.rows
