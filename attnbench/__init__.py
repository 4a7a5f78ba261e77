"""attnbench: a theory-verification and synthetic-task benchmark suite for attention mechanisms.

``attnbench.load("icl_linear")`` returns an experiment's stored table (see `attnbench.sweeps.store.load`).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import pandas as pd

__version__ = "0.3.0"


def load(experiment: str, results: str | Path = "results", profile: str | None = "quick") -> pd.DataFrame:
    """The stored table of ``experiment`` under ``results`` (one row per run x step x metric, params joined)."""
    from attnbench.sweeps.store import load as load_table

    return load_table(experiment, results, profile)
