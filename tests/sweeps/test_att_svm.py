"""Unit tests of the att_svm family's harness side (its claims are judged by tests/claims/test_claims.py at
the tiny profile): params validation, the figures every claim links, the other optimiser and losses, and the
split between computing and presentation modules that keeps claim edits from making runs stale."""

from __future__ import annotations

import pandas as pd
import pytest
import torch

from attnbench.sweeps.experiments.att_svm import EXPERIMENT, AttSvmParams
from attnbench.sweeps.experiments.base import ConfigError, RunContext
from attnbench.sweeps.fingerprint import module_sources


def _run(**overrides: object) -> pd.DataFrame:
    context = RunContext(seed=0, device=torch.device("cpu"), progress=False, log=lambda _: None)
    return EXPERIMENT.run(AttSvmParams(**overrides), context)


def test_params_are_validated() -> None:
    with pytest.raises(ConfigError, match="sections"):
        AttSvmParams(sections=["nope"])
    with pytest.raises(ConfigError, match="optimizer"):
        AttSvmParams(optimizer="adam")
    with pytest.raises(ConfigError, match="rank_ds"):
        AttSvmParams(rank_ds=[2, 3])
    with pytest.raises(ConfigError, match="runs"):
        AttSvmParams(runs=0)
    with pytest.raises(ConfigError, match="overparam_ds"):
        AttSvmParams(overparam_ds=[4, 2])


def test_every_profile_is_valid() -> None:
    for profile in ("tiny", "quick", "paper"):
        EXPERIMENT.params_of(profile)


def test_draw_writes_every_linked_figure(tmp_path) -> None:
    table = _run(sections=["local_converge", "rank", "overparam", "nonlinear", "joint"], runs=2, steps=30,
                 record_every=10, rank_instances=3, overparam_runs=4, overparam_steps=20, nonlinear_runs=60,
                 nonlinear_ds=[4, 6], nonlinear_steps=1000, prompt_steps=30)
    written = {p.name for p in EXPERIMENT.draw(table, tmp_path)}
    assert {c.figure for c in EXPERIMENT.claims if c.figure} <= written
    assert all((tmp_path / name).stat().st_size > 0 for name in written)


def test_plain_gd_and_other_losses_run() -> None:
    table = _run(sections=["local_converge"], runs=2, steps=20, optimizer="gd", loss="exponential")
    assert {"corr_fro", "corr_nuc", "selected_prob"} <= set(table["metric"])
    assert table["value"].notna().all()


def test_runs_never_hash_the_claims_or_figures() -> None:
    hashed = {name for name, _ in module_sources(EXPERIMENT.run.__module__)}
    assert "attnbench.sweeps.experiments.att_svm.study_local" in hashed
    assert not {n for n in hashed if n.endswith(("claims", "figures")) or n == "attnbench.sweeps.experiments.att_svm"}
