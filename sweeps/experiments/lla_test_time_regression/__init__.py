"""LLA test-time regression (Zuo et al. 2025, arXiv 2510.01450, §5 Fig. 2): in-context (untrained) regression on
a piecewise-linear stream, LLA vs softmax, linear attention and ridge (MesaNet) with/without intercept.

`run` (params and the run: the computing part), `tables`, `claims` and `figures` (presentation, never imported
by the computing part, so editing them leaves the stored runs current).
"""

from __future__ import annotations

from attnbench.sweeps.experiments.base import Experiment, Profile
from attnbench.sweeps.experiments.lla_test_time_regression.claims import CLAIMS
from attnbench.sweeps.experiments.lla_test_time_regression.figures import draw
from attnbench.sweeps.experiments.lla_test_time_regression.run import LLATestTimeRegressionParams, run

EXPERIMENT = Experiment(
    name="lla_test_time_regression",
    description="In-context (untrained) test-time regression on a piecewise-linear stream: LLA vs softmax, "
    "linear attention, ridge (MesaNet) with/without intercept",
    params=LLATestTimeRegressionParams,
    run=run,
    claims=CLAIMS,
    draw=draw,
    tiny=Profile(overrides={"length": 256, "segment_lengths": [32, 64], "dims": [4, 8], "streams": 4}),
    paper=Profile(overrides={"segment_lengths": [32, 64, 128, 256, 512], "dims": [4, 8, 16, 32, 64], "seeds": 16}),
)
