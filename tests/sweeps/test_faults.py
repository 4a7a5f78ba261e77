"""Fault injection on the store, each at a tiny size (ARCHITECTURE.md, "The store"): SIGKILL at three moments,
two identical sweeps at once, corrupt files, a code change. Nothing is lost, nothing is computed twice, and
nothing stale or corrupt is served."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest

from attnbench.sweeps.store import ExperimentStore

SWEEP = ["params.value=1,2,3,4", "params.sleep=0.4", "progress=false"]


def _sweep(results: Path, *extra: str, env: dict | None = None) -> subprocess.Popen:
    command = [sys.executable, "-m", "attnbench", "-m", "experiment=toy", *SWEEP, f"results_dir={results}", *extra]
    return subprocess.Popen(
        command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True, env=env
    )


def _table(results: Path, experiment: str = "toy") -> pd.DataFrame:
    view = ExperimentStore(results, experiment).view()
    assert view.errors == ()
    return view.rows.sort_values(["run_id", "step"]).reset_index(drop=True)


def _wait_for(condition, timeout: float = 120.0) -> None:
    deadline = time.time() + timeout
    while not condition():
        assert time.time() < deadline, "timed out"
        time.sleep(0.01)


@pytest.fixture(scope="module")
def clean(tmp_path_factory) -> pd.DataFrame:
    results = tmp_path_factory.mktemp("clean")
    assert _sweep(results).wait() == 0
    return _table(results)


@pytest.mark.parametrize("moment", ["before_first_record", "mid_sweep", "after_last_record"])
def test_sigkill_then_resume_equals_an_uninterrupted_sweep(tmp_path, clean, moment):
    runs = tmp_path / "toy" / "runs"
    records = lambda: len(list(runs.glob("*.json"))) if runs.exists() else 0  # noqa: E731
    process = _sweep(tmp_path)
    if moment == "before_first_record":
        _wait_for(lambda: runs.exists() and any(runs.glob("*.lock")))
    else:
        _wait_for(lambda: records() >= (2 if moment == "mid_sweep" else 4))
    os.killpg(process.pid, signal.SIGKILL)
    process.wait()
    if moment == "before_first_record":
        assert records() == 0 and any(runs.glob("*.lock"))
        assert set(ExperimentStore(tmp_path, "toy").view().rows["status"]) == {"killed"}
    assert _sweep(tmp_path).wait() == 0
    pd.testing.assert_frame_equal(_table(tmp_path), clean)
    assert not list(runs.glob("*.lock"))


def _outcomes(sweep_dir: Path) -> list[str]:
    return [json.loads(p.read_text())["status"] for p in sweep_dir.glob("*/attnbench_outcome.json")]


def test_two_identical_sweeps_compute_every_run_exactly_once(tmp_path, clean):
    first, second = (_sweep(tmp_path / "results", f"hydra.sweep.dir={tmp_path / name}") for name in ("a", "b"))
    assert first.wait() == 0 and second.wait() == 0
    outcomes = _outcomes(tmp_path / "a") + _outcomes(tmp_path / "b")
    assert outcomes.count("ok") == 4 and len(outcomes) == 8
    assert set(outcomes) <= {"ok", "busy", "skipped"}
    pd.testing.assert_frame_equal(_table(tmp_path / "results"), clean)


def test_a_corrupt_run_file_is_named_and_its_claims_get_error(tmp_path, capsys):
    from attnbench import cli

    assert _sweep(tmp_path).wait() == 0
    store = ExperimentStore(tmp_path, "toy")
    victim = store.path(store.run_ids()[0], "parquet")
    victim.write_bytes(victim.read_bytes()[:100])
    assert cli.main(["claims", "toy", "--results", str(tmp_path)]) == 0
    assert "error" in capsys.readouterr().out
    from attnbench.sweeps.ledger import ledger

    (result,) = ledger(tmp_path, "toy").results
    assert result.verdict == "error" and str(victim) in result.note


def test_a_code_change_makes_runs_stale_and_a_sweep_recomputes_them(tmp_path):
    """D9: a one-constant edit to the module that computes the runs."""
    module = tmp_path / "code" / "toy_changing.py"
    module.parent.mkdir()
    source = (Path(__file__).parent / "toy_experiment.py").read_text().replace('name="toy"', 'name="toy_changing"')
    source = source.replace('"toy.rows"', '"toy_changing.rows"')
    module.write_text(source)
    env = {
        **os.environ,
        "ATTNBENCH_EXPERIMENTS": "toy_changing",
        "PYTHONPATH": os.pathsep.join([str(module.parent), os.environ.get("PYTHONPATH", "")]),
    }
    results = tmp_path / "results"
    command = [sys.executable, "-m", "attnbench", "experiment=toy_changing", "progress=false", f"results_dir={results}"]
    claims = [sys.executable, "-m", "attnbench", "claims", "toy_changing", "--results", str(results)]

    def run(*extra: str) -> subprocess.CompletedProcess:
        return subprocess.run([*command, *extra], env=env, capture_output=True, text=True, timeout=120)

    assert run().returncode == 0
    before = _table(results, "toy_changing")["value"].tolist()
    module.write_text(source.replace("params.value**2 + 0.01 * n", "params.value**2 + 0.02 * n"))
    shutil.rmtree(module.parent / "__pycache__", ignore_errors=True)
    assert "stale" in subprocess.run(claims, env=env, capture_output=True, text=True, timeout=120).stdout
    kept = run("reuse_stale=true")
    assert "already stored (ok), skipped" in kept.stderr + kept.stdout
    recomputed = run()
    assert "stored by other code" in recomputed.stderr + recomputed.stdout
    after = _table(results, "toy_changing")["value"].tolist()
    assert after != before and not _table(results, "toy_changing")["stale"].any()
