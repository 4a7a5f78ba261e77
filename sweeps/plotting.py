"""Small plotting helpers shared by the experiments' figures (matplotlib, Agg backend)."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import pandas as pd  # noqa: E402
from matplotlib.axes import Axes  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402


def band(ax: Axes, table: pd.DataFrame, x: str, label: str, y: str = "value", **style: object) -> None:
    """Mean over seeds with a ±1 std band, against ``x``."""
    stats = table.groupby(x)[y].agg(["mean", "std"]).reset_index().sort_values(x)
    line = ax.plot(stats[x], stats["mean"], marker="o", label=label, **style)[0]
    ax.fill_between(stats[x], stats["mean"] - stats["std"].fillna(0), stats["mean"] + stats["std"].fillna(0),
                    color=line.get_color(), alpha=0.2)


def save(fig: Figure, out_dir: Path, name: str) -> Path:
    """Write ``fig`` as ``out_dir/name`` and close it."""
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / name
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path


def seed_errorbar(ax: Axes, x: pd.Series, cells: pd.DataFrame, label: str, **style: object) -> None:
    """The seed mean ± seed std of ``cells`` (columns mean, std, n) against ``x``; the label gets the seed count."""
    ax.errorbar(x, cells["mean"], yerr=cells["std"], marker="o", capsize=3,
                label=f"{label} (n={int(cells['n'].min())})", **style)


def chance_and_oracle(ax: Axes, chance: float) -> None:
    """Reference accuracies: chance level (dashed) and the oracle's exact answers, 1.0 (dotted)."""
    ax.axhline(chance, color="grey", lw=0.8, ls="--", label="chance")
    ax.axhline(1.0, color="k", lw=0.8, ls=":", label="oracle")
