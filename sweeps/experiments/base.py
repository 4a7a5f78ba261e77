"""The experiment contract and the claim protocol (ARCHITECTURE.md, "Experiments" and "The claims ledger").

An experiment (a package or module in ``sweeps/experiments/``) defines one module-level ``EXPERIMENT``. It
runs the empirical side of one claim family, calls the theory's prediction, and returns a tidy table: one
row per run x step x metric, with the predicted value beside the measured one where one exists. It states
its claims and draws its figures from the table alone.

A `Claim` declares, before anything runs:

- its ``kind`` (`theorem`: a paper's stated or derived prediction; `reported`: a number or figure a paper
  reports; `consistency`: an identity, a property true by construction, an implementation check);
- its ``scope`` (`Scope`): the cells of the grid it covers. The ledger splits the stored rows in scope into
  cells and applies ``check`` to each one; the claim passes only when every cell passes;
- its ``tolerance`` (`Tolerance`) with the basis it rests on (`derived`, `seed-variance`, `paper`, `cut-off`);
- optionally a ``known_failure`` (`KnownFailure`): a predicate on a failing cell's rows plus its explanation.
  A failing cell is an expected failure only while the predicate holds; any other failure is a `fail`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import pandas as pd
import torch

from attnbench.errors import ConfigError as ConfigError  # re-exported: params raise it
from attnbench.errors import require as require
from attnbench.sweeps.validation import Params, build

CheckOutcome = Literal["pass", "fail"]
VerdictKind = Literal["pass", "fail", "xfail", "error", "not run", "stale"]
VERDICTS: tuple[VerdictKind, ...] = ("pass", "fail", "xfail", "error", "not run", "stale")
ClaimKind = Literal["theorem", "reported", "consistency"]
CLAIM_KINDS: tuple[ClaimKind, ...] = ("theorem", "reported", "consistency")
Basis = Literal["derived", "seed-variance", "paper", "cut-off"]
BASES: tuple[Basis, ...] = ("derived", "seed-variance", "paper", "cut-off")
PROFILES = ("tiny", "quick", "paper")

# Columns every table has; experiments add their own (model, heads, test_length, ...).
TABLE_COLUMNS = ("metric", "value", "predicted", "step", "seed")

# The false-failure rate that statistical checks are sized for, and its sidedness: each test states whether
# it is one- or two-sided, and a two-sided test spends this rate over both tails.
FALSE_FAILURE_RATE = 0.01


@dataclass(frozen=True)
class Verdict:
    """The outcome of a claim's check on one cell: the predicted and measured figures are always shown."""

    verdict: CheckOutcome
    predicted: str
    measured: str
    tolerance: str = ""
    note: str = ""


@dataclass(frozen=True)
class Tolerance:
    """A claim's tolerance and what it rests on.

    ``basis``: ``derived`` (``detail`` gives the formula), ``seed-variance`` (calibrated on calibration
    seeds disjoint from the evaluation seeds; ``detail`` names them and the false-failure rate),
    ``paper`` (the paper's own error bars), or ``cut-off`` (an arbitrary threshold; the ledger flags it).
    """

    value: str
    basis: Basis
    detail: str = ""

    def __post_init__(self) -> None:
        if self.basis not in BASES:
            raise ValueError(f"tolerance basis must be one of {BASES}, got {self.basis!r}")

    def shown(self) -> str:
        flag = " ⚑" if self.basis == "cut-off" else ""
        return f"{self.value} ({self.basis}{flag})"


@dataclass(frozen=True)
class Scope:
    """The cells of an experiment's grid that a claim covers, declared before anything runs.

    ``cells``: the table columns whose value combinations are the cells (``("p.train_length",)``: one cell
    per training length; ``()``: the whole scope is one cell, for a claim about a trend across the grid).
    ``where``: restrictions, column -> allowed values; a non-empty ``where`` narrows the scope and must give
    its ``reason``. Columns named ``p.<key>`` that are swept by the profile's grid are expected in full: a
    declared cell that is not stored keeps the claim from passing.
    """

    cells: tuple[str, ...] = ()
    where: Mapping[str, tuple[Any, ...]] = field(default_factory=dict)
    reason: str = ""

    def __post_init__(self) -> None:
        if self.where and not self.reason:
            raise ValueError(f"a narrower scope ({dict(self.where)}) must state its reason")

    def select(self, table: pd.DataFrame) -> pd.DataFrame:
        """The rows of ``table`` inside the scope."""
        for column, allowed in self.where.items():
            if column not in table:
                return table.iloc[0:0]
            table = table[table[column].isin(list(allowed))]
        return table

    def describe(self) -> str:
        parts = [f"per {', '.join(c.removeprefix('p.') for c in self.cells)}" if self.cells else "one cell"]
        parts += [f"{c.removeprefix('p.')} ∈ {{{', '.join(map(str, v))}}}" for c, v in self.where.items()]
        return "; ".join(parts)


@dataclass(frozen=True)
class KnownFailure:
    """A measured non-reproduction: ``holds(rows)`` is true of a failing cell's rows exactly when it fails
    for the documented ``reason``. It is re-checked at every evaluation."""

    holds: Callable[[pd.DataFrame], bool]
    reason: str


