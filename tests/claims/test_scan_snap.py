"""The Scan and Snap experiment beside its claims (the claims themselves are judged by test_claims.py): the
tiny table carries a section on every row, every figure a claim links is drawn, a run computes only the sections
it names, and bad params name their full key."""

from __future__ import annotations

import pytest
import torch
from claim_testing import tiny_view

from attnbench.errors import ConfigError
from attnbench.sweeps.experiments.base import RunContext
from attnbench.sweeps.experiments.scan_snap import EXPERIMENT
from attnbench.sweeps.experiments.scan_snap.params import STUDIES, reported_entropy


def test_every_row_has_its_section():
    rows = tiny_view("scan_snap").rows
    assert set(rows["section"]) == set(STUDIES) == {study.name for study in EXPERIMENT.sections}


def test_a_run_computes_only_its_sections():
    params = EXPERIMENT.params_of("tiny", sections=["decoder"], decoder={"vocab_sizes": [50]})
    context = RunContext(seed=0, device=torch.device("cpu"), progress=False, log=lambda _: None)
    rows = EXPERIMENT.run(params, context)
    assert set(rows["section"]) == {"decoder"} and set(rows["vocab_size"]) == {50}
    assert {"predicted", "step", "seed"} <= set(rows.columns)


def test_every_linked_figure_is_drawn(tmp_path):
    drawn = {path.name for path in EXPERIMENT.draw(tiny_view("scan_snap").rows, tmp_path)}
    assert {claim.figure for claim in EXPERIMENT.claims if claim.figure} <= drawn
    assert all((tmp_path / name).stat().st_size > 0 for name in drawn)


def test_paper_profile_composes():
    params = EXPERIMENT.params_of("paper")
    assert params.entropy.num_lasts == [1, 3, 5, 10] and params.entropy.seeds == 10
    assert params.ode_match.seeds == 10 and params.snap == EXPERIMENT.params_of("quick").snap


def test_reported_entropy_reads_the_fig6_cell():
    assert reported_entropy(2, 3.0, 10.0) == (1.825, 0.331)
    assert reported_entropy(20, 0.5, 1.0) == (2.033, 0.004)


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("ode_match.seq_lens", [64, 16]),
        ("entropy.lr_zs", [0.7]),
        ("ode_match.momenta", [1.0]),
        ("fig4.seeds", 1),
        ("snap.lr_ys", [1.0]),
        ("gain.ratios", [10.0, 1.0]),
        ("sections", ["nope"]),
    ],
)
def test_bad_params_name_the_key(key, value):
    with pytest.raises(ConfigError, match=f"params.{key}"):
        EXPERIMENT.params_of("quick", **{key: value})
