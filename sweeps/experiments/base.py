"""The experiment contract (DESIGN.md, "The five nouns" (5)).

An experiment module in ``sweeps/experiments/`` defines one module-level ``EXPERIMENT``. It runs the
empirical side of one claim family, calls the theory's prediction, and returns a tidy table: one row per
run x step x metric, with the predicted value beside the measured one where one exists. It states its
claims, each a function of that table returning a `Verdict`, and draws its figures from the table alone.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import pandas as pd
import torch

VerdictKind = Literal["pass", "fail", "xfail", "not run"]

# Columns every table has; experiments add their own (model, heads, test_length, ...).
TABLE_COLUMNS = ("metric", "value", "predicted", "step", "seed")


class ConfigError(ValueError):
    """An impossible configuration value. The message names the key and the allowed values."""


def require(condition: bool, key: str, message: str) -> None:
    """Raise a `ConfigError` naming ``key`` unless ``condition`` holds."""
    if not condition:
        raise ConfigError(f"{key}: {message}")


@dataclass(frozen=True)
class Verdict:
    """A claim's outcome: the predicted and measured figures are always shown, whatever the verdict."""

    verdict: VerdictKind
    predicted: str
    measured: str
    tolerance: str = ""
    note: str = ""


@dataclass(frozen=True)
class Claim:
    """One checkable statement. ``check`` maps the experiment's table to a verdict.

    ``id`` is ``<family>.<name>``; the pytest that checks the claim carries the same id through
    ``@pytest.mark.claim(id)``. ``source`` is "Author et al. YEAR, Eq./Thm N" or "derived".
    ``known_failure`` documents a measured non-reproduction: a failing check is then reported as
    ``xfail`` with that reason (never as a pass).
    """

    id: str
    statement: str
    source: str
    check: Callable[[pd.DataFrame], Verdict]
    figure: str | None = None
    known_failure: str | None = None


@dataclass
class RunContext:
    """What the harness hands to ``Experiment.run`` besides the params."""

    seed: int
    device: torch.device
    progress: bool = True
    log: Callable[[str], None] = print


@dataclass(frozen=True)
class Experiment:
    """A claim family.

    - ``params``: a dataclass whose defaults are the ``quick`` profile; ``__post_init__`` validates values
      and raises `ConfigError` naming the key.
    - ``paper``: field overrides that turn the quick profile into the papers' sizes.
    - ``run(params, ctx)``: trains / measures and returns the tidy table (a DataFrame with at least the
      columns of `TABLE_COLUMNS`; missing ones are filled with NaN).
    - ``claims``: the claims, evaluated by the ledger on the stored table.
    - ``draw(table, out_dir)``: writes the figures (theory beside measurement) and returns their paths.
    - ``sweep``: the grid run by the main job (``hydra.sweeper.params`` style: key -> "a,b,c").
    - ``paper_sweep``: the grid of the ``paper`` profile, when it differs from ``sweep`` (None: the same).
    """

    name: str
    description: str
    params: type
    run: Callable[[Any, RunContext], pd.DataFrame]
    claims: Sequence[Claim] = ()
    draw: Callable[[pd.DataFrame, Path], list[Path]] | None = None
    paper: dict[str, Any] = field(default_factory=dict)
    sweep: dict[str, str] = field(default_factory=dict)
    paper_sweep: dict[str, str] | None = None

    def grid(self, profile: str) -> dict[str, str]:
        """The declared grid of ``profile``."""
        return self.paper_sweep if profile == "paper" and self.paper_sweep is not None else self.sweep


def mean_spread(values: Sequence[float], digits: int = 4) -> str:
    """``mean ± std`` over seeds (the std only when there is more than one value)."""
    array = pd.Series(values, dtype=float)
    if len(array) > 1:
        return f"{array.mean():.{digits}g} ± {array.std(ddof=1):.2g} (n={len(array)})"
    return f"{array.mean():.{digits}g}"


def within(
    measured: Sequence[float],
    predicted: float,
    tolerance: float,
    *,
    relative: bool = False,
    reduce: Literal["mean", "worst"] = "mean",
    digits: int = 4,
) -> Verdict:
    """Pass when the measurement is within ``tolerance`` of ``predicted``.

    ``reduce="mean"`` compares the mean over seeds; ``"worst"`` requires every seed to be within.
    ``relative`` divides the gap by |predicted|.
    """
    values = pd.Series(measured, dtype=float)
    if values.empty:
        raise ValueError("no measured values")
    gaps = (values - predicted).abs() / (abs(predicted) if relative else 1.0)
    gap = gaps.max() if reduce == "worst" else abs(values.mean() - predicted) / (abs(predicted) if relative else 1.0)
    ok = bool(values.notna().all()) and gap <= tolerance
    unit = " relative" if relative else ""
    return Verdict(
        "pass" if ok else "fail",
        predicted=f"{predicted:.{digits}g}",
        measured=mean_spread(values, digits) + f"; {'worst' if reduce == 'worst' else 'mean'} gap {gap:.2g}",
        tolerance=f"{tolerance:g}{unit}",
    )


def at_most(measured: Sequence[float], bound: float, *, label: str = "bound", digits: int = 4) -> Verdict:
    """Pass when every measured value is at most ``bound`` (worst case over seeds / instances)."""
    values = pd.Series(measured, dtype=float)
    if values.empty:
        raise ValueError("no measured values")
    worst = values.max()
    ok = bool(values.notna().all()) and worst <= bound
    return Verdict("pass" if ok else "fail", predicted=f"≤ {bound:.{digits}g} ({label})",
                   measured=f"max {worst:.{digits}g}; {mean_spread(values, digits)}")
