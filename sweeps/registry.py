"""Discovers the experiments: every module of ``attnbench.sweeps.experiments`` that defines ``EXPERIMENT``,
plus the modules named in the environment variable ``ATTNBENCH_EXPERIMENTS`` (comma-separated import
paths), so a researcher can add an experiment from outside the package.

A module that fails to import is reported (``broken``) and skipped, so one broken experiment never stops
the others; asking for it by name raises its import error.
"""

from __future__ import annotations

import importlib
import os
import pkgutil
import sys
from functools import cache

from attnbench.sweeps import experiments as experiments_package
from attnbench.sweeps.experiments.base import Experiment


def _module_names() -> list[str]:
    package = experiments_package.__name__
    names = [
        f"{package}.{info.name}"
        for info in pkgutil.iter_modules(experiments_package.__path__)
        if not info.name.startswith("_") and info.name != "base"
    ]
    return names + [n.strip() for n in os.environ.get("ATTNBENCH_EXPERIMENTS", "").split(",") if n.strip()]


@cache
def _discover() -> tuple[dict[str, Experiment], dict[str, str]]:
    found: dict[str, Experiment] = {}
    broken: dict[str, str] = {}
    for name in _module_names():
        try:
            module = importlib.import_module(name)
        except Exception as error:
            broken[name.rsplit(".", 1)[-1]] = f"{type(error).__name__}: {error}"
            print(f"[attnbench] warning: experiment module {name!r} failed to import: {error}", file=sys.stderr)
            continue
        experiment = getattr(module, "EXPERIMENT", None)
        if isinstance(experiment, Experiment):
            if experiment.name in found:
                raise ValueError(f"two experiment modules define the name {experiment.name!r}")
            found[experiment.name] = experiment
    return dict(sorted(found.items())), broken


def experiments() -> dict[str, Experiment]:
    """Name -> experiment, for every experiment module that imports (sorted by name)."""
    return _discover()[0]


def broken() -> dict[str, str]:
    """Module name -> import error, for every experiment module that failed to import."""
    return _discover()[1]


def get(name: str) -> Experiment:
    """The experiment called ``name``; the error lists the allowed names (or the module's import error)."""
    known, failed = _discover()
    if name in known:
        return known[name]
    if name in failed:
        raise KeyError(f"experiment {name!r} failed to import: {failed[name]}")
    raise KeyError(f"unknown experiment {name!r}; choose one of: {', '.join(known)}")
