"""Unit tests of the ``softmax_regression`` study (its claims are judged by tests/claims/test_claims.py)."""

from __future__ import annotations

import pytest
import torch

from attnbench.errors import ConfigError
from attnbench.sweeps.experiments.base import TABLE_COLUMNS, RunContext
from attnbench.sweeps.experiments.softmax_regression import EXPERIMENT
from attnbench.sweeps.experiments.softmax_regression.adversarial import (
    adversarial_data_shift_ratio,
    adversarial_weight_shift_ratio,
)
from attnbench.sweeps.experiments.softmax_regression.figures import draw
from attnbench.sweeps.experiments.softmax_regression.study import SoftmaxRegressionParams, run
from attnbench.tasks.softmax_regression import SoftmaxRegressionConfig, spectral_norm
from attnbench.theory.softmax_regression import local_weight_shift_constant

ROUND_OFF = 1e-12


def test_table_has_contract_columns_and_the_linked_figure(tmp_path):
    params = SoftmaxRegressionParams(
        rows_grid=[10],
        radius_grid=[1.0],
        seeds=1,
        steps=4,
        eval_every=2,
        test_size=16,
        bound_trials=8,
        adversarial_steps=2,
        adversarial_starts=1,
    )
    table = run(params, RunContext(seed=0, device=torch.device("cpu"), progress=False, log=lambda _: None))
    assert set(TABLE_COLUMNS) <= set(table.columns)
    written = {path.name for path in draw(table, tmp_path)}
    assert {claim.figure for claim in EXPERIMENT.claims if claim.figure} <= written


@pytest.mark.parametrize(("field", "value"), [("rows_grid", [1]), ("radius_grid", []), ("seeds", 0)])
def test_bad_params_name_the_key(field, value):
    with pytest.raises(ConfigError, match=f"params.{field}"):
        SoftmaxRegressionParams(**{field: value})


def test_adversarial_perturbations_respect_bounds_and_reach_the_local_supremum():
    """The optimiser finds (almost) the exact local sup ||J A|| of the weight-shift ratio; all <= 1 (fp64)."""
    data = SoftmaxRegressionConfig(rows=12, dim=4, radius=3.0, batch_size=4).sample("train", 0)
    generator = torch.Generator().manual_seed(0)
    for i in range(2):
        matrix, x = data.matrix[i], data.x_star[i]
        local = float(local_weight_shift_constant(matrix, x) / (0.5 * spectral_norm(matrix)))
        weight_ratio = adversarial_weight_shift_ratio(matrix, x, 1e-4, generator=generator, steps=80)
        assert 0.98 * local <= weight_ratio <= 1 + ROUND_OFF
        assert adversarial_data_shift_ratio(matrix, x, 0.5, generator=generator, steps=30) <= 1 + ROUND_OFF
