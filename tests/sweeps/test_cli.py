"""The command line: every bad input stops before any work (exit 2, a message naming the key, no traceback,
nothing written); runs are stored, skipped when current, retried when failed; the subcommands."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from attnbench import cli
from attnbench.sweeps import registry
from attnbench.sweeps.store import ExperimentStore


def _cli(capsys, *argv: str) -> tuple[int, str]:
    code = cli.main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out + captured.err


BAD_COMMAND_LINES = [
    (["experiment=toy", "params.valeu=2"], "unknown key 'params.valeu'. Allowed keys here: value, width"),
    (["experiment=toy", "+params.foo=1"], "unknown key 'params.foo'"),
    (["experiment=toy", "params.width=abc"], "params.width: expected integer, got 'abc'"),
    (["experiment=toy", "params.value=abc"], "params.value: expected float, got 'abc'"),
    (["experiment=toy", "progress=maybe"], "progress: expected true or false, got 'maybe'"),
    (["experiment=toy", "rerun=perhaps"], "rerun: expected true or false"),
    (["experiment=toy", "params.width=-3"], "params.width: got -3; allowed: >= 1"),
    (["experiment=toy", "params.width=0"], "params.width: got 0; allowed: >= 1"),
    (["experiment=toy", "params.sleep=-1"], "params.sleep: got -1.0; allowed: >= 0"),
    (["experiment=toy", "params.value=nan"], "params.value: got NaN"),
    (["experiment=toy", "params.sizes=[]"], "params.sizes: must be a non-empty list"),
    (["experiment=toy", "params.sizes=[0]"], "params.sizes: got 0; allowed: >= 1"),
    (["experiment=toy", "params.mode=explode"], "params.mode: got 'explode'; allowed: one of ok, diverge, fail"),
    (["experiment=nosuch"], "experiment"),
    (["experiment=toy", "profile=huge"], "profile: unknown value 'huge'"),
    (["experiment=toy", "device=tpu"], "device: got 'tpu'; allowed: cpu, cuda, cuda:N"),
    (["experiment=toy", "device=cuda:x"], "device: got 'cuda:x'"),
    (["experiment=toy", "device=cuda"], "device: 'cuda' requested but no CUDA device is present"),
    (["experiment=toy", "threads=0"], "threads: got 0; allowed: >= 1"),
    (["experiment=toy", "seed=abc"], "seed: expected integer, got 'abc'"),
    (["experiment=toy", "nokey=1"], "unknown key 'nokey'"),
    (["experiment=toy", "params.width=2", "params=["], "cannot parse the command line"),
    (["-m", "experiment=toy", "params.width=2,0"], "params.width: got 0; allowed: >= 1"),
    (["-m", "experiment=toy", "params.width=2,abc"], "params.width: expected integer, got 'abc'"),
    (["-m", "experiment=toy", "params.mode=ok,explode"], "params.mode: got 'explode'"),
    (["-m", "experiment=toy", "params.value=1,nan"], "params.value: got NaN"),
    (["-m", "experiment=toy", "params.sizes=[1],[]"], "params.sizes: must be a non-empty list"),
    (["-m", "experiment=toy", "profile=quick,paper"], "profile: cannot be swept in one multirun"),
    (["-m", "experiment=toy,toy", "params.width=2"], "experiment: cannot be swept in one multirun"),
    (["-m", "experiment=toy", "+params.foo=1,2"], "unknown key 'params.foo'"),
    (["-m", "experiment=toy", "params.valeu=1,2"], "unknown key 'params.valeu'"),
    (["-m", "experiment=toy", "progress=true,maybe"], "progress: expected true or false"),
]


@pytest.mark.parametrize(("argv", "expected"), BAD_COMMAND_LINES, ids=[" ".join(a) for a, _ in BAD_COMMAND_LINES])
def test_bad_command_line_stops_before_work_with_a_named_key(capsys, tmp_path, argv, expected):
    results = tmp_path / "results"
    code, output = _cli(capsys, *argv, f"results_dir={results}")
    assert code == 2, output
    assert expected in output
    assert "Traceback" not in output
    assert not results.exists()


def test_a_combination_of_values_is_checked_at_every_sweep_point(capsys, tmp_path):
    """D2: every point of the product is validated, so no job starts when any combination is impossible."""
    experiment = registry.get("mqar")
    if "seq_len" not in {f for f in experiment.params.__dataclass_fields__}:
        pytest.skip("mqar has no seq_len")
    code, output = _cli(
        capsys,
        "-m",
        "experiment=mqar",
        "params.seq_len=32,8",
        "params.kv_pairs=[2],[8]",
        f"results_dir={tmp_path / 'r'}",
    )
    assert code == 2 and "params." in output and "Traceback" not in output
    assert not (tmp_path / "r").exists()


def test_an_unwritable_results_dir_is_refused_up_front(capsys, tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    code, output = _cli(capsys, "experiment=toy", f"results_dir={blocker / 'results'}")
    assert code == 2 and f"results_dir: {blocker} is a file" in output


def test_a_size_that_cannot_fit_is_refused_with_the_estimate(capsys, tmp_path):
    experiment = registry.get("icl_linear")
    if experiment.estimate_bytes is None:
        pytest.skip("icl_linear has no memory estimate")
    code, output = _cli(capsys, "experiment=icl_linear", "params.seeds=100000000", f"results_dir={tmp_path}")
    assert code == 2 and "GiB" in output and "params" in output


def test_unknown_experiment_lists_the_allowed_ones(capsys, tmp_path):
    _, output = _cli(capsys, "experiment=nosuch", f"results_dir={tmp_path}")
    for name in registry.experiments():
        assert name in output


def test_an_experiment_left_out_for_an_invalid_profile_says_why(monkeypatch):
    from attnbench.sweeps import config, preflight

    config.register_configs()
    monkeypatch.setitem(config.LEFT_OUT, "toy_broken", "its declared profiles are invalid: params.x: must be > 0")
    message = preflight.check(["experiment=toy_broken", "results_dir=/tmp"])
    assert message is not None and "toy_broken was left out: its declared profiles are invalid: params.x" in message


def test_every_experiment_config_composes_for_every_profile():
    from attnbench.sweeps import preflight
    from attnbench.sweeps.config import register_configs

    register_configs()
    for name in registry.experiments():
        for profile in ("tiny", "quick", "paper"):
            assert (
                preflight.check([f"experiment={name}", f"profile={profile}", "results_dir=/tmp"], multirun=True) is None
            ), (name, profile)


def test_run_store_skip_retry_and_exit_codes(capsys, tmp_path):
    args = (f"results_dir={tmp_path}", "progress=false")
    assert _cli(capsys, "experiment=toy", *args)[0] == 0
    code, output = _cli(capsys, "experiment=toy", *args)
    assert code == 0 and "already stored (ok), skipped" in output
    code, output = _cli(capsys, "-m", "experiment=toy", "params.mode=diverge,fail", "params.value=1", *args)
    assert code == 1 and "sweep summary: 1 diverged, 1 failed" in output
    records = {r["config"]["params"]["mode"]: r for r in ExperimentStore(tmp_path, "toy").records()}
    assert records["ok"]["status"] == "ok"
    assert records["diverge"]["status"] == "diverged" and records["diverge"]["diverged_step"] == 7
    assert records["fail"]["status"] == "failed" and "toy failure" in records["fail"]["error"]
    for record in records.values():
        assert {"torch", "numpy", "python", "pyarrow"} <= set(record["versions"]) and record["wall_time_s"] >= 0
        assert {
            "attnbench_version",
            "commit",
            "dirty",
            "fingerprint",
            "threads",
            "host",
            "cpu",
            "device",
            "hydra_output_dir",
            "rows_sha256",
        } <= set(record)
    code, output = _cli(capsys, "-m", "experiment=toy", "params.mode=diverge,fail", "params.value=1", *args)
    assert "already stored (diverged), skipped" in output and "toy failure" in output  # failed runs are retried


def test_the_job_log_holds_the_runs_lines(capsys, tmp_path):
    _cli(capsys, "experiment=toy", f"results_dir={tmp_path}", "progress=false", f"hydra.run.dir={tmp_path / 'out'}")
    assert "toy run" in (tmp_path / "out" / "app.log").read_text()
    (record,) = ExperimentStore(tmp_path, "toy").records()
    assert record["hydra_output_dir"] == str(tmp_path / "out")


def test_declared_sweep_and_same_seed_same_numbers(capsys, tmp_path):
    import attnbench

    for folder in ("a", "b"):
        _cli(capsys, "-m", "experiment=toy", f"results_dir={tmp_path / folder}", "progress=false")
    first, second = (attnbench.load("toy", tmp_path / f) for f in ("a", "b"))
    assert sorted(first["p.value"].unique()) == [1.0, 2.0, 3.0]
    assert first.equals(second)


@pytest.mark.parametrize(("profile", "values", "width"), [("paper", [4.0, 5.0], 5), ("tiny", [1.0, 2.0], 2)])
def test_each_profile_runs_its_own_grid(capsys, tmp_path, profile, values, width):
    import attnbench

    _cli(capsys, "-m", "experiment=toy", f"profile={profile}", f"results_dir={tmp_path}", "progress=false")
    table = attnbench.load("toy", tmp_path, profile=profile)
    assert sorted(table["p.value"].unique()) == values and set(table["p.width"]) == {width}


def test_figures_and_claims_rebuild_from_the_stored_runs(capsys, tmp_path):
    _cli(capsys, "experiment=toy", f"results_dir={tmp_path}", "progress=false")
    code, _ = _cli(capsys, "figures", "--results", str(tmp_path), "--only", "toy")
    assert code == 0
    ledger = (tmp_path / "CLAIMS.md").read_text()
    assert "| `toy.rows` | consistency |" in ledger and "| not run |" in ledger  # values 2, 3 not stored
    code, output = _cli(capsys, "claims", "toy", "--results", str(tmp_path))
    assert code == 0 and "toy.rows" in output and "not run" in output


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (["figures", "--results", "/nonexistent"], "--results: /nonexistent is not a folder"),
        (["claims", "nosuchfamily"], "unknown family 'nosuchfamily'"),
        (["claims", "toy", "--results", "/nonexistent"], "not a folder"),
        (["figures", "--only", "nosuchfamily"], "unknown family"),
        (["describe", "nosuchfamily"], "unknown family"),
        (["reproduce", "--only", "nosuchfamily"], "unknown family"),
    ],
)
def test_subcommands_refuse_unknown_families_and_missing_folders(capsys, argv, expected):
    code, output = _cli(capsys, *argv)
    assert code == 2 and expected in output
    assert not __import__("pathlib").Path("/nonexistent").exists()


@pytest.mark.parametrize("command", ["figures", "claims", "describe", "reproduce", "list"])
def test_subcommands_honour_help(capsys, command):
    with pytest.raises(SystemExit) as exit_:
        cli.main([command, "--help"])
    assert exit_.value.code == 0 and f"attnbench {command}" in capsys.readouterr().out


def test_describe_lists_every_param_with_its_meaning(capsys):
    code, output = _cli(capsys, "describe", "toy")
    assert code == 0
    for line in ("params.width = 3    rows per run; allowed: >= 1", "profile tiny", "grid (-m): params.value=1,2,3"):
        assert line in output


def test_python_dash_m_and_shell_completion(tmp_path):
    help_text = subprocess.run(
        [sys.executable, "-m", "attnbench", "--help"], capture_output=True, text=True, timeout=120
    )
    assert help_text.returncode == 0 and "figures" in help_text.stdout and "icl_linear" in help_text.stdout
    completion = subprocess.run(
        [sys.executable, "-m", "attnbench", "-sc", "install=bash"], capture_output=True, text=True, timeout=120
    )
    assert completion.returncode == 0 and "unknown key" not in completion.stderr
    assert "complete" in completion.stdout


@pytest.mark.parametrize("launcher", ["joblib", "submitit_local"])
def test_parallel_and_cluster_launchers(tmp_path, launcher):
    extra = [f"hydra/launcher={launcher}", f"hydra.sweep.dir={tmp_path / 'multirun'}"]
    if launcher == "joblib":
        extra.append("hydra.launcher.n_jobs=2")
    command = [
        sys.executable,
        "-m",
        "attnbench",
        "-m",
        "experiment=toy",
        f"results_dir={tmp_path}",
        "progress=false",
        *extra,
    ]
    result = subprocess.run(command, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-2000:]
    records = list(ExperimentStore(tmp_path, "toy").records())
    assert sorted(r["config"]["params"]["value"] for r in records) == [1.0, 2.0, 3.0]
    assert all(r["status"] == "ok" and r["threads"] == 1 for r in records)
    assert json.loads(json.dumps(records))  # records are plain JSON


def test_every_experiment_module_imports():
    assert registry.broken() == {}


def test_figures_copy_the_ledger_into_the_readme_markers(capsys, tmp_path):
    readme = tmp_path / "README.md"
    readme.write_text("intro\n<!-- claims:start -->\nold\n<!-- claims:end -->\noutro\n")
    _cli(capsys, "experiment=toy", f"results_dir={tmp_path}", "progress=false")
    assert _cli(capsys, "figures", "--results", str(tmp_path), "--only", "toy", "--readme", str(readme))[0] == 0
    text = readme.read_text()
    assert text.startswith("intro\n<!-- claims:start -->\n**") and text.endswith("<!-- claims:end -->\noutro\n")
    assert "\nold\n" not in text and "`toy.rows`" in text


def test_a_figure_that_cannot_be_drawn_never_stops_the_ledger(capsys, tmp_path):
    """D10: a valid store built with params.heads=[1] (icl_linear's figures need no 2-head rows either)."""
    assert (
        _cli(
            capsys,
            "experiment=icl_linear",
            "profile=tiny",
            "params.heads=[1]",
            f"results_dir={tmp_path}",
            "progress=false",
        )[0]
        == 0
    )
    code, output = _cli(capsys, "figures", "--results", str(tmp_path))
    ledger = (tmp_path / "CLAIMS.md").read_text()
    assert "### icl_linear" in ledger and "### scan_snap" in ledger
    assert code == 0 or "figures not drawn for" in output


def test_a_declared_grid_value_that_is_not_stored_keeps_a_claim_from_passing():
    """A scope split by a swept key and a column the grid does not sweep still expects every swept value."""
    import pandas as pd

    from attnbench.sweeps.experiments.base import Claim, Scope, Tolerance, Verdict
    from attnbench.sweeps.ledger import evaluate
    from attnbench.sweeps.store import StoreView

    claim = Claim(
        "toy.mixed",
        "rows exist",
        "derived",
        "consistency",
        Scope(cells=("p.value", "seed")),
        Tolerance("exact", "derived"),
        lambda rows: Verdict("pass", "rows", f"{len(rows)}"),
    )
    rows = pd.DataFrame(
        {
            "run_id": "a",
            "status": "ok",
            "stale": False,
            "p.value": [1.0, 1.0],
            "seed": [0, 1],
            "metric": "m",
            "value": 0.0,
        }
    )
    result = evaluate(claim, StoreView(rows), {"value": "1,2"})
    assert result.verdict == "not run" and [c.label for c in result.cells] == [
        "value=1, seed=0",
        "value=1, seed=1",
        "value=2",
    ]
    assert evaluate(claim, StoreView(rows), {"value": "1"}).verdict == "pass"
