"""Unit tests of the ``softmax_regression`` study (its claims are judged by tests/claims/test_claims.py)."""

from __future__ import annotations

import pytest
import torch

from attnbench.sweeps.experiments.base import TABLE_COLUMNS, ConfigError, RunContext
from attnbench.sweeps.experiments.softmax_regression import EXPERIMENT
from attnbench.sweeps.experiments.softmax_regression.figures import draw
from attnbench.sweeps.experiments.softmax_regression.study import SoftmaxRegressionParams, run


def test_table_has_contract_columns_and_the_linked_figure(tmp_path):
    params = SoftmaxRegressionParams(rows_grid=[10], radius_grid=[1.0], seeds=1, steps=4, eval_every=2,
                                     test_size=16, bound_trials=8, adversarial_steps=2, adversarial_starts=1)
    table = run(params, RunContext(seed=0, device=torch.device("cpu"), progress=False, log=lambda _: None))
    assert set(TABLE_COLUMNS) <= set(table.columns)
    written = {path.name for path in draw(table, tmp_path)}
    assert {claim.figure for claim in EXPERIMENT.claims if claim.figure} <= written


@pytest.mark.parametrize(("field", "value"), [("rows_grid", [1]), ("radius_grid", []), ("seeds", 0)])
def test_bad_params_name_the_key(field, value):
    with pytest.raises(ConfigError, match=f"params.{field}"):
        SoftmaxRegressionParams(**{field: value})
