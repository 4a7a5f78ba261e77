"""The end-of-sweep summary (ARCHITECTURE.md, "The store"), a Hydra callback.

Each job writes its outcome into its output folder (`attnbench.sweeps.app`); when the multirun ends,
`SweepSummary` counts them by status, logs the summary and keeps it for the CLI's exit code, which is
non-zero when a run failed (or was not computed because another job held it and never finished).
"""

from __future__ import annotations

import json
import logging
from collections import Counter
from pathlib import Path
from typing import Any

from hydra.experimental.callback import Callback
from omegaconf import DictConfig

from attnbench.sweeps.app import OUTCOME_FILE

log = logging.getLogger("attnbench")
LAST: dict[str, Counter] = {}


def summarise(sweep_dir: Path) -> Counter:
    """The jobs' outcomes under ``sweep_dir``, counted by status."""
    counts: Counter = Counter()
    for path in sorted(sweep_dir.glob(f"*/{OUTCOME_FILE}")):
        try:
            counts[json.loads(path.read_text())["status"]] += 1
        except (ValueError, KeyError):
            counts["unreadable outcome"] += 1
    return counts


class SweepSummary(Callback):
    """Logs the sweep's outcomes by status when a multirun ends."""

    def on_multirun_end(self, config: DictConfig, **kwargs: Any) -> None:
        counts = summarise(Path(config.hydra.sweep.dir))
        LAST["sweep"] = counts
        text = ", ".join(f"{n} {status}" for status, n in sorted(counts.items())) or "no jobs"
        (log.error if counts.get("failed") else log.info)("sweep summary: %s", text)
