"""Random-feature attention (Fu, Guo, Bai & Mei, NeurIPS 2023, arXiv 2307.11353): what one layer learns.

`params` (the sizes), `studies` (the five studies and the run: the computing part), `claims` and `figures`
(presentation, never imported by the computing part, so editing them leaves the stored runs current).
"""

from __future__ import annotations

from attnbench.sweeps.experiments.base import Experiment, Profile
from attnbench.sweeps.experiments.rf_attention.claims import CLAIMS
from attnbench.sweeps.experiments.rf_attention.figures import draw
from attnbench.sweeps.experiments.rf_attention.params import RFAttentionParams
from attnbench.sweeps.experiments.rf_attention.studies import run

EXPERIMENT = Experiment(
    name="rf_attention",
    description="Random-feature attention (Fu et al. 2023): kernel limit, rates, mean of W, vs RF-MLP",
    params=RFAttentionParams,
    run=run,
    claims=CLAIMS,
    draw=draw,
    tiny=Profile(overrides={"heads_grid": [10, 40, 160, 480], "train_size": 200, "test_size": 200,
                            "samples_grid": [50, 100, 200], "mean_grid": [0.0, 2.0, 8.0], "mean_heads": 40,
                            "keys_grid": [2, 10], "keys_heads": 40, "ridge_grid": [1e-4, 1e-2], "permutations": 3}),
    paper=Profile(overrides={"heads_grid": [40, 160, 640, 1280, 2560, 5120], "train_size": 2000,
                             "samples_grid": [250, 500, 1000, 2000, 4000], "samples_heads": 1000, "test_size": 2000,
                             "seeds": 5, "keys_grid": [2, 5, 10, 20, 40], "keys_heads": 500, "mean_heads": 500}),
)
