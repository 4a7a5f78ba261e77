"""Sections: a study's nested params, validated under their full key, its own run, its rows tagged with its
name, and its params as ``p.<section>.<key>`` columns (ARCHITECTURE.md, "Sections")."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import pandas as pd
import pytest
import torch

from attnbench.errors import ConfigError
from attnbench.sweeps.experiments.base import RunContext, Section, run_sections
from attnbench.sweeps.store import param_columns
from attnbench.sweeps.validation import Params, SectionParams, build, param, section


@dataclass
class StudyParams(SectionParams):
    rate: float = param(1.0, gt=0, help="a rate")
    sizes: list[int] = param([1, 2], ge=1, help="sizes")

    def check(self) -> None:
        if len(self.sizes) > 3:
            raise ConfigError("params.study.sizes: at most 3")


@dataclass
class FamilyParams(Params):
    sections: list[str] = param(["study", "other"], choices=("study", "other"), help="the studies to run")
    study: StudyParams = section(StudyParams, help="the study")
    other: StudyParams = section(StudyParams, help="another study")


def test_nested_overrides_by_mapping_or_dotted_key():
    assert build(FamilyParams, {"study": {"rate": 2.0}}).study.rate == 2.0
    params = build(FamilyParams, {"other.sizes": [3]})
    assert params.other.sizes == [3] and params.study.sizes == [1, 2]


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"study.rate": -1.0}, "params.study.rate: got -1.0"),
        ({"other.sizes": []}, "params.other.sizes: must be a non-empty list"),
        ({"study.sizes": [1, 2, 3, 4]}, "params.study.sizes: at most 3"),
        ({"study.nokey": 1}, "params.study.nokey: unknown key"),
        ({"sections": ["nosuch"]}, "params.sections: got 'nosuch'"),
    ],
)
def test_a_sections_fields_are_validated_under_their_full_key(overrides, message):
    with pytest.raises(ConfigError, match=message.replace("[", r"\[")):
        build(FamilyParams, overrides)


def test_each_section_runs_on_its_own_params_and_tags_its_rows():
    seen = {}

    def study_run(params: StudyParams, ctx: RunContext) -> pd.DataFrame:
        seen[len(seen)] = params
        return pd.DataFrame({"metric": ["m"], "value": [params.rate]})

    sections = (Section("study", study_run), Section("other", study_run))
    context = RunContext(seed=0, device=torch.device("cpu"), progress=False)
    rows = run_sections(sections, build(FamilyParams, {"other.rate": 3.0, "sections": ["other"]}), context)
    assert list(rows["section"]) == ["other"] and list(rows["value"]) == [3.0]
    assert seen == {0: StudyParams(rate=3.0)}


def test_section_params_become_dotted_columns():
    columns = param_columns(dataclasses.asdict(FamilyParams()))
    assert columns["p.study.rate"] == 1.0 and columns["p.other.sizes"] == "[1, 2]"
    assert columns["p.sections"] == '["study", "other"]'


def test_later_layers_win_and_no_layer_is_modified():
    profile = {"study": {"rate": 2.0, "sizes": [3]}}
    params = build(FamilyParams, profile, {"study.rate": 5.0})
    assert params.study.rate == 5.0 and params.study.sizes == [3]
    assert profile == {"study": {"rate": 2.0, "sizes": [3]}}
