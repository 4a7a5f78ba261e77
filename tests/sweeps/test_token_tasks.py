"""The MQAR and state-tracking experiments: params validation, divergence handling, the figure, and the
claim checks on hand-made cells (the claims themselves are judged by tests/claims/test_claims.py)."""

from __future__ import annotations

import pandas as pd
import pytest
import torch

from attnbench.errors import ConfigError
from attnbench.sweeps import registry, token_training
from attnbench.sweeps.experiments.base import TABLE_COLUMNS, RunContext
from attnbench.sweeps.experiments.mqar.figures import summary as mqar_summary
from attnbench.sweeps.experiments.state_tracking.claims import LLA_MATCHES_SOFTMAX
from attnbench.sweeps.experiments.state_tracking.figures import summary as state_summary
from attnbench.sweeps.grid import values
from attnbench.sweeps.training import Diverged

FAMILIES = ("mqar", "state_tracking")
CONTEXT = RunContext(seed=0, device=torch.device("cpu"), progress=False, log=lambda _: None)


@pytest.mark.parametrize("name", FAMILIES)
@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("models", ["mamba"]),
        ("steps", 0),
        ("seeds", 1),
        ("lrs", [-1.0]),
        ("lrs", []),
        ("eval_batches", 0),
        ("batch_size", 0),
    ],
)
def test_bad_params_name_the_key(name: str, key: str, value: object) -> None:
    """Every count has its lower bound and every choice its allowed values (issue 13, D1)."""
    with pytest.raises(ConfigError, match=f"params.{key}"):
        registry.get(name).params(**{key: value})


@pytest.mark.parametrize(
    ("overrides", "key"),
    [
        ({"widths": [0]}, "params.widths"),
        ({"widths": [3], "heads": 2}, "params.widths"),
        ({"seq_len": 8, "kv_pairs": [8]}, "params.kv_pairs"),
        ({"seq_len": 7}, "params.seq_len"),
        ({"vocab_size": 8, "kv_pairs": [8]}, "params.kv_pairs"),
        ({"max_width": {"lla": 16}}, "params.max_width"),
    ],
)
def test_mqar_refuses_impossible_combinations(overrides: dict, key: str) -> None:
    """Cross-field rules (issue 13, D2: the sweep point seq_len=8, kv_pairs=[8] is refused before any work)."""
    with pytest.raises(ConfigError, match=key):
        registry.get("mqar").params(**overrides)
    registry.get("mqar").params(seq_len=8, kv_pairs=[2])  # the other points of that sweep are valid


@pytest.mark.parametrize(
    ("overrides", "key"),
    [
        ({"train_min_len": 41}, "params.train_min_len"),
        ({"length_bins": [64, 128]}, "params.length_bins"),
        ({"width": 30, "heads": 4}, "params.width"),
        ({"tasks": ["mod_arith"], "train_min_len": 4, "train_max_len": 4}, "params.tasks"),
    ],
)
def test_state_tracking_refuses_impossible_combinations(overrides: dict, key: str) -> None:
    with pytest.raises(ConfigError, match=key):
        registry.get("state_tracking").params(**overrides)


@pytest.fixture
def lla_diverges(monkeypatch: pytest.MonkeyPatch) -> None:
    """Training diverges at step 5 for LLA at every lr >= 1, and trains normally otherwise."""
    train = token_training.train_members

    def fake(members: list, seeds: list, sample: object, **kwargs: object) -> torch.Tensor:
        if "lla" in str(kwargs["desc"]) and float(kwargs["lr"]) >= 1:
            raise Diverged(5, "fake")
        return train(members, seeds, sample, **kwargs)

    monkeypatch.setattr(token_training, "train_members", fake)


@pytest.mark.usefixtures("lla_diverges")
@pytest.mark.parametrize("name", FAMILIES)
def test_a_run_whose_every_lr_diverged_raises_with_its_rows(name: str) -> None:
    """Issue 13, D6: no NaN row stored as ok; the run raises `Diverged` with the step, keeping every row
    measured before it and the diverged steps."""
    experiment = registry.get(name)
    params = experiment.params_of("tiny", steps=2, models=["softmax", "lla"], lrs=[1.0, 2.0])
    with pytest.raises(Diverged) as raised:
        experiment.run(params, CONTEXT)
    assert raised.value.step == 5
    rows = raised.value.rows
    diverged = rows[rows["metric"] == "diverged"]
    assert sorted(diverged["lr"]) == [1.0, 2.0]
    assert (diverged["value"] == 5).all() and (diverged["model"] == "lla").all()
    assert (rows.loc[rows["metric"] == "test_accuracy", "model"] == "softmax").all()


