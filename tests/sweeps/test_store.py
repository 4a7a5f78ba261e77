"""The results store: run identity, atomic 0644 files, integrity checked on every read, the table as a view,
run claims (locks) and their takeover (ARCHITECTURE.md, "The store")."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys

import pandas as pd
import pyarrow.parquet as pq
import pytest

from attnbench.sweeps import locks
from attnbench.sweeps.store import ExperimentStore, StoreError, run_id


def _record(status: str = "ok", **params: float) -> dict:
    return {"status": status, "config": {"profile": "quick", "params": params}, "fingerprint": "f0"}


def _store(tmp_path) -> ExperimentStore:
    store = ExperimentStore(tmp_path, "toy")
    store.save("a", _record(value=1.0), pd.DataFrame({"metric": ["m", "m"], "value": [1.5, 2.5]}))
    store.save("b", _record("failed", value=2.0), pd.DataFrame())
    return store


def test_run_id_ignores_cosmetic_keys_only():
    base = {
        "experiment": "toy",
        "seed": 0,
        "threads": 1,
        "params": {"value": 1.0},
        "progress": True,
        "results_dir": "a",
        "rerun": False,
        "reuse_stale": False,
    }
    assert run_id(base) == run_id({**base, "progress": False, "results_dir": "b", "rerun": True, "reuse_stale": True})
    for changed in ({"seed": 1}, {"params": {"value": 2.0}}, {"threads": 2}, {"device": "cuda"}):
        assert run_id(base) != run_id({**base, **changed})


def test_the_table_is_a_view_with_params_joined(tmp_path):
    view = _store(tmp_path).view()
    assert view.errors == ()
    assert list(view.rows["run_id"]) == ["a", "a", "b"]
    assert list(view.rows["status"]) == ["ok", "ok", "failed"]
    assert list(view.rows["p.value"]) == [1.0, 1.0, 2.0]
    assert view.rows.loc[2, "metric"] == "run_status"
    assert not (tmp_path / "toy" / "table.csv").exists()


def test_files_are_written_0644(tmp_path):
    _store(tmp_path)
    modes = {p.name: stat.S_IMODE(p.stat().st_mode) for p in (tmp_path / "toy" / "runs").iterdir()}
    assert set(modes.values()) == {0o644}, modes


def test_staleness_is_judged_against_the_current_fingerprint(tmp_path):
    store = _store(tmp_path)
    assert not store.view(fingerprint="f0").rows["stale"].any()
    assert store.view(fingerprint="f1").rows["stale"].all()


@pytest.mark.parametrize("damage", ["truncate", "empty", "delete", "edit_number"])
def test_damaged_rows_are_reported_by_path(tmp_path, damage):
    store = _store(tmp_path)
    path = store.path("a", "parquet")
    if damage == "truncate":
        path.write_bytes(path.read_bytes()[: int(path.stat().st_size * 0.6)])
    elif damage == "empty":
        path.write_bytes(b"")
    elif damage == "delete":
        path.unlink()
    else:
        table = pq.read_table(path).to_pandas()
        table.loc[0, "value"] *= 1.5
        table.to_parquet(path)
    view = store.view()
    assert len(view.errors) == 1 and str(path) in view.errors[0]
    assert set(view.rows["run_id"]) == {"b"}


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (lambda text: text[: len(text) // 2], "not a valid run record"),
        (lambda text: text.replace('"ok"', '"okk"'), "status 'okk'"),
        (
            lambda text: json.dumps({k: v for k, v in json.loads(text).items() if k != "fingerprint"}),
            "lacks fingerprint",
        ),
    ],
)
def test_damaged_records_are_reported_by_path(tmp_path, edit, message):
    store = _store(tmp_path)
    path = store.path("a", "json")
    path.write_text(edit(path.read_text()))
    errors = store.view().errors
    assert len(errors) == 1 and str(path) in errors[0] and message in errors[0]
    with pytest.raises(StoreError, match=message):
        store.record("a")


def test_stray_temporary_files_are_ignored(tmp_path):
    store = _store(tmp_path)
    (store.runs / ".x.json.123.tmp").write_text("{half")
    assert store.view().errors == () and store.run_ids() == ["a", "b"]


def test_unknown_status_is_rejected(tmp_path):
    with pytest.raises(ValueError, match="status"):
        ExperimentStore(tmp_path, "toy").save("a", _record("weird"), pd.DataFrame())


def test_a_lock_is_exclusive_while_its_owner_lives(tmp_path):
    store = ExperimentStore(tmp_path, "toy")
    lock = store.claim("r")
    assert lock is not None and store.claim("r") is None
    assert store.status("r") == "running"
    lock.release()
    assert store.status("r") is None and store.claim("r") is not None


def test_a_dead_owners_lock_shows_killed_and_is_taken_over(tmp_path):
    store = ExperimentStore(tmp_path, "toy")
    child = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    store.runs.mkdir(parents=True)
    dead_pid = int(child.stdout)
    store.path("r", "lock").write_text(json.dumps({"pid": dead_pid, "host": os.uname().nodename}))
    assert store.status("r") == "killed"
    assert list(store.view().rows["status"]) == ["killed"]
    lock = store.claim("r")
    assert lock is not None
    assert json.loads(store.path("r", "lock").read_text())["pid"] == os.getpid()
    lock.release()


def test_another_hosts_lock_is_dead_only_when_its_heartbeat_stops(tmp_path):
    path = tmp_path / "r.lock"
    path.write_text(json.dumps({"pid": 1, "host": "elsewhere"}))
    assert not locks.is_dead(locks.owner(path))
    old = path.stat().st_mtime - locks.DEAD_AFTER_S - 1
    os.utime(path, (old, old))
    assert locks.is_dead(locks.owner(path))


def test_a_dead_lock_beside_a_complete_record_is_debris(tmp_path):
    """A job killed between saving its record and releasing its lock: the run is complete."""
    store = _store(tmp_path)
    child = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    store.path("a", "lock").write_text(json.dumps({"pid": int(child.stdout), "host": os.uname().nodename}))
    assert store.status("a") == "ok"
    assert list(store.view().rows["status"]) == ["ok", "ok", "failed"]
    store.clear_dead_lock("a")
    assert not store.path("a", "lock").exists()
