"""One tidy table row: the shape every experiment's ``run`` returns (ARCHITECTURE.md, "The nouns" (5)).

A table has one row per (cell, seed, step, metric); `TABLE_COLUMNS` in `experiments.base` are the columns
every table has (the store fills a column a run leaves out with NaN, "not applicable"), and ``keys`` add the
experiment's own cell columns (model, heads, test_length, ...).
"""

from __future__ import annotations

Row = dict[str, object]


def row(
    metric: str,
    value: float,
    *,
    predicted: float | None = None,
    step: float | None = None,
    seed: int | None = None,
    **keys: object,
) -> Row:
    """The row of ``metric`` = ``value`` at one cell. ``predicted`` is the theory's value; ``step`` is a training
    step (an int), or the time of a population ODE trajectory (a float, kept as given); ``predicted``, ``step`` or
    ``seed`` left as None are not applicable to this row, and the store records them as NaN."""
    optional = {"predicted": predicted, "step": step, "seed": seed}
    casts = {"predicted": float, "step": _step, "seed": int}
    present = {key: casts[key](given) for key, given in optional.items() if given is not None}
    return {"metric": metric, "value": float(value), **present, **keys}


def _step(step: float) -> int | float:
    """A whole step as an int, an ODE time as a float."""
    return int(step) if float(step).is_integer() else float(step)
