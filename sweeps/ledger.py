"""The claims ledger, ``results/CLAIMS.md`` (ARCHITECTURE.md, "The claims ledger").

Generated from the stored runs alone, never edited by hand. Each claim is evaluated on every stored cell
of its declared scope (`attnbench.sweeps.experiments.base.Scope`); its verdict is

- ``pass``: every declared cell is stored and passes;
- ``fail``: some cell fails, and not for the claim's known failure;
- ``xfail``: every failing cell satisfies the claim's `KnownFailure` predicate;
- ``error``: the check raised, a run in scope failed or was killed, or a stored file is corrupt;
- ``not run``: nothing in scope is stored, or a declared cell of the grid is missing;
- ``stale``: a run in scope was computed by other code (its fingerprint differs from the current code).

The file opens with the counts per kind x verdict, then one table per family.
"""

from __future__ import annotations

import json
import math
from collections import Counter
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from attnbench.sweeps import registry
from attnbench.sweeps.experiments.base import CLAIM_KINDS, VERDICTS, Claim, Experiment, Verdict, VerdictKind
from attnbench.sweeps.grid import values
from attnbench.sweeps.store import StoreView, load_view

COLUMNS = ("id", "kind", "claim", "source", "predicted", "measured", "tolerance (basis)", "cells", "verdict", "figure")
FAILING: frozenset[VerdictKind] = frozenset({"fail", "error", "stale"})


@dataclass(frozen=True)
class CellResult:
    """One cell of a claim's scope: its label, and its verdict (None: declared but not stored)."""

    label: str
    verdict: Verdict | None = None
    error: str = ""

    @property
    def passed(self) -> bool:
        return self.verdict is not None and self.verdict.verdict == "pass"


@dataclass(frozen=True)
class ClaimResult:
    """A claim evaluated on its whole scope."""

    claim: Claim
    verdict: VerdictKind
    cells: tuple[CellResult, ...] = ()
    note: str = ""

    @property
    def passed_cells(self) -> int:
        return sum(cell.passed for cell in self.cells)

    def _joined(self, attribute: str) -> str:
        shown = [(c.label, getattr(c.verdict, attribute)) for c in self.cells if c.verdict is not None]
        values = {value for _, value in shown}
        if len(values) == 1 and attribute == "predicted":
            return values.pop()
        return "; ".join(f"{label}: {value}" if label else value for label, value in shown)

    @property
    def predicted(self) -> str:
        return self._joined("predicted")

    @property
    def measured(self) -> str:
        return self._joined("measured")

    def row(self) -> tuple[str, ...]:
        claim = self.claim
        figure = f"`{claim.family}/{claim.figure}`" if claim.figure else ""
        cells = f"{self.passed_cells}/{len(self.cells)} ({claim.scope.describe()})"
        return (
            f"`{claim.id}`",
            claim.kind,
            claim.statement,
            claim.source,
            self.predicted,
            self.measured,
            claim.tolerance.shown(),
            cells,
            self.verdict,
            figure,
        )

    def notes(self) -> list[str]:
        """The explanations shown under the table."""
        lines = [self.note] if self.note else []
        if self.verdict == "xfail" and self.claim.known_failure is not None:
            lines.append(f"known failure: {self.claim.known_failure.reason}")
        lines += [f"{c.label or 'cell'}: {c.error}" for c in self.cells if c.error]
        lines += [f"{c.label or 'cell'}: {c.verdict.note}" for c in self.cells if c.verdict and c.verdict.note]
        if self.claim.scope.reason:
            lines.append(f"scope: {self.claim.scope.reason}")
        if self.claim.tolerance.detail:
            lines.append(f"tolerance: {self.claim.tolerance.detail}")
        if self.claim.tiny:
            lines.append(f"not tested at the tiny profile: {self.claim.tiny}")
        return lines


def _normalised(value: Any) -> str:
    """A cell value as comparable text: JSON for lists and dicts (stored as JSON text), else the number."""
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError:
            return value
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return json.dumps(value, sort_keys=True)


def declared_values(grid: Mapping[str, str], key: str) -> list[str] | None:
    """The values of ``key`` that ``grid`` sweeps (normalised), or None when the grid does not sweep it."""
    return [_normalised(v) for v in values(key, grid[key])] if key in grid else None


