"""The one figure style of every experiment, and the plotting helpers they share (matplotlib, Agg backend).

Importing this module selects the Agg backend and the style (`STYLE`: readable sizes, light grids, frameless
legends, Computer Modern mathtext for labels written as ``r"$M^{-1/2}$"``). `save` writes every figure as
PNG (linked from the ledger) and PDF (for a paper). Conventions: a y-label on every panel, legends off the
data (`legend_outside`), a colour bar where colour encodes a value, and intervals that stay inside the range
of the quantity (`proportion_interval` for accuracies, `bootstrap_interval` for a seed mean).
"""

from __future__ import annotations

from pathlib import Path

import matplotlib
import numpy as np

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import pandas as pd  # noqa: E402
from matplotlib.axes import Axes  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402
from scipy import stats  # noqa: E402

STYLE = {
    "font.size": 10,
    "axes.titlesize": 10,
    "axes.labelsize": 10,
    "legend.fontsize": 8,
    "xtick.labelsize": 8,
    "ytick.labelsize": 8,
    "axes.grid": True,
    "grid.alpha": 0.3,
    "legend.frameon": False,
    "mathtext.fontset": "cm",
    "axes.spines.top": False,
    "axes.spines.right": False,
    "figure.dpi": 120,
    "savefig.dpi": 150,
    "savefig.bbox": "tight",
}
plt.rcParams.update(STYLE)
PANEL = (3.4, 2.7)  # inches per panel


def panels(rows: int, cols: int, **kwargs: object) -> tuple[Figure, np.ndarray]:
    """A figure of ``rows`` x ``cols`` panels of the house size (axes always a 2-d array)."""
    fig, axes = plt.subplots(
        rows, cols, figsize=(PANEL[0] * cols, PANEL[1] * rows), squeeze=False, layout="constrained", **kwargs
    )
    return fig, axes


def legend_outside(ax: Axes, **kwargs: object) -> None:
    """The panel's legend to its right, off the data."""
    ax.legend(loc="upper left", bbox_to_anchor=(1.02, 1.0), borderaxespad=0.0, **kwargs)


def proportion_interval(successes: np.ndarray, trials: np.ndarray, level: float = 0.95) -> np.ndarray:
    """Clopper-Pearson intervals of success proportions (`scipy.stats.binomtest`), shaped (2, n): always
    inside [0, 1], unlike mean ± std."""
    bounds = [
        stats.binomtest(int(k), int(n)).proportion_ci(confidence_level=level)
        for k, n in zip(np.atleast_1d(successes), np.atleast_1d(trials), strict=True)
    ]
    return np.array([[b.low for b in bounds], [b.high for b in bounds]])


def band(ax: Axes, table: pd.DataFrame, x: str, label: str, y: str = "value", **style: object) -> None:
    """Mean over seeds with a ±1 std band, against ``x``."""
    stats = table.groupby(x)[y].agg(["mean", "std"]).reset_index().sort_values(x)
    line = ax.plot(stats[x], stats["mean"], marker="o", label=label, **style)[0]
    ax.fill_between(
        stats[x],
        stats["mean"] - stats["std"].fillna(0),
        stats["mean"] + stats["std"].fillna(0),
        color=line.get_color(),
        alpha=0.2,
    )


def save(fig: Figure, out_dir: Path, name: str) -> Path:
    """Write ``fig`` as ``out_dir/name`` (PNG) and beside it as PDF, close it, and return the PNG's path."""
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / name
    if not fig.get_layout_engine():
        fig.tight_layout()
    fig.savefig(path)
    fig.savefig(path.with_suffix(".pdf"), metadata={"CreationDate": None})  # the same bytes on every rebuild
    plt.close(fig)
    return path


def seed_errorbar(ax: Axes, x: pd.Series, cells: pd.DataFrame, label: str, **style: object) -> None:
    """The seed mean ± seed std of ``cells`` (columns mean, std, n) against ``x``; the label gets the seed count."""
    ax.errorbar(
        x,
        cells["mean"],
        yerr=cells["std"],
        marker="o",
        capsize=3,
        label=f"{label} (n={int(cells['n'].min())})",
        **style,
    )


def chance_and_oracle(ax: Axes, chance: float) -> None:
    """Reference accuracies: chance level (dashed) and the oracle's exact answers, 1.0 (dotted)."""
    ax.axhline(chance, color="grey", lw=0.8, ls="--", label="chance")
    ax.axhline(1.0, color="k", lw=0.8, ls=":", label="oracle")


def figure_legend(fig: Figure, axes: np.ndarray, **kwargs: object) -> None:
    """One legend for the whole figure, below its panels (off the data): every label of ``axes`` once."""
    entries: dict[str, object] = {}
    for ax in np.ravel(axes):
        for handle, label in zip(*ax.get_legend_handles_labels(), strict=True):
            entries.setdefault(label, handle)
    fig.legend(
        list(entries.values()),
        list(entries),
        loc="outside lower center",
        ncols=kwargs.pop("ncols", min(len(entries), 4)),
        **kwargs,
    )


def bootstrap_interval(values: np.ndarray, level: float = 0.95) -> tuple[float, float]:
    """Percentile-bootstrap interval of the mean of ``values`` (`scipy.stats.bootstrap`, 9999 resamples, a fixed
    generator so a figure redraws identically): it stays inside [min, max] of the values, so inside [0, 1] for
    accuracies. Values that all agree give the point itself."""
    values = np.asarray(values, dtype=float)
    if len(values) < 2 or np.ptp(values) == 0:
        return float(values.mean()), float(values.mean())
    ci = stats.bootstrap(
        (values,), np.mean, confidence_level=level, method="percentile", n_resamples=9999, rng=np.random.default_rng(0)
    ).confidence_interval
    return float(ci.low), float(ci.high)


def seed_range(
    ax: Axes,
    seeds: pd.DataFrame,
    x: str,
    label: str,
    shift: float = 0.0,
    interval: str = "range",
    **style: object,
) -> None:
    """Seed mean of ``value`` against ``x`` with bars, each seed as a faint dot; the label gets the seed count.
    The bars are the seed range (``interval="range"``, min to max) or the 95% percentile-bootstrap interval of
    the seed mean (``"bootstrap"``, `bootstrap_interval`); both stay inside the values' range, e.g. [0, 1] for
    accuracies. ``shift`` moves the points sideways to keep ties visible: in decades on a log x-axis, else in
    x units."""
    if interval not in ("range", "bootstrap"):
        raise ValueError(f"interval must be 'range' or 'bootstrap', got {interval!r}")
    cells = seeds.groupby(x)["value"].agg(["mean", "min", "max", "count"]).reset_index().sort_values(x)
    if interval == "bootstrap":
        bounds = [bootstrap_interval(seeds.loc[seeds[x] == value, "value"].to_numpy()) for value in cells[x]]
        cells["min"], cells["max"] = [b[0] for b in bounds], [b[1] for b in bounds]

    def moved(values: pd.Series) -> np.ndarray:
        values = values.to_numpy(dtype=float)
        return values * 10.0**shift if ax.get_xscale() == "log" else values + shift

    bars = np.vstack([cells["mean"] - cells["min"], cells["max"] - cells["mean"]])
    line = ax.errorbar(
        moved(cells[x]),
        cells["mean"],
        yerr=bars,
        marker="o",
        capsize=3,
        label=f"{label} (n={int(cells['count'].min())})",
        **style,
    )
    ax.scatter(moved(seeds[x]), seeds["value"], s=10, color=line[0].get_color(), alpha=0.4, zorder=3)
