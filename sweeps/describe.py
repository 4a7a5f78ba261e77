"""``attnbench describe NAME``: what a newcomer needs to run an experiment (its params, profiles, grids)."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

from attnbench.sweeps import registry
from attnbench.sweeps.experiments.base import PROFILES
from attnbench.sweeps.validation import describe as allowed


def _quick_time(results: Path, name: str) -> str:
    runs = results / name / "runs"
    times = []
    for path in sorted(runs.glob("*.json")) if runs.is_dir() else []:
        try:
            record = json.loads(path.read_text())
        except ValueError:
            continue
        if record.get("config", {}).get("profile") == "quick" and "wall_time_s" in record:
            times.append(float(record["wall_time_s"]))
    if not times:
        return "not measured (no quick runs stored)"
    return f"{sum(times):.0f} s of compute over {len(times)} stored runs ({max(times):.0f} s the longest)"


def _fields(params: object, prefix: str) -> list[str]:
    """One line per field of ``params`` (a section's fields under its own heading)."""
    lines = []
    for spec in dataclasses.fields(params):
        value, meaning = getattr(params, spec.name), spec.metadata.get("help", "")
        if spec.metadata.get("section"):
            lines += [f"  [{prefix}.{spec.name}] {meaning}", *_fields(value, f"{prefix}.{spec.name}")]
        else:
            lines.append(f"  {prefix}.{spec.name} = {value!r}    {meaning}; allowed: {allowed(dict(spec.metadata))}")
    return lines


def describe(name: str, results: Path) -> str:
    """The text printed by ``attnbench describe``."""
    experiment = registry.get(name)
    lines = [f"{name}: {experiment.description}", "", "params (quick default; meaning; allowed values):"]
    lines += _fields(experiment.params_of("quick"), "params")
    lines.append("")
    for profile in PROFILES:
        declared = experiment.profile(profile)
        grid = " ".join(f"params.{k}={v}" for k, v in experiment.grid(profile).items()) or "(one run)"
        changes = ", ".join(f"{k}={v!r}" for k, v in declared.overrides.items()) or "none"
        lines.append(f"profile {profile}: overrides {changes}; grid (-m): {grid}")
    lines += [
        "",
        f"measured quick-profile time: {_quick_time(results, name)}",
        "",
        f"claims: {len(experiment.claims)} (attnbench claims {name})",
    ]
    return "\n".join(lines)
