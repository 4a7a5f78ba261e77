"""The learning-curve saturation read-out of the token claims (`attnbench.sweeps.token_claims.saturation`)."""

from __future__ import annotations

import pandas as pd
import pytest

from attnbench.sweeps.token_claims import PLATEAU, saturation, seed_curve

STEPS = [80 * k for k in range(1, 11)]  # curve_steps(800, 10)


def _curve(values: list[float]) -> pd.Series:
    return pd.Series(values, index=STEPS)


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


def test_the_cut_off_is_inclusive_and_a_late_excursion_unsettles_the_curve() -> None:
    assert seed_curve(0, _curve([0.5 + PLATEAU] * 9 + [0.5])).settled_at == 80
    assert seed_curve(0, _curve([0.5] * 8 + [0.6, 0.5])).settled_at == 800


def _table(curves: dict[tuple[float, int], list[float]], selected: float) -> pd.DataFrame:
    rows = [
        {"metric": "val_accuracy_curve", "model": "softmax", "width": 8, "lr": lr, "seed": seed, "step": s, "value": v}
        for (lr, seed), values in curves.items()
        for s, v in zip(STEPS[: len(values)], values, strict=False)
    ]
    rows += [
        {"metric": "test_accuracy", "model": "softmax", "width": 8, "lr": selected, "seed": seed, "value": 0.5}
        for seed in (0, 1)
    ]
    return pd.DataFrame(rows)


def test_saturation_reads_only_the_selected_lr() -> None:
    rising = [0.1 * k for k in range(1, 11)]
    curves = {(1e-2, 0): [0.5] * 10, (1e-2, 1): [0.6] * 10, (1e-3, 0): rising, (1e-3, 1): rising}
    assert saturation(_table(curves, 1e-2), ["width"], "softmax") == (
        f"softmax curves saturated (every seed within {PLATEAU} of its final accuracy from step 80 of 800)"
    )
    text = saturation(_table(curves, 1e-3), ["width"], "softmax")
    assert text.startswith("softmax curves not saturated (seeds 0, 1 within") and "+0.500, +0.500" in text


def test_saturation_names_a_curve_that_stops_early_and_a_missing_one() -> None:
    table = _table({(1e-2, 0): [0.5] * 10, (1e-2, 1): [0.5] * 6}, 1e-2)
    assert "seeds [1] stop early" in saturation(table, ["width"], "softmax")
    assert saturation(table, ["width"], "linear") == "linear: no learning curve stored"
    assert saturation(table.drop(columns=["lr", "step"]), ["width"], "softmax") == "softmax: no learning curve stored"
