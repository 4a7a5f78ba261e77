"""A profile's grid as the list of its points (ARCHITECTURE.md, "Configuration").

A grid maps a params key to Hydra sweep syntax (``{"train_length": "20,40,80"}``); its points are the
cartesian product of the values, each parsed by Hydra's own override parser, so ``[2],[8]`` is two lists
and ``1e-3,1e-2`` two floats, exactly as ``-m params.key=...`` would give them.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping
from typing import Any

from hydra.core.override_parser.overrides_parser import OverridesParser


def values(key: str, text: str) -> list[Any]:
    """The values of one grid entry, parsed as Hydra parses ``key=text``."""
    override = OverridesParser.create().parse_override(f"{key}={text}")
    return list(override.sweep_iterator()) if override.is_sweep_override() else [override.value()]


def points(grid: Mapping[str, str]) -> list[dict[str, Any]]:
    """Every point of ``grid`` (key -> value), in Hydra's sweep order (the last key varies fastest)."""
    keys = list(grid)
    return [dict(zip(keys, combo, strict=True)) for combo in itertools.product(*(values(k, grid[k]) for k in keys))]
