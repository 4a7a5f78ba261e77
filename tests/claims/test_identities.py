"""The identities experiment beside its claims (the claims themselves are judged by test_claims.py): every row
of the tiny table carries its section, every figure a claim links is drawn, bad params name their key, and the
form measures see a form that computes another map."""

from __future__ import annotations

import pytest
import torch
from claim_testing import tiny_view

from attnbench.errors import ConfigError
from attnbench.models import lightning
from attnbench.models.forms import Form, Forms
from attnbench.sweeps.experiments.base import RunContext
from attnbench.sweeps.experiments.identities import EXPERIMENT
from attnbench.sweeps.experiments.identities.form_measures import form_errors
from attnbench.sweeps.experiments.identities.params import STUDIES


def test_every_row_has_its_section():
    assert set(tiny_view("identities").rows["section"]) == set(STUDIES) == {s.name for s in EXPERIMENT.sections}


def test_every_linked_figure_is_drawn(tmp_path):
    drawn = {path.name for path in EXPERIMENT.draw(tiny_view("identities").rows, tmp_path)}
    assert {claim.figure for claim in EXPERIMENT.claims if claim.figure} <= drawn


def test_the_slope_claim_reads_the_runs_own_min_length():
    """The 1/n claim fits the n ≥ params.sigmoid.slope_min_length of the stored run, not the class default."""
    rows = tiny_view("identities").rows
    claim = next(c for c in EXPERIMENT.claims if c.id == "identities.sigmoid_duplication_one_over_n")
    scoped = claim.scope.select(rows)
    assert "n ≥ 1024" in claim.check(scoped.assign(**{"p.sigmoid.slope_min_length": 1024})).measured


@pytest.mark.parametrize(
    ("key", "value", "named"),
    [
        ("chunk.decays", [1.5], "params.chunk.decays"),
        ("sigmoid.lengths", [16, 32], "params.sigmoid.slope_min_length"),
        ("regression.seeds", 0, "params.regression.seeds"),
        ("sections", ["nope"], "params.sections"),
    ],
)
def test_params_reject_bad_values(key, value, named):
    with pytest.raises(ConfigError, match=named):
        EXPERIMENT.params_of("quick", **{key: value})


def test_a_run_computes_only_the_selected_sections():
    params = EXPERIMENT.params_of("tiny", sections=["ssm", "hedgehog"], ssm={"seeds": 2})
    rows = EXPERIMENT.run(params, RunContext(seed=0, device=torch.device("cpu"), progress=False, log=lambda _: None))
    assert set(rows["section"]) == {"ssm", "hedgehog"}
    assert sorted(rows.loc[rows["section"] == "ssm", "seed"].unique()) == [0, 1]
    assert set(rows.loc[rows["section"] == "hedgehog", "seed"]) == {0}


def test_form_errors_see_a_form_of_another_map():
    """A third "form" with λ² in place of λ is far from the other two: the measure compares every pair."""
    forms = lightning.FORMS["lightning"]

    def squared_decay(q, k, v, *, decay):
        return lightning.decayed_linear_attention(q, k, v, decay=decay**2)

    broken = Forms({**forms.forms, "squared": Form(squared_decay)}, forms.sample)
    assert form_errors(forms, 0, (1, 2, 20, 4), chunk=7, decay=0.9)["forward"] < 1e-12
    errors = form_errors(broken, 0, (1, 2, 20, 4), chunk=7, decay=0.9)
    assert errors["forward"] > 1e-2 and errors["gradient"] > 1e-2