def _label(columns: Sequence[str], key: tuple[Any, ...]) -> str:
    """``train_length=20, seed=1`` (a column that does not apply to the cell, NaN, is left out)."""
    return ", ".join(
        f"{c.removeprefix('p.')}={v}" for c, v in zip(columns, key, strict=True) if v not in ("NaN", "null")
    )


def _cells(claim: Claim, rows: pd.DataFrame, grid: Mapping[str, str]) -> list[tuple[str, pd.DataFrame | None]]:
    """The cells of ``claim``'s scope: (label, rows), rows None for a declared cell that is not stored."""
    columns = claim.scope.cells
    if not columns:
        return [("", rows)]
    missing = [c for c in columns if c not in rows]
    if missing:
        raise KeyError(f"the table has no column {missing[0]!r} to split the scope into cells")
    groups = {
        tuple(_normalised(v) for v in (key if isinstance(key, tuple) else (key,))): group
        for key, group in rows.groupby(list(columns), dropna=False, sort=True)
    }
    declared = [declared_values(grid, c.removeprefix("p.")) if c.startswith("p.") else None for c in columns]
    for key in list(groups):
        for index, allowed in enumerate(declared):
            if allowed is not None and key[index] not in allowed:
                del groups[key]  # a stored cell outside the declared grid is outside the scope
                break
    expected = set(groups)
    if all(v is not None for v in declared):
        expected |= set(
            pd.MultiIndex.from_product(declared).tolist() if len(declared) > 1 else [(v,) for v in declared[0]]
        )
    else:  # cells also split by columns the grid does not sweep: each declared value must still be stored
        for index, allowed in enumerate(declared):
            stored = {key[index] for key in groups}
            expected |= {
                tuple(value if i == index else "NaN" for i in range(len(columns)))
                for value in allowed or ()
                if value not in stored
            }
    return [(_label(columns, key), groups.get(key)) for key in sorted(expected, key=_order)]


def _order(key: tuple[str, ...]) -> tuple[tuple[int, float, str], ...]:
    """Cells in numeric order where their values are numbers (n = 100, 316, 1000), else as text."""

    def one(text: str) -> tuple[int, float, str]:
        try:
            number = float(json.loads(text))
        except (ValueError, TypeError):
            return (1, 0.0, text)
        return (2, 0.0, "") if math.isnan(number) else (0, number, "")

    return tuple(one(part) for part in key)


def _check_cell(claim: Claim, label: str, rows: pd.DataFrame | None) -> CellResult:
    if rows is None:
        return CellResult(label, error="declared by the grid but not stored")
    diverged = rows[rows["status"] == "diverged"] if "status" in rows else rows.iloc[0:0]
    if not diverged.empty:
        run = diverged.iloc[0]
        return CellResult(label, Verdict("fail", "a finite run", f"run {run['run_id']} diverged"))
    try:
        return CellResult(label, claim.check(rows[rows["status"] == "ok"] if "status" in rows else rows))
    except Exception as error:  # a check that raises is an error of the suite, shown with its exception
        return CellResult(label, error=f"the check raised {type(error).__name__}: {error}")


def evaluate(claim: Claim, view: StoreView, grid: Mapping[str, str]) -> ClaimResult:
    """Apply ``claim`` to every cell of its scope in ``view`` (one profile's runs of its experiment)."""
    if view.errors:
        return ClaimResult(claim, "error", note="corrupt or unreadable store files: " + "; ".join(view.errors))
    try:
        rows = claim.scope.select(view.rows)
    except Exception as error:
        return ClaimResult(claim, "error", note=f"selecting the scope raised {type(error).__name__}: {error}")
    if rows.empty:
        return ClaimResult(claim, "not run", note="nothing in scope is stored")
    broken = rows[rows["status"].isin(["failed", "killed", "running"])]
    if not broken.empty:
        runs = ", ".join(f"{r} ({s})" for r, s in broken.groupby("run_id")["status"].first().items())
        return ClaimResult(claim, "error", note=f"runs in scope did not finish: {runs}")
    stale = rows[rows["stale"]] if "stale" in rows else rows.iloc[0:0]
    if not stale.empty:
        return ClaimResult(
            claim,
            "stale",
            note=f"runs computed by other code: {', '.join(stale['run_id'].unique())}"
            " (rerun them, or pass reuse_stale=true to a sweep that knows the change was cosmetic)",
        )
    try:
        pairs = _cells(claim, rows, grid)
    except Exception as error:
        return ClaimResult(claim, "error", note=f"splitting the scope raised {type(error).__name__}: {error}")
    cells = tuple(_check_cell(claim, label, group) for label, group in pairs)
    return ClaimResult(claim, _aggregate(claim, cells, [group for _, group in pairs]), cells)


