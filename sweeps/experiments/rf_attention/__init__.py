"""Random-feature attention (Fu, Guo, Bai & Mei, NeurIPS 2023, arXiv 2307.11353): what one layer learns.

`params` (one nested section per study), `studies` (the five studies, their `SECTIONS` and the run: the
computing part), `claims` and `figures` (presentation, never imported by the computing part, so editing them
leaves the stored runs current).
"""

from __future__ import annotations

from attnbench.sweeps.experiments.base import Experiment, Profile
from attnbench.sweeps.experiments.rf_attention.claims import CLAIMS
from attnbench.sweeps.experiments.rf_attention.figures import draw
from attnbench.sweeps.experiments.rf_attention.params import RFAttentionParams
from attnbench.sweeps.experiments.rf_attention.studies import SECTIONS, run

EXPERIMENT = Experiment(
    name="rf_attention",
    description="Random-feature attention (Fu et al. 2023): kernel limit, rates, mean of W, vs RF-MLP",
    params=RFAttentionParams,
    run=run,
    claims=CLAIMS,
    draw=draw,
    tiny=Profile(
        overrides={
            "heads": {"grid": [10, 40, 160, 480], "train_size": 200, "test_size": 200},
            "samples": {"grid": [50, 100, 200], "test_size": 200},
            "permutation": {"test_size": 200, "permutations": 3},
            "mean": {"grid": [0.0, 2.0, 8.0], "heads": 40, "train_size": 200, "test_size": 200},
            "keys": {"grid": [2, 10], "heads": 40, "ridges": [1e-4, 1e-2], "train_size": 200, "test_size": 200},
            "gd": {"heads": 40, "train_size": 200, "test_size": 200, "steps": 500},
        }
    ),
    paper=Profile(
        overrides={
            "heads": {"grid": [40, 160, 640, 1280, 2560, 5120], "train_size": 2000, "test_size": 2000, "seeds": 5},
            "samples": {"grid": [250, 500, 1000, 2000, 4000], "heads": 1000, "test_size": 2000, "seeds": 5},
            "permutation": {"heads": 1000, "test_size": 2000, "seeds": 5},
            "mean": {"heads": 500, "train_size": 2000, "test_size": 2000, "seeds": 5},
            "keys": {"grid": [2, 5, 10, 20, 40], "heads": 500, "train_size": 2000, "test_size": 2000, "seeds": 5},
            "gd": {
                "heads": 1000,
                "train_size": 2000,
                "test_size": 2000,
                "steps": 10000,
                "record_every": 100,
                "seeds": 5,
            },
        }
    ),
    sections=SECTIONS,
)
