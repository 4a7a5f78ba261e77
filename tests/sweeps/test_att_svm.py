"""Unit tests of the att_svm family's harness side (its claims are judged by tests/claims/test_claims.py at
the tiny profile): params validation under each section's full key, the sections, the figures every claim
links, the other optimiser and losses, and the split between computing and presentation modules that keeps
claim edits from making runs stale."""

from __future__ import annotations

import pandas as pd
import pytest
import torch

from attnbench.errors import ConfigError
from attnbench.sweeps.experiments.att_svm import EXPERIMENT, AttSvmParams
from attnbench.sweeps.experiments.base import RunContext
from attnbench.sweeps.fingerprint import module_sources
from attnbench.sweeps.validation import SectionParams, build


def _run(**overrides: object) -> pd.DataFrame:
    """A run of ``EXPERIMENT`` with ``overrides`` (a section's fields as a nested mapping) of the quick defaults."""
    context = RunContext(seed=0, device=torch.device("cpu"), progress=False, log=lambda _: None)
    return EXPERIMENT.run(build(AttSvmParams, overrides), context)


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"sections": ["nope"]}, "params.sections"),
        ({"local_converge.optimizer": "adam"}, "params.local_converge.optimizer"),
        ({"rank.dims": [2, 3]}, "params.rank.dims: must contain d = params.rank.examples = 5"),
        ({"local_converge.runs": 0}, "params.local_converge.runs"),
        ({"overparam.dims": [4, 2]}, "params.overparam.dims: must be >= 2 distinct increasing"),
        ({"nonlinear.dims": [4]}, "params.nonlinear.dims: must be >= 2 distinct increasing"),
        ({"joint.steps": 0}, "params.joint.steps"),
    ],
)
def test_params_are_validated_under_their_full_key(overrides: dict, message: str) -> None:
    with pytest.raises(ConfigError, match=message.replace("[", r"\[")):
        build(AttSvmParams, overrides)


def test_every_profile_is_valid() -> None:
    for profile in ("tiny", "quick", "paper"):
        EXPERIMENT.params_of(profile)


def test_each_study_is_a_section_with_its_own_params() -> None:
    params = AttSvmParams()
    assert [s.name for s in EXPERIMENT.sections] == params.sections
    assert all(isinstance(getattr(params, s.name), SectionParams) for s in EXPERIMENT.sections)


def test_draw_writes_every_linked_figure(tmp_path) -> None:
    table = _run(
        sections=["local_converge", "rank", "overparam", "nonlinear", "joint"],
        local_converge={"runs": 2, "steps": 30, "record_every": 10},
        rank={"instances": 3},
        overparam={"runs": 4, "steps": 20},
        nonlinear={"runs": 60, "dims": [4, 6], "steps": 1000},
        joint={"steps": 30},
    )
    assert set(table["section"]) == {"local_converge", "rank", "overparam", "nonlinear", "joint"}
    written = {p.name for p in EXPERIMENT.draw(table, tmp_path)}
    assert {c.figure for c in EXPERIMENT.claims if c.figure} <= written
    assert all((tmp_path / name).stat().st_size > 0 for name in written)


def test_plain_gd_and_other_losses_run() -> None:
    table = _run(
        sections=["local_converge"], local_converge={"runs": 2, "steps": 20, "optimizer": "gd", "loss": "exponential"}
    )
    assert {"corr_fro", "corr_nuc", "selected_prob"} <= set(table["metric"])
    assert table["value"].notna().all()


def test_runs_never_hash_the_claims_or_figures() -> None:
    hashed = {name for name, _ in module_sources(EXPERIMENT.run.__module__)}
    assert "attnbench.sweeps.experiments.att_svm.study_local" in hashed
    assert not {n for n in hashed if n.endswith(("claims", "figures")) or n == "attnbench.sweeps.experiments.att_svm"}
