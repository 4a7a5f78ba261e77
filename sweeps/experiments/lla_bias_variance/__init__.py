"""LLA bias–variance (Zuo et al. 2025, arXiv 2510.01450, §2): global linear vs Nadaraya–Watson (softmax) vs
local linear (LLA) regression IMSE rates.

`run` (params and the run: the computing part), `tables`, `claims` and `figures` (presentation, never imported
by the computing part, so editing them leaves the stored runs current).
"""

from __future__ import annotations

import numpy as np

from attnbench.sweeps.experiments.base import Experiment, Profile
from attnbench.sweeps.experiments.lla_bias_variance.claims import CLAIMS
from attnbench.sweeps.experiments.lla_bias_variance.figures import draw
from attnbench.sweeps.experiments.lla_bias_variance.run import LLABiasVarianceParams, run

EXPERIMENT = Experiment(
    name="lla_bias_variance",
    description="Global linear vs Nadaraya–Watson (softmax) vs local linear (LLA) regression: IMSE rates",
    params=LLABiasVarianceParams,
    run=run,
    claims=CLAIMS,
    draw=draw,
    tiny=Profile(
        overrides={
            "sample_sizes": [250, 750, 2250],
            "n_test": 200,
            "n_test_linear": 20000,
            "bandwidths": np.geomspace(0.03, 0.3, 6).round(5).tolist(),
        }
    ),
    paper=Profile(
        overrides={"dim": 2, "sample_sizes": [100, 316, 1000, 3162, 10000, 31623], "seeds": 8, "n_test": 2000}
    ),
)
