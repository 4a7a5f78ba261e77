"""The learning-curve saturation read-out of the token claims (`attnbench.sweeps.token_claims.saturation`)."""

from __future__ import annotations

import math

import pandas as pd
import pytest

from attnbench.sweeps.experiments.mqar.claims import SOFTMAX_LEARNS
from attnbench.sweeps.token_claims import PLATEAU, saturation, seed_curve, selected_curves

STEPS = [80 * k for k in range(1, 11)]  # curve_steps(800, 10)


def _curve(values: list[float], steps: list[int] = STEPS) -> pd.Series:
    return pd.Series(values, index=steps[: len(values)])


def test_a_flat_curve_is_saturated_from_its_first_point() -> None:
    curve = seed_curve(0, _curve([0.5] * 10))
    assert (curve.settled_at, curve.half, curve.last, curve.change) == (80, 400, 800, 0.0)
    assert curve.saturated


def test_a_curve_settling_at_half_of_training_is_saturated_and_one_settling_later_is_not() -> None:
    at_half = seed_curve(0, _curve([0.1, 0.2, 0.3, 0.4, 0.9, 0.9, 0.91, 0.9, 0.9, 0.9]))
    assert at_half.settled_at == 400 and at_half.saturated
    late = seed_curve(1, _curve([0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 0.9]))
    assert late.settled_at == 720 and not late.saturated
    assert late.change == pytest.approx(0.4)
    assert late.describe() == "seed 1 settled from step 720, +0.400 over steps 400→800"


def test_the_cut_off_is_inclusive_and_a_curve_settled_only_at_its_last_point_is_not_settled() -> None:
    assert seed_curve(0, _curve([0.5 + PLATEAU] * 9 + [0.5])).settled_at == 80
    unsettled = seed_curve(0, _curve([0.5] * 8 + [0.6, 0.5]))
    assert unsettled.settled_at is None and not unsettled.saturated
    assert unsettled.describe().startswith("seed 0 not settled, +0.000")


def test_the_half_step_is_the_last_recorded_step_at_or_below_half_of_training() -> None:
    curve = seed_curve(0, _curve([0.2, 0.5, 0.5, 0.5], steps=[300, 700, 1100, 1500]))
    assert (curve.half, curve.last, curve.settled_at) == (700, 1500, 700)
    assert curve.saturated


def test_too_short_curves_and_points_that_are_not_finite() -> None:
    single = seed_curve(0, _curve([0.5]))
    assert single.half is None and math.isnan(single.change) and not single.saturated
    assert single.describe() == "seed 0 not settled; too short to judge"
    late_only = seed_curve(0, _curve([0.5, 0.5], steps=[700, 800]))
    assert late_only.half is None and not late_only.saturated
    assert seed_curve(0, _curve([0.5] * 9 + [math.nan])).last == 720


def _rows(curves: dict[tuple[float, int], list[float]], selected: dict[int, float], **common: object) -> list[dict]:
    cell = {"model": "softmax", "width": 8, **common}
    rows = [
        {"metric": "val_accuracy_curve", **cell, "lr": lr, "seed": seed, "step": s, "value": v}
        for (lr, seed), values in curves.items()
        for s, v in zip(STEPS, values, strict=False)
    ]
    return rows + [
        {"metric": "test_accuracy", **cell, "lr": lr, "seed": seed, "value": 0.5} for seed, lr in selected.items()
    ]


RISING = [0.1 * k for k in range(1, 11)]
CURVES = {(1e-2, 0): [0.5] * 10, (1e-2, 1): [0.6] * 10, (1e-3, 0): RISING, (1e-3, 1): RISING}


def test_saturation_reads_only_the_selected_lr() -> None:
    flat = pd.DataFrame(_rows(CURVES, {0: 1e-2, 1: 1e-2}))
    assert saturation(flat, ["width"], "softmax") == (
        f"softmax curves saturated (every seed within {PLATEAU} of its final accuracy from step 80 of 800)"
    )
    rising = pd.DataFrame(_rows(CURVES, {0: 1e-3, 1: 1e-3}))
    assert saturation(rising, ["width"], "softmax") == (
        f"softmax curves not saturated (within {PLATEAU} of the final accuracy: seed 0 not settled, +0.500 over "
        "steps 400→800; seed 1 not settled, +0.500 over steps 400→800)"
    )


def test_a_seed_scored_at_two_lrs_is_dropped_and_a_point_stored_twice_counts_once() -> None:
    two_runs = pd.DataFrame(_rows(CURVES, {0: 1e-2, 1: 1e-2}) + _rows(CURVES, {0: 1e-3}))
    assert set(selected_curves(two_runs, ["width"])["seed"]) == {1}
    doubled = pd.DataFrame(_rows(CURVES, {0: 1e-2, 1: 1e-2}) * 2)
    assert len(selected_curves(doubled, ["width"])) == 20


def test_the_stage_keeps_an_lr_search_out_of_the_scored_curves() -> None:
    scored = _rows({(1e-2, 0): [0.5] * 10, (1e-2, 1): [0.5] * 10}, {0: 1e-2, 1: 1e-2}, stage="evaluation")
    search = _rows({(1e-2, 0): RISING, (1e-2, 1): RISING}, {}, stage="lr_search")
    table = pd.DataFrame(scored + search)
    assert set(selected_curves(table, ["width"])["stage"]) == {"evaluation"}
    assert saturation(table, ["width"], "softmax").startswith("softmax curves saturated")


def test_where_restricts_the_curves_and_a_missing_curve_is_said_so() -> None:
    table = pd.DataFrame(_rows(CURVES, {0: 1e-3, 1: 1e-2}))
    assert "seed 1" not in saturation(table, ["width"], "softmax", {"seed": 0})
    assert saturation(table, ["width"], "linear") == "linear: no learning curve stored"
    assert saturation(table.drop(columns=["lr", "step"]), ["width"], "softmax") == "softmax: no learning curve stored"


def test_only_a_failing_cell_carries_the_note() -> None:
    failing = pd.DataFrame(_rows(CURVES, {0: 1e-3, 1: 1e-3}, kv_pairs=3))
    assert SOFTMAX_LEARNS.check(failing).note.startswith("softmax curves not saturated")
    recalls = failing.assign(value=failing["value"].where(failing["metric"] != "test_accuracy", 1.0))
    verdict = SOFTMAX_LEARNS.check(recalls)
    assert (verdict.verdict, verdict.note) == ("pass", "")


def test_the_metric_picks_which_learning_curve_is_read() -> None:
    """State tracking stores two curves per seed (validation at the test lengths, and in distribution): the
    read-out judges the one named, here a flat in-distribution curve beside a rising validation curve."""
    rising = pd.DataFrame(_rows(CURVES, {0: 1e-3, 1: 1e-3}))
    flat = rising[rising["metric"] == "val_accuracy_curve"].assign(metric="id_accuracy_curve", value=0.9)
    table = pd.concat([rising, flat], ignore_index=True)
    assert saturation(table, ["width"], "softmax").startswith("softmax curves not saturated")
    assert saturation(table, ["width"], "softmax", metric="id_accuracy_curve").startswith("softmax curves saturated")
