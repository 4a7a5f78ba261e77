"""Unit tests of the ``icl_linear`` study (its claims are judged by tests/claims/test_claims.py)."""

from __future__ import annotations

import dataclasses

import pandas as pd
import pytest
import torch

from attnbench.errors import ConfigError
from attnbench.sweeps.experiments.base import RunContext
from attnbench.sweeps.experiments.icl_linear import EXPERIMENT
from attnbench.sweeps.experiments.icl_linear.figures import draw
from attnbench.sweeps.experiments.icl_linear.study import IclLinearParams, run
from attnbench.sweeps.store import join_run

SMALL = dict(
    heads=[1, 2],
    seeds=1,
    steps=20,
    lsa_steps=20,
    test_lengths=[10, 40],
    test_prompts=256,
    dynamics_batches=[8],
    dynamics_population=128,
    dynamics_horizon=2.0,
)


def _run(params: IclLinearParams) -> pd.DataFrame:
    return run(params, RunContext(seed=0, device=torch.device("cpu"), progress=False, log=lambda _: None))


def test_same_seed_same_numbers():
    params = IclLinearParams(**SMALL)
    pd.testing.assert_frame_equal(_run(params), _run(params))


def test_figures_the_claims_link_are_drawn(tmp_path):
    params = IclLinearParams(**SMALL)
    table = join_run(_run(params), "t", "ok", "tiny", dataclasses.asdict(params), False)
    written = {path.name for path in draw(table, tmp_path)}
    assert {claim.figure for claim in EXPERIMENT.claims} <= written
    assert all((tmp_path / name).exists() for name in written)


@pytest.mark.parametrize(("field", "value"), [("heads", [0]), ("seeds", 0), ("test_lengths", []), ("lr", 0.0)])
def test_bad_params_name_the_key(field, value):
    with pytest.raises(ConfigError, match=f"params.{field}"):
        IclLinearParams(**{field: value})