def _aggregate(claim: Claim, cells: tuple[CellResult, ...], groups: list[pd.DataFrame | None]) -> VerdictKind:
    """One verdict from the cells' (``groups``: each cell's rows, for the known-failure predicate)."""
    if any(c.verdict is None and group is not None for c, group in zip(cells, groups, strict=True)):
        return "error"
    if any(group is None for group in groups):
        return "not run"
    if all(c.passed for c in cells):
        return "pass"
    known = claim.known_failure
    failing = [group for c, group in zip(cells, groups, strict=True) if not c.passed]
    try:
        if known is not None and all(known.holds(group) for group in failing):
            return "xfail"
    except Exception:  # a predicate that raises cannot excuse a failure
        return "error"
    return "fail"


@dataclass(frozen=True)
class Ledger:
    """Every claim's result, in registry order."""

    results: tuple[ClaimResult, ...]
    profile: str = "quick"

    @property
    def counts(self) -> Counter:
        """(kind, verdict) -> number of claims."""
        return Counter((r.claim.kind, r.verdict) for r in self.results)

    def failing(self) -> list[ClaimResult]:
        return [r for r in self.results if r.verdict in FAILING]


def evaluate_experiment(experiment: Experiment, results_dir: Path, profile: str = "quick") -> list[ClaimResult]:
    view = load_view(results_dir, experiment.name, profile=profile)
    return [evaluate(claim, view, experiment.grid(profile)) for claim in experiment.claims]


def ledger(
    results_dir: Path, family: str | None = None, profile: str = "quick", leave_out: Collection[str] = ()
) -> Ledger:
    """Every claim of every experiment (or of one family; none of ``leave_out``), evaluated on the stored runs
    of ``profile``."""
    results: list[ClaimResult] = []
    for name, experiment in registry.experiments().items():
        if (family is None or name == family) and name not in leave_out:
            results += evaluate_experiment(experiment, results_dir, profile)
    return Ledger(tuple(results), profile)


def _escape(cell: str) -> str:
    return cell.replace("|", "\\|").replace("\n", " ")


def counts_table(book: Ledger) -> list[str]:
    """The counts per kind x verdict, as markdown lines."""
    lines = ["| kind | " + " | ".join(VERDICTS) + " | total |", "|---|" + "---|" * (len(VERDICTS) + 1)]
    for kind in (*CLAIM_KINDS, "all"):
        counts = [
            sum(n for (k, v), n in book.counts.items() if v == verdict and kind in (k, "all")) for verdict in VERDICTS
        ]
        lines.append(f"| {kind} | " + " | ".join(map(str, counts)) + f" | {sum(counts)} |")
    return lines


def render_markdown(book: Ledger) -> str:
    """The CLAIMS.md text: the counts, then per family its table and the notes of every claim."""
    total = Counter(r.verdict for r in book.results)
    summary = ", ".join(f"{total.get(v, 0)} {v}" for v in VERDICTS)
    lines = [f"**{len(book.results)} claims** ({book.profile} profile): {summary}.", "", *counts_table(book)]
    families = dict.fromkeys(r.claim.family for r in book.results)
    for family in families:
        results = [r for r in book.results if r.claim.family == family]
        lines += ["", f"### {family}", "", "| " + " | ".join(COLUMNS) + " |", "|" + "---|" * len(COLUMNS)]
        lines += ["| " + " | ".join(_escape(c) for c in r.row()) + " |" for r in results]
        notes = [(r, r.notes()) for r in results]
        if any(n for _, n in notes):
            lines += [""] + [f"- `{r.claim.id}` ({r.verdict}): " + _escape(" · ".join(n)) for r, n in notes if n]
    return "\n".join(lines) + "\n"


def render_text(book: Ledger) -> str:
    """The same table for a terminal."""
    if not book.results:
        return "no claims"
    table = pd.DataFrame([dict(zip(COLUMNS, r.row(), strict=True)) for r in book.results])
    shown = table[["id", "kind", "predicted", "measured", "cells", "verdict"]].copy()
    shown["id"] = shown["id"].str.strip("`")
    with pd.option_context("display.max_colwidth", 60, "display.width", 250):
        return shown.to_string(index=False)
