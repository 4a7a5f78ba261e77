"""The command line: bad configs stop before any work with a message naming the key; runs are stored,
skipped when done, and a diverged or failed run is recorded without stopping the sweep."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest

from attnbench import cli
from attnbench.sweeps import registry
from attnbench.sweeps.store import ExperimentStore


def _cli(capsys, *argv: str) -> tuple[int, str]:
    code = cli.main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out + captured.err


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (["experiment=toy", "params.valeu=2"], "unknown key 'params.valeu'. Allowed keys here: value, width"),
        (["experiment=toy", "params.width=abc"], "params.width: expected int"),
        (["experiment=toy", "params.width=-3"], "params.width: must be >= 1, got -3"),
        (["experiment=toy", "params.mode=explode"], "params.mode: got 'explode'; allowed: ok, diverge, fail"),
        (["experiment=nosuch"], "experiment"),
        (["experiment=toy", "profile=huge"], "profile"),
        (["experiment=toy", "device=tpu"], "device: got 'tpu'; allowed: cpu, cuda, cuda:N"),
        (["-m", "experiment=toy", "params.width=2,0"], "params.width: must be >= 1, got 0"),
        (["-m", "experiment=toy", "profile=quick,paper"], "profile: cannot be swept in one multirun"),
        (["-m", "experiment=toy,toy", "params.width=2"], "experiment: cannot be swept in one multirun"),
    ],
)
def test_bad_config_stops_before_work_with_a_named_key(capsys, tmp_path, argv, expected):
    code, output = _cli(capsys, *argv, f"results_dir={tmp_path}")
    assert code == 2
    assert expected in output
    assert "Traceback" not in output
    assert not (tmp_path / "toy").exists()


def test_unknown_experiment_lists_the_allowed_ones(capsys, tmp_path):
    _, output = _cli(capsys, "experiment=nosuch", f"results_dir={tmp_path}")
    for name in registry.experiments():
        assert name in output


def test_every_experiment_config_composes_for_every_profile(capsys, tmp_path):
    from attnbench.sweeps import preflight
    from attnbench.sweeps.config import register_configs

    register_configs()
    for name, experiment in registry.experiments().items():
        for profile in ("quick", "paper"):
            grid = [f"params.{key}={values}" for key, values in experiment.grid(profile).items()]
            assert preflight.check([f"experiment={name}", f"profile={profile}", *grid]) is None, (name, profile)


def test_run_store_skip_and_failed_runs(capsys, tmp_path):
    args = (f"results_dir={tmp_path}", "progress=false")
    assert _cli(capsys, "experiment=toy", *args)[0] == 0
    code, output = _cli(capsys, "experiment=toy", *args)
    assert code == 0 and "already stored, skipped" in output
    _cli(capsys, "-m", "experiment=toy", "params.mode=diverge,fail", *args)
    records = {r["config"]["params"]["mode"]: r for r in ExperimentStore(tmp_path, "toy").records()}
    assert records["ok"]["status"] == "ok"
    assert records["diverge"]["status"] == "diverged" and records["diverge"]["diverged_step"] == 7
    assert records["fail"]["status"] == "failed" and "toy failure" in records["fail"]["error"]
    for record in records.values():
        assert {"torch", "numpy", "python"} <= set(record["versions"]) and record["wall_time_s"] >= 0
    table = pd.read_csv(tmp_path / "toy" / "table.csv")
    assert set(table["status"]) == {"ok", "diverged", "failed"}


def test_declared_sweep_and_same_seed_same_numbers(capsys, tmp_path):
    for folder in ("a", "b"):
        _cli(capsys, "-m", "experiment=toy", f"results_dir={tmp_path / folder}", "progress=false")
    first, second = (pd.read_csv(tmp_path / f / "toy" / "table.csv") for f in ("a", "b"))
    assert sorted(first["p.value"].unique()) == [1.0, 2.0, 3.0]
    pd.testing.assert_frame_equal(first, second)


def test_paper_profile_runs_its_own_grid(capsys, tmp_path):
    _cli(capsys, "-m", "experiment=toy", "profile=paper", f"results_dir={tmp_path}", "progress=false")
    table = pd.read_csv(tmp_path / "toy" / "table.csv")
    assert sorted(table["p.value"].unique()) == [4.0, 5.0] and set(table["p.width"]) == {5}


def test_figures_and_claims_rebuild_from_stored_tables(capsys, tmp_path):
    _cli(capsys, "experiment=toy", f"results_dir={tmp_path}", "progress=false")
    code, output = _cli(capsys, "figures", "--results", str(tmp_path))
    assert code == 0
    ledger = (tmp_path / "CLAIMS.md").read_text().splitlines()
    assert ledger[0].startswith("**") and "claims:**" in ledger[0]
    assert ledger[2] == "| id | family | claim | source | predicted | measured | verdict | figure |"
    assert any(line.startswith("| `toy.rows` | toy |") and "| pass |" in line for line in ledger)
    code, output = _cli(capsys, "claims", "toy", "--results", str(tmp_path))
    assert code == 0 and "toy.rows" in output and "pass" in output


def _sweep(results: Path, *extra: str) -> subprocess.Popen:
    command = [sys.executable, "-m", "attnbench.cli", "-m", "experiment=toy", "params.value=1,2,3,4",
               "params.sleep=0.3", f"results_dir={results}", "progress=false", *extra]
    return subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)


def test_sigkilled_sweep_resumes_with_nothing_lost_or_duplicated(tmp_path):
    runs = tmp_path / "killed" / "toy" / "runs"
    process = _sweep(tmp_path / "killed")
    deadline = time.time() + 120
    while len(list(runs.glob("*.json"))) < 2 and time.time() < deadline:
        time.sleep(0.1)
    os.killpg(process.pid, signal.SIGKILL)
    process.wait()
    done_before = len(list(runs.glob("*.json")))
    assert 2 <= done_before < 4
    assert _sweep(tmp_path / "killed").wait() == 0
    assert _sweep(tmp_path / "clean").wait() == 0
    killed = pd.read_csv(tmp_path / "killed" / "toy" / "table.csv")
    clean = pd.read_csv(tmp_path / "clean" / "toy" / "table.csv")
    assert len(list(runs.glob("*.json"))) == 4
    pd.testing.assert_frame_equal(killed, clean)


@pytest.mark.parametrize("launcher", ["joblib", "submitit_local"])
def test_parallel_and_cluster_launchers(tmp_path, launcher):
    extra = [f"hydra/launcher={launcher}", f"hydra.sweep.dir={tmp_path / 'multirun'}"]
    if launcher == "joblib":
        extra.append("hydra.launcher.n_jobs=2")
    command = [sys.executable, "-m", "attnbench.cli", "-m", "experiment=toy", f"results_dir={tmp_path}",
               "progress=false", *extra]
    result = subprocess.run(command, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-2000:]
    records = ExperimentStore(tmp_path, "toy").records()
    assert sorted(r["config"]["params"]["value"] for r in records) == [1.0, 2.0, 3.0]
    assert all(r["status"] == "ok" for r in records)
    assert json.loads(json.dumps(records))  # records are plain JSON


def test_every_experiment_module_imports():
    assert registry.broken() == {}


def test_figures_copy_the_ledger_into_the_readme_markers(capsys, tmp_path):
    readme = tmp_path / "README.md"
    readme.write_text("intro\n<!-- claims:start -->\nold\n<!-- claims:end -->\noutro\n")
    _cli(capsys, "experiment=toy", f"results_dir={tmp_path}", "progress=false")
    assert _cli(capsys, "figures", "--results", str(tmp_path), "--readme", str(readme))[0] == 0
    text = readme.read_text()
    assert text.startswith("intro\n<!-- claims:start -->\n**") and text.endswith("<!-- claims:end -->\noutro\n")
    assert "\nold\n" not in text and "`toy.rows`" in text