@pytest.mark.usefixtures("lla_diverges")
@pytest.mark.parametrize("name", FAMILIES)
def test_diverged_lrs_beside_a_finite_one_stay_as_rows(name: str) -> None:
    experiment = registry.get(name)
    table = experiment.run(experiment.params_of("tiny", steps=2, models=["lla"], lrs=[1e-3, 1.0]), CONTEXT)
    diverged = table[table["metric"] == "diverged"]
    assert len(diverged) and {tuple(r) for r in diverged[["lr", "value", "model"]].values} == {(1.0, 5.0, "lla")}
    assert (table.loc[table["metric"] == "test_accuracy", "lr"] == 1e-3).all()


@pytest.mark.parametrize("name", FAMILIES)
def test_a_tiny_run_fills_the_table_and_draws_every_claimed_figure(name: str, tmp_path) -> None:
    experiment = registry.get(name)
    models = sorted({m for point in values("models", experiment.grid("quick")["models"]) for m in point})
    table = experiment.run(experiment.params_of("tiny", steps=2, models=models), CONTEXT)
    assert set(TABLE_COLUMNS) - {"predicted", "step"} <= set(table.columns)
    assert {"val_accuracy", "test_accuracy"} <= set(table["metric"])
    assert table.loc[table["metric"] == "test_accuracy", "value"].between(0, 1).all()
    drawn = {path.name for path in experiment.draw(table, tmp_path) if path.exists()}
    assert {claim.figure for claim in experiment.claims} <= drawn


def _parity_cell(accuracy: dict[str, tuple[float, float]]) -> pd.DataFrame:
    """One task's cell: per model (in-distribution, test) accuracy, 3 seeds, one test bin, 1000 tokens each."""
    rows = []
    for model, (id_accuracy, test_accuracy) in accuracy.items():
        for seed in range(3):
            common = {"task": "parity", "model": model, "seed": seed, "scored_tokens": 1000}
            rows.append({"metric": "id_accuracy", "value": id_accuracy, "length_low": 3, "length_high": 40, **common})
            rows.append(
                {"metric": "test_accuracy", "value": test_accuracy, "length_low": 40, "length_high": 128, **common}
            )
    return pd.DataFrame(rows)


@pytest.mark.parametrize(
    ("accuracy", "verdict", "known"),
    [
        ({"softmax": (0.5, 0.5), "lla": (0.5, 0.5)}, "fail", True),  # neither fits: agreement is untested
        ({"softmax": (1.0, 0.5), "lla": (0.5, 0.5)}, "fail", False),  # softmax fits the training lengths, LLA does not
        ({"softmax": (1.0, 0.9), "lla": (1.0, 0.6)}, "fail", False),  # both fit, LLA generalises worse
        ({"softmax": (1.0, 0.5), "lla": (1.0, 0.5)}, "pass", False),  # both fit, neither generalises
        ({"softmax": (1.0, 0.9), "lla": (1.0, 0.9)}, "pass", False),
    ],
)
def test_lla_softmax_agreement_needs_a_learnable_task(accuracy: dict, verdict: str, known: bool) -> None:
    cell = _parity_cell(accuracy)
    assert LLA_MATCHES_SOFTMAX.check(cell).verdict == verdict
    assert LLA_MATCHES_SOFTMAX.known_failure.holds(cell) is known


def test_a_cell_stored_by_two_runs_counts_once() -> None:
    """The same (cell, seed) measurement from two runs (a plain run beside a sweep's jobs) is one seed."""
    cell = _parity_cell({"softmax": (1.0, 0.9), "lla": (0.98, 0.8)})
    doubled = pd.concat([cell, cell], ignore_index=True)
    assert LLA_MATCHES_SOFTMAX.check(doubled) == LLA_MATCHES_SOFTMAX.check(cell)
    assert state_summary(doubled)["n"].eq(3).all()
    recall = pd.DataFrame(
        {
            "metric": "test_accuracy",
            "model": "lla",
            "width": 32,
            "kv_pairs": 2,
            "lr": 3e-3,
            "seed": [0, 1, 2],
            "value": [0.9, 0.5, 0.7],
        }
    )
    assert mqar_summary(pd.concat([recall, recall], ignore_index=True))["n"].tolist() == [3]
