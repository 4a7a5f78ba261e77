"""One generic test of every params class (ARCHITECTURE.md, "Configuration"): every field declares its meaning
and constraints, every count has a lower bound that the validator enforces, every list refuses to be empty,
every profile's params and every point of every profile's grid are valid."""

from __future__ import annotations

import dataclasses

import pytest

from attnbench.sweeps import registry
from attnbench.sweeps.experiments.base import PROFILES, ConfigError
from attnbench.sweeps.grid import points
from attnbench.sweeps.validation import Params

EXPERIMENTS = sorted(registry.experiments().items())


def _fields(experiment):
    return [(experiment, spec) for spec in dataclasses.fields(experiment.params)]


FIELDS = [pair for _, experiment in EXPERIMENTS for pair in _fields(experiment)]


@pytest.mark.parametrize("experiment", [e for _, e in EXPERIMENTS], ids=[n for n, _ in EXPERIMENTS])
def test_params_subclass_params(experiment):
    assert issubclass(experiment.params, Params)


@pytest.mark.parametrize(("experiment", "spec"), FIELDS, ids=[f"{e.name}.{s.name}" for e, s in FIELDS])
def test_every_field_declares_its_meaning_and_counts_their_bound(experiment, spec):
    assert spec.metadata.get("help"), f"{experiment.name}: params.{spec.name} has no help text"
    default = experiment.params_of("quick").__dict__[spec.name]
    element = default[0] if isinstance(default, list) and default else default
    if isinstance(default, list):
        with pytest.raises(ConfigError, match=f"params.{spec.name}: must be a non-empty list"):
            experiment.params_of("quick", **{spec.name: []})
    if isinstance(element, int) and not isinstance(element, bool) and not spec.metadata.get("choices"):
        low = spec.metadata.get("ge", spec.metadata.get("gt"))
        assert low is not None, f"{experiment.name}: the count params.{spec.name} has no lower bound"
        bad = (low - 1) if spec.metadata.get("ge") is not None else low
        value = [bad] if isinstance(default, list) else bad
        with pytest.raises(ConfigError, match=f"params.{spec.name}"):
            experiment.params_of("quick", **{spec.name: value})


@pytest.mark.parametrize("experiment", [e for _, e in EXPERIMENTS], ids=[n for n, _ in EXPERIMENTS])
def test_every_profile_and_grid_point_is_valid(experiment):
    for profile in PROFILES:
        for point in points(experiment.grid(profile)):
            experiment.params_of(profile, **point)
