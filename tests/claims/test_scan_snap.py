"""The Scan and Snap experiment beside its claims (the claims themselves are judged by test_claims.py): the
tiny table carries a section on every row, every figure a claim links is drawn, and bad params name their key."""

from __future__ import annotations

import pytest
from claim_testing import tiny_view

from attnbench.sweeps.experiments.base import ConfigError
from attnbench.sweeps.experiments.scan_snap import EXPERIMENT
from attnbench.sweeps.experiments.scan_snap.params import ScanSnapParams, reported_entropy

SECTIONS = {"decoder", "ode_match", "fig4", "scan", "gain", "reduced", "snap", "entropy"}


def test_every_row_has_its_section():
    rows = tiny_view("scan_snap").rows
    assert set(rows["section"]) == SECTIONS


def test_every_linked_figure_is_drawn(tmp_path):
    drawn = {path.name for path in EXPERIMENT.draw(tiny_view("scan_snap").rows, tmp_path)}
    assert {claim.figure for claim in EXPERIMENT.claims if claim.figure} <= drawn
    assert all((tmp_path / name).stat().st_size > 0 for name in drawn)


def test_paper_profile_composes():
    params = EXPERIMENT.params_of("paper")
    assert params.entropy_num_lasts == [1, 3, 5, 10] and params.entropy_seeds == 10


def test_reported_entropy_reads_the_fig6_cell():
    assert reported_entropy(2, 3.0, 10.0) == (1.825, 0.331)
    assert reported_entropy(20, 0.5, 1.0) == (2.033, 0.004)


@pytest.mark.parametrize(("key", "value"), [("seq_lens", [64, 16]), ("entropy_lr_zs", [0.7]), ("momenta", [1.0]),
                                            ("seeds", 1), ("snap_lr_ys", [1.0])])
def test_bad_params_name_the_key(key, value):
    with pytest.raises(ConfigError, match=key):
        ScanSnapParams(**{key: value})
