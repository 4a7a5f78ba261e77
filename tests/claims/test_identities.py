"""The identities experiment beside its claims (the claims themselves are judged by test_claims.py): every row
of the tiny table carries its section, every figure a claim links is drawn, and bad params name their key."""

from __future__ import annotations

import pytest
from claim_testing import tiny_view

from attnbench.sweeps.experiments.base import ConfigError
from attnbench.sweeps.experiments.identities import EXPERIMENT
from attnbench.sweeps.experiments.identities.params import IdentitiesParams

SECTIONS = {"regression", "monoid", "chunk", "sigmoid", "pathology", "gradient", "hedgehog", "ssm"}


def test_every_row_has_its_section():
    assert set(tiny_view("identities").rows["section"]) == SECTIONS


def test_every_linked_figure_is_drawn(tmp_path):
    drawn = {path.name for path in EXPERIMENT.draw(tiny_view("identities").rows, tmp_path)}
    assert {claim.figure for claim in EXPERIMENT.claims if claim.figure} <= drawn


def test_the_slope_claim_reads_the_runs_own_min_length():
    """The 1/n claim fits the n ≥ slope_min_length of the stored run, not the class default."""
    rows = tiny_view("identities").rows
    claim = next(c for c in EXPERIMENT.claims if c.id == "identities.sigmoid_duplication_one_over_n")
    scoped = claim.scope.select(rows)
    assert "n ≥ 1024" in claim.check(scoped.assign(**{"p.slope_min_length": 1024})).measured


@pytest.mark.parametrize(("key", "value"), [("decays", [1.5]), ("sigmoid_lengths", [16, 32]), ("seeds", 0)])
def test_params_reject_bad_values(key, value):
    with pytest.raises(ConfigError, match=key if key != "sigmoid_lengths" else "slope_min_length"):
        IdentitiesParams(**{key: value})
