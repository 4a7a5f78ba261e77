"""Claim tests of LLA test-time regression (`attnbench.sweeps.experiments.lla_test_time_regression`).

The experiment runs once per module at the quick profile with d ∈ {4, 8} instead of {4, 16} and without the
stationary control (L = 1024, S ∈ {64, 256}, 8 seeds x 8 streams; about 25 s on one core; the quick profile
itself passes all three claims as well). Each ordering is a one-sided Student-t
test of paired log-MSE gaps over seeds at level `FALSE_FAILURE_RATE` = 1% per comparison (stated in the
experiment); all seeds are fixed, so the outcome is deterministic and cannot flake.
"""

from __future__ import annotations

import pytest
from claim_testing import assert_claim_passes, claim_params, run_quietly

from attnbench.sweeps.experiments.base import ConfigError
from attnbench.sweeps.experiments.lla_test_time_regression import EXPERIMENT, LLATestTimeRegressionParams


@pytest.fixture(scope="module")
def table():
    return run_quietly(EXPERIMENT, LLATestTimeRegressionParams(dims=[4, 8], stationary_control=False))


@pytest.mark.parametrize("claim_id", claim_params(EXPERIMENT))
def test_claim(table, claim_id):
    assert_claim_passes(EXPERIMENT, table, claim_id)


def test_bayes_oracle_is_a_lower_reference(table):
    """The segment-aware Bayes predictor is below every competitor overall (it knows the boundaries)."""
    overall = table.groupby("estimator").value.mean()
    assert overall.idxmin() == "bayes"


def test_figures_are_drawn_from_the_table(table, tmp_path):
    paths = EXPERIMENT.draw(table, tmp_path)
    assert len(paths) == 2 and all(path.exists() and path.stat().st_size > 0 for path in paths)


@pytest.mark.parametrize(("field", "value"), [("seeds", 1), ("segment_lengths", [1024]), ("key_shift", 0.0),
                                              ("dims", [])])
def test_bad_params_raise(field, value):
    with pytest.raises(ConfigError, match=field):
        LLATestTimeRegressionParams(**{field: value})
