"""How every benchmark times a function: the median and inter-quartile range of several runs after a warm-up.

On the CPU, `torch.utils.benchmark.Timer.adaptive_autorange` (it warms up, picks a block size, and repeats blocks
until the IQR is within 10 % of the median or ``max_run_time`` is spent; at least 4 replicates). On a GPU,
`triton.testing.do_bench` (warm-up, cache flushes, CUDA-event timing; its 25/50/75 % quantiles). The machine's
one-minute load average is recorded beside every figure: on a shared machine, timings taken under load are slow.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass

import torch
from torch.utils.benchmark import Timer


@dataclass(frozen=True)
class Timing:
    """One timed function: median and inter-quartile range in seconds, the number of replicates (None where
    `do_bench` chose it) and the load average when it finished."""

    median_s: float
    iqr_s: float
    replicates: int | None
    load_average: float

    def columns(self, prefix: str) -> dict[str, float | int | None]:
        """The table columns ``<prefix>_s``, ``<prefix>_iqr_s`` and ``<prefix>_replicates``."""
        return {f"{prefix}_s": self.median_s, f"{prefix}_iqr_s": self.iqr_s, f"{prefix}_replicates": self.replicates}


def measure(function: Callable[[], object], device: torch.device | str = "cpu", max_run_time: float = 10.0) -> Timing:
    """Time ``function()`` on ``device`` (see the module docstring for the method)."""
    device = torch.device(device)
    if device.type == "cuda":
        from triton.testing import do_bench

        low, median, high = do_bench(function, quantiles=[0.25, 0.5, 0.75])  # milliseconds
        return Timing(median / 1e3, (high - low) / 1e3, replicates=None, load_average=os.getloadavg()[0])
    timer = Timer(stmt="function()", globals={"function": function}, num_threads=torch.get_num_threads())
    measurement = timer.adaptive_autorange(threshold=0.1, min_run_time=0.01, max_run_time=max_run_time)
    return Timing(measurement.median, measurement.iqr, len(measurement.times), os.getloadavg()[0])
