"""Unit tests of the ``icl_linear`` dynamics (`study_dynamics`, `dynamics_checks`): the reduced model's GD is
the flow of L̃ at t = η·step up to the O(1/L) and sampling gaps, and the checks read synthetic rows right."""

from __future__ import annotations

import numpy as np
import pandas as pd
import torch

from attnbench.sweeps.experiments.base import RunContext
from attnbench.sweeps.experiments.icl_linear import dynamics_checks as c
from attnbench.sweeps.experiments.icl_linear.study_dynamics import reduced_training_rows, stall_rows
from attnbench.tasks.icl_linear import IclLinearConfig

CTX = RunContext(seed=0, device=torch.device("cpu"), progress=False, log=lambda _: None)
MU0 = np.array([[0.1, -0.05], [0.08, 0.07]])
OMEGA0 = np.array([[0.02, -0.01], [0.03, 0.02]])


def test_reduced_gd_starts_on_the_flow_and_stays_near_it_for_a_short_time():
    """Over t = 1 (20 steps of 0.05) on 1024 fixed prompts the largest gap is 0.045–0.054 (measured): L̃'s
    O(1/L) terms and the sample; the test asks for < 0.1."""
    rows = pd.DataFrame(
        reduced_training_rows(MU0, OMEGA0, IclLinearConfig(), [16], 1024, lr=0.05, horizon=1.0, log_every=5, ctx=CTX)
    )
    gd = rows[(rows["metric"] == "reduced_mu") & (rows["method"] == "gd")]
    assert sorted(gd["step"].unique()) == [0, 5, 10, 15, 20]
    start = gd[gd["step"] == 0]
    np.testing.assert_allclose(start["value"], start["predicted"], atol=1e-7)
    gaps = rows[rows["metric"] == "max_flow_gap"]["value"]
    assert len(gaps) == 2 and bool((gaps < 0.1).all())
    assert set(rows.loc[rows["metric"] == "max_gd_gap", "batch"]) == {16}


def test_stall_rows_predict_the_valley_for_equal_heads_only():
    rows = pd.DataFrame(stall_rows(MU0, OMEGA0, 5, 40, 0.1))
    assert rows["value"].tolist() == [0.0, 1.0]


def test_emergence_is_the_first_step_from_which_it_holds_to_the_end():
    steps = [0, 10, 20, 30]
    mu = pd.DataFrame({0: [0.1, 1.0, 1.0, 1.0], 1: [0.1, -0.5, -0.99, -1.0]}, index=steps)
    omega = pd.DataFrame({0: [0.1, 0.2, 0.2, 0.2], 1: [0.1, -0.2, -0.2, -0.2]}, index=steps)
    assert c.emergence_step(mu, omega) == 20
    assert np.isnan(c.emergence_step(mu.iloc[:2], omega.iloc[:2]))


def _stall_table(predicted: list[bool], stalled: list[bool]) -> pd.DataFrame:
    rows = []
    for seed, (p, s) in enumerate(zip(predicted, stalled, strict=True)):
        common = {"train_length": 40, "seed": seed, "heads": 2, "model": "softmax"}
        rows.append({"metric": "flows_one_signed", "value": float(p), **common})
        for head, sign in enumerate((1.0, 1.0) if s else (1.0, -1.0)):
            rows.append({"metric": "omega", "value": 0.3 * sign, "head": head, **common})
            rows.append({"metric": "omega_path", "value": 0.01 * sign, "head": head, "step": 0, **common})
    return pd.DataFrame(rows)


def test_stall_prediction_is_judged_against_the_no_information_rate():
    truth = [True] * 10 + [False] * 10
    assert c.stall_predicted(_stall_table(truth, truth)).verdict == "pass"
    one_sided = [True] * 15 + [False] * 5
    verdict = c.stall_predicted(_stall_table(one_sided, truth))
    assert verdict.verdict == "fail" and "15/20 right" in verdict.measured
    assert c.stalls_predicted_one_sidedly(_stall_table(one_sided, truth))
    assert c.stall_predicted(_stall_table(truth[:10] + truth[10:12], truth[:10] + truth[10:12])).verdict == "fail"


def test_known_failure_predicates_on_synthetic_gaps():
    gaps = pd.DataFrame({"seed": [0, 0, 1, 1], "batch": [16, 64, 16, 64], "value": [0.3, 0.1, 0.2, 0.25]})
    assert c.some_seed_not_monotone_in_batch(gaps)
    assert not c.some_seed_not_monotone_in_batch(gaps.assign(value=[0.3, 0.1, 0.2, 0.15]))
    by_length = pd.DataFrame({"seed": [0, 0, 1, 1], "train_length": [20, 40, 20, 40], "value": [0.3, 0.2, 0.2, 0.2]})
    assert c.falls_in_mean(by_length) and not c.falls_in_mean(by_length.assign(value=[0.1, 0.2, 0.2, 0.2]))


def test_a_population_equal_to_a_batch_size_keeps_both_methods():
    rows = pd.DataFrame(
        reduced_training_rows(MU0, OMEGA0, IclLinearConfig(), [64], 64, lr=0.05, horizon=0.1, log_every=1, ctx=CTX)
    )
    assert set(rows.loc[rows["metric"] == "reduced_mu", "method"]) == {"gd", "sgd"}
    assert len(rows[rows["metric"] == "max_gd_gap"]) == len(rows[rows["metric"] == "max_flow_gap"]) == 2