@dataclass(frozen=True)
class Claim:
    """One checkable statement (ARCHITECTURE.md, "The claims ledger").

    ``id`` is ``<family>.<name>`` with ``family`` the experiment's name; the generic claim test carries it
    in its test id. ``source`` is "Author et al. YEAR, Eq./Thm N" or "derived". ``check`` maps one cell's
    rows to a `Verdict`. ``tiny`` is None when the tiny profile tests the claim, else the reason it cannot.
    """

    id: str
    statement: str
    source: str
    kind: ClaimKind
    scope: Scope
    tolerance: Tolerance
    check: Callable[[pd.DataFrame], Verdict]
    figure: str | None = None
    known_failure: KnownFailure | None = None
    tiny: str | None = None

    def __post_init__(self) -> None:
        if self.kind not in CLAIM_KINDS:
            raise ValueError(f"{self.id}: kind must be one of {CLAIM_KINDS}, got {self.kind!r}")

    @property
    def family(self) -> str:
        return self.id.split(".", 1)[0]


@dataclass
class RunContext:
    """What the harness hands to ``Experiment.run`` besides the params."""

    seed: int
    device: torch.device
    progress: bool = True
    log: Callable[[str], None] = print


@dataclass(frozen=True)
class Section:
    """One study of a family that runs several (ARCHITECTURE.md, "Sections"): its ``run`` receives only its own
    nested params (``params.<name>``, a `SectionParams`) and returns its rows; `run_sections` tags them with a
    ``section`` column, and the study's claims scope on it (``where={"section": (name,)}``)."""

    name: str
    run: Callable[[Any, RunContext], pd.DataFrame]
    description: str = ""


def run_sections(sections: Sequence[Section], params: Any, ctx: RunContext) -> pd.DataFrame:
    """The rows of every section that ``params.sections`` selects, each run on its own nested params."""
    frames = []
    for study in sections:
        if study.name in params.sections:
            rows = study.run(getattr(params, study.name), ctx)
            frames.append(rows.assign(section=study.name))
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=list(TABLE_COLUMNS))


@dataclass(frozen=True)
class Profile:
    """A profile's field overrides of the params defaults and its grid (None: the quick grid)."""

    overrides: Mapping[str, Any] = field(default_factory=dict)
    grid: Mapping[str, str] | None = None


@dataclass(frozen=True)
class Experiment:
    """A claim family.

    - ``params``: a `Params` dataclass whose defaults are the ``quick`` profile (constraints as field metadata,
      see `attnbench.sweeps.validation`).
    - ``run(params, ctx)``: trains / measures and returns the tidy table (a DataFrame with at least the
      columns of `TABLE_COLUMNS`; missing ones are filled with NaN).
    - ``claims``: the claims, evaluated by the ledger on the stored table.
    - ``draw(table, out_dir)``: writes the figures (theory beside measurement) and returns their paths.
    - ``sweep``: the quick profile's grid (``hydra.sweeper.params`` style: key -> "a,b,c").
    - ``tiny`` / ``paper``: the other profiles (`Profile`): seconds for the claim tests, the papers' sizes.
    - ``estimate_bytes(params)``: the memory a run needs, roughly; a run that cannot fit is refused up front.
    - ``sections``: the studies of a family that runs several (`Section`); ``run`` then calls `run_sections`.
    """

    name: str
    description: str
    params: type[Params]
    run: Callable[[Any, RunContext], pd.DataFrame]
    claims: Sequence[Claim] = ()
    draw: Callable[[pd.DataFrame, Path], list[Path]] | None = None
    sweep: Mapping[str, str] = field(default_factory=dict)
    tiny: Profile = field(default_factory=Profile)
    paper: Profile = field(default_factory=Profile)
    estimate_bytes: Callable[[Any], float] | None = None
    sections: Sequence[Section] = ()

    def computing_modules(self) -> list[str]:
        """The modules whose source (and imports) compute this experiment's runs: ``run``'s and each section's."""
        return sorted({self.run.__module__, *(study.run.__module__ for study in self.sections)})

    def __post_init__(self) -> None:
        for claim in self.claims:
            if claim.family != self.name:
                raise ValueError(f"claim {claim.id!r} must be named {self.name}.<name>")

    def profile(self, name: str) -> Profile:
        """The declared `Profile` called ``name`` (quick: no overrides, the ``sweep`` grid)."""
        if name == "quick":
            return Profile(grid=self.sweep)
        if name in ("tiny", "paper"):
            return getattr(self, name)
        raise KeyError(f"unknown profile {name!r}; allowed: {', '.join(PROFILES)}")

    def grid(self, profile: str) -> Mapping[str, str]:
        """The declared grid of ``profile``."""
        grid = self.profile(profile).grid
        return self.sweep if grid is None else grid

    def params_of(self, profile: str, **overrides: Any) -> Params:
        """The params dataclass of ``profile`` (its defaults plus the profile's overrides and ``overrides``;
        a section's fields as nested mappings or dotted keys, ``snap={"lr_z": 1.0}`` or ``**{"snap.lr_z": 1.0}``)."""
        return build(self.params, self.profile(profile).overrides, overrides)


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
    return Verdict(
        "pass" if ok else "fail",
        predicted=f"≤ {bound:.{digits}g} ({label})",
        measured=f"max {worst:.{digits}g}; {mean_spread(values, digits)}",
    )
