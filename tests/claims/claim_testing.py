"""Helpers shared by the claim tests: run an experiment quietly and check its claims by id.

A claim test parametrises over `claim_params(experiment)` so each claim carries its own
``@pytest.mark.claim(id)`` (read by tests/test_claim_coverage.py) and asserts with `assert_claim_passes`; the
tolerances are the claims' own (in the experiment modules), never changed here.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from functools import cache
from typing import Any

import pandas as pd
import pytest
import torch

from attnbench.sweeps.experiments.base import Claim, Experiment, RunContext


def run_quietly(experiment: Experiment, params: Any) -> pd.DataFrame:
    """The experiment's table for ``params`` on CPU, seed 0, without progress bars or log lines."""
    context = RunContext(seed=0, device=torch.device("cpu"), progress=False, log=lambda _: None)
    return experiment.run(params, context)


def profile_tables(
    experiment: Experiment, params_type: type, profiles: Mapping[str, Mapping[str, Any]]
) -> Callable[[str], pd.DataFrame]:
    """``table(profile)``: the experiment's table for ``params_type(**profiles[profile])``, run once per profile."""

    @cache
    def table(profile: str) -> pd.DataFrame:
        return run_quietly(experiment, params_type(**profiles[profile]))

    return table


def claim_params(
    experiment: Experiment,
    ids: Iterable[str] | None = None,
    *,
    xfail_known_failures: bool = False,
    strict: bool = False,
) -> list[Any]:
    """One pytest parameter per claim of ``experiment`` (or per id in ``ids``): its id, marked
    ``@pytest.mark.claim(id)``. With ``xfail_known_failures`` a claim that documents a measured
    non-reproduction (``known_failure``) is also marked as an xfail carrying that text (``strict``: an
    unexpected pass fails the test)."""
    claims = {claim.id: claim for claim in experiment.claims}
    params = []
    for claim_id in claims if ids is None else ids:
        marks = [pytest.mark.claim(claim_id)]
        if xfail_known_failures and claims[claim_id].known_failure:
            marks.append(pytest.mark.xfail(strict=strict, reason=claims[claim_id].known_failure))
        params.append(pytest.param(claim_id, marks=marks, id=claim_id))
    return params


def claim_of(experiment: Experiment, claim_id: str) -> Claim:
    """The claim of ``experiment`` called ``claim_id``."""
    return next(c for c in experiment.claims if c.id == claim_id)


def assert_claim_passes(experiment: Experiment, table: pd.DataFrame, claim_id: str) -> None:
    """Check claim ``claim_id`` of ``experiment`` on ``table``: the verdict must name its predicted and measured
    figures and be a pass."""
    verdict = claim_of(experiment, claim_id).check(table)
    assert verdict.predicted and verdict.measured
    assert verdict.verdict == "pass", f"{claim_id}: predicted {verdict.predicted}; measured {verdict.measured}"
