"""The results store: run identity, atomic writes, skip-if-done, failed runs kept in the table."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from attnbench.sweeps.store import ExperimentStore, run_id


def _record(rid: str, status: str = "ok", **params: float) -> dict:
    return {"run_id": rid, "status": status, "config": {"profile": "quick", "params": params}}


def test_run_id_ignores_cosmetic_keys_only():
    base = {"experiment": "toy", "seed": 0, "params": {"value": 1.0}, "progress": True, "results_dir": "a"}
    assert run_id(base) == run_id({**base, "progress": False, "results_dir": "b"})
    assert run_id(base) != run_id({**base, "seed": 1})
    assert run_id(base) != run_id({**base, "params": {"value": 2.0}})


def test_save_then_done_and_table(tmp_path):
    store = ExperimentStore(tmp_path, "toy")
    assert not store.is_done("a")
    store.save("a", _record("a", value=1.0), pd.DataFrame({"metric": ["m"], "value": [1.5]}))
    store.save("b", _record("b", "failed", value=2.0), pd.DataFrame())
    assert store.is_done("a") and store.is_done("b")
    table = store.write_table()
    assert list(table["run_id"]) == ["a", "b"]
    assert list(table["status"]) == ["ok", "failed"]
    assert table.loc[1, "metric"] == "run_status"
    assert pd.read_csv(store.table_path).shape == table.shape


def test_stray_temporary_files_are_ignored(tmp_path):
    store = ExperimentStore(tmp_path, "toy")
    store.runs.mkdir(parents=True)
    (store.runs / ".x.json.123.tmp").write_text("{half")
    assert store.records() == []
    store.save("a", _record("a"), pd.DataFrame({"metric": ["m"], "value": [1.0]}))
    assert [r["run_id"] for r in store.records()] == ["a"]
    assert json.loads((store.runs / "a.json").read_text())["status"] == "ok"


def test_unknown_status_is_rejected(tmp_path):
    with pytest.raises(ValueError, match="status"):
        ExperimentStore(tmp_path, "toy").save("a", _record("a", "weird"), pd.DataFrame())
