"""One generic test of every params class (ARCHITECTURE.md, "Configuration"): every field declares its meaning
and constraints, every count has a lower bound that the validator enforces, every list refuses to be empty,
every profile's params and every point of every profile's grid are valid."""

from __future__ import annotations

import dataclasses

import pytest

from attnbench.errors import ConfigError
from attnbench.sweeps import registry
from attnbench.sweeps.experiments.base import PROFILES
from attnbench.sweeps.grid import points
from attnbench.sweeps.validation import Params

EXPERIMENTS = sorted(registry.experiments().items())


def _fields(experiment, params=None, prefix=""):
    """(experiment, dotted key, field) of every field, a section's fields by their dotted key."""
    found = []
    for spec in dataclasses.fields(params or experiment.params):
        if spec.metadata.get("section"):
            found += _fields(experiment, spec.default_factory, f"{prefix}{spec.name}.")
        else:
            found.append((experiment, f"{prefix}{spec.name}", spec))
    return found


FIELDS = [pair for _, experiment in EXPERIMENTS for pair in _fields(experiment)]


@pytest.mark.parametrize("experiment", [e for _, e in EXPERIMENTS], ids=[n for n, _ in EXPERIMENTS])
def test_params_subclass_params(experiment):
    assert issubclass(experiment.params, Params)


def _default(experiment, key):
    value = experiment.params_of("quick")
    for part in key.split("."):
        value = getattr(value, part)
    return value


@pytest.mark.parametrize(("experiment", "key", "spec"), FIELDS, ids=[f"{e.name}.{k}" for e, k, _ in FIELDS])
def test_every_field_declares_its_meaning_and_counts_their_bound(experiment, key, spec):
    assert spec.metadata.get("help"), f"{experiment.name}: params.{key} has no help text"
    default = _default(experiment, key)
    element = default[0] if isinstance(default, list) and default else default
    if isinstance(default, list):
        with pytest.raises(ConfigError, match=f"params.{key}: must be a non-empty list"):
            experiment.params_of("quick", **{key: []})
    if isinstance(element, int) and not isinstance(element, bool) and not spec.metadata.get("choices"):
        low = spec.metadata.get("ge", spec.metadata.get("gt"))
        assert low is not None, f"{experiment.name}: the count params.{key} has no lower bound"
        bad = (low - 1) if spec.metadata.get("ge") is not None else low
        value = [bad] if isinstance(default, list) else bad
        with pytest.raises(ConfigError, match=f"params.{key}"):
            experiment.params_of("quick", **{key: value})


@pytest.mark.parametrize("experiment", [e for _, e in EXPERIMENTS], ids=[n for n, _ in EXPERIMENTS])
def test_every_profile_and_grid_point_is_valid(experiment):
    for profile in PROFILES:
        for point in points(experiment.grid(profile)):
            experiment.params_of(profile, **point)
