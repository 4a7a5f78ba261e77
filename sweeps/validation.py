"""Declarative constraints on params (ARCHITECTURE.md, "Configuration").

A params dataclass declares each field with `param`, giving its meaning and its constraints as field
metadata; `Params.__post_init__` checks them all with one generic validator, then calls the class's own
``check()`` for constraints that tie several fields together. For a list field the bounds apply to every
element, and the list must not be empty::

    @dataclass
    class MyParams(Params):
        steps: int = param(4000, ge=1, help="optimiser steps")
        widths: list[int] = param([32, 64], ge=1, help="model widths")
        optimizer: str = param("adam", choices=("adam", "sgd"), help="the optimiser")
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence
from typing import Any

from attnbench.sweeps.experiments.base import ConfigError, require


def param(
    default: Any,
    *,
    help: str,  # noqa: A002 - the word every CLI uses for a field's meaning
    ge: float | None = None,
    gt: float | None = None,
    le: float | None = None,
    lt: float | None = None,
    choices: Sequence[Any] | None = None,
) -> Any:
    """A dataclass field with its meaning and constraints (see the module docstring)."""
    metadata = {"help": help, "ge": ge, "gt": gt, "le": le, "lt": lt, "choices": tuple(choices) if choices else None}
    if isinstance(default, list | dict):
        return dataclasses.field(default_factory=lambda: type(default)(default), metadata=metadata)
    return dataclasses.field(default=default, metadata=metadata)


def describe(metadata: dict[str, Any]) -> str:
    """The allowed values of a field, as text (``>= 1``, ``one of adam, sgd``, ``any``)."""
    parts = [f"{symbol} {metadata[key]:g}" for key, symbol in (("ge", ">="), ("gt", ">"), ("le", "<="), ("lt", "<"))
             if metadata.get(key) is not None]
    if metadata.get("choices"):
        parts.append("one of " + ", ".join(map(str, metadata["choices"])))
    return " and ".join(parts) or "any"


def _check_value(key: str, value: Any, metadata: dict[str, Any]) -> None:
    allowed = describe(metadata)
    if metadata.get("choices") and value not in metadata["choices"]:
        raise ConfigError(f"{key}: got {value!r}; allowed: {allowed}")
    if isinstance(value, bool) or not isinstance(value, int | float):
        return
    require(not math.isnan(value), key, f"got NaN; allowed: {allowed}")
    bounds = (("ge", value >= (metadata["ge"] or 0)), ("gt", value > (metadata["gt"] or 0)),
              ("le", value <= (metadata["le"] or 0)), ("lt", value < (metadata["lt"] or 0)))
    for name, ok in bounds:
        require(metadata.get(name) is None or ok, key, f"got {value!r}; allowed: {allowed}")


def check_fields(obj: Any, prefix: str = "params") -> None:
    """Check every field of dataclass ``obj`` against its declared constraints."""
    for spec in dataclasses.fields(obj):
        if "help" not in spec.metadata:
            continue
        key, value = f"{prefix}.{spec.name}", getattr(obj, spec.name)
        if isinstance(value, list | tuple):
            require(len(value) > 0, key, f"must be a non-empty list; allowed elements: {describe(spec.metadata)}")
            for item in value:
                _check_value(key, item, dict(spec.metadata))
        else:
            _check_value(key, value, dict(spec.metadata))


@dataclasses.dataclass
class Params:
    """Base of every experiment's params: validates the declared constraints, then ``check()``."""

    def __post_init__(self) -> None:
        check_fields(self)
        self.check()

    def check(self) -> None:
        """Constraints between fields (raise `ConfigError` through `require`); none by default."""
