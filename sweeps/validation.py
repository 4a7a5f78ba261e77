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

A family with several studies nests one `SectionParams` per study with `section` and lists the studies a
run computes in ``sections`` (ARCHITECTURE.md, "Sections")::

    @dataclass
    class SnapParams(SectionParams):
        lr_ys: list[float] = param([0.5, 1.0], gt=0, help="η_Y of the peak-time study")

    @dataclass
    class ScanSnapParams(Params):
        sections: list[str] = param(["snap"], choices=("snap",), help="the studies this run computes")
        snap: SnapParams = section(SnapParams, help="the snap study")

On the command line: ``params.snap.lr_ys=[1,2]``; in the table: ``p.snap.lr_ys``.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping, Sequence
from typing import Any

from attnbench.errors import ConfigError, require


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
    parts = [
        f"{symbol} {metadata[key]:g}"
        for key, symbol in (("ge", ">="), ("gt", ">"), ("le", "<="), ("lt", "<"))
        if metadata.get(key) is not None
    ]
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
    bounds = (
        ("ge", value >= (metadata["ge"] or 0)),
        ("gt", value > (metadata["gt"] or 0)),
        ("le", value <= (metadata["le"] or 0)),
        ("lt", value < (metadata["lt"] or 0)),
    )
    for name, ok in bounds:
        require(metadata.get(name) is None or ok, key, f"got {value!r}; allowed: {allowed}")


def section(params: type, *, help: str) -> Any:  # noqa: A002
    """A field holding one study's nested params (a `SectionParams` subclass)."""
    return dataclasses.field(default_factory=params, metadata={"help": help, "section": True})


def require_increasing(values: Sequence[float], key: str) -> None:
    """A swept grid that a trend is judged over: at least two distinct values, in increasing order."""
    require(
        len(values) >= 2 and list(values) == sorted(set(values)),
        key,
        f"must be >= 2 distinct increasing values, got {list(values)}",
    )


def check_fields(obj: Any, prefix: str = "params") -> None:
    """Check every field of dataclass ``obj`` against its declared constraints (nested sections too, then
    their own ``check()``), naming each key by its full path (``params.snap.lr_ys``)."""
    for spec in dataclasses.fields(obj):
        if "help" not in spec.metadata:
            continue
        key, value = f"{prefix}.{spec.name}", getattr(obj, spec.name)
        if spec.metadata.get("section"):
            check_fields(value, key)
            value.check()
        elif isinstance(value, list | tuple):
            require(len(value) > 0, key, f"must be a non-empty list; allowed elements: {describe(spec.metadata)}")
            for item in value:
                _check_value(key, item, dict(spec.metadata))
        else:
            _check_value(key, value, dict(spec.metadata))


@dataclasses.dataclass
class SectionParams:
    """Base of one study's nested params: checked by the experiment's `Params`, under its full key."""

    def check(self) -> None:
        """Constraints between fields (raise `ConfigError` through `require`); none by default."""


@dataclasses.dataclass
class Params(SectionParams):
    """Base of every experiment's params: validates the declared constraints, then ``check()``."""

    def __post_init__(self) -> None:
        check_fields(self)
        self.check()


def build(params: type, *layers: Mapping[str, Any]) -> Any:
    """``params`` with its defaults changed by ``layers``, later layers winning (a profile's overrides, then a
    caller's): nested mappings (``{"snap": {"lr_z": 1.0}}``) or dotted keys (``{"snap.lr_z": 1.0}``) change one
    section's fields. The layers are never modified; the result is validated once, at the end."""
    nested: dict[str, Any] = {}
    for layer in layers:
        for key, value in layer.items():
            head, _, rest = key.partition(".")
            if rest:
                nested.setdefault(head, {})[rest] = value
            elif isinstance(value, Mapping):
                nested.setdefault(head, {}).update(value)
            else:
                nested[head] = value
    names = {f.name: f for f in dataclasses.fields(params)}
    values = {}
    for key, value in nested.items():
        require(key in names, f"params.{key}", f"unknown key; allowed: {', '.join(names)}")
        if names[key].metadata.get("section") and isinstance(value, Mapping):
            section_type = names[key].default_factory  # type: ignore[misc]
            value = dataclasses.replace(section_type(), **_known(section_type, value, f"params.{key}"))
        values[key] = value
    return params(**values)


def _known(params: type, overrides: Mapping[str, Any], prefix: str) -> dict[str, Any]:
    names = [f.name for f in dataclasses.fields(params)]
    for key in overrides:
        require(key in names, f"{prefix}.{key}", f"unknown key; allowed: {', '.join(names)}")
    return dict(overrides)
