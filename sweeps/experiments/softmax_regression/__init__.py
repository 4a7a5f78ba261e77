"""In-context softmax regression vs one GD step (Li, Song, Xia, Yu & Zhou 2023, arXiv 2304.13276; notes C).

The two compared models are `attnbench.models.softmax_regression`; `study` computes the runs (with the
adversarial searches of `adversarial`), `claims` judges them, `figures` draws them.
"""

from __future__ import annotations

from attnbench.sweeps.experiments.base import Experiment, Profile
from attnbench.sweeps.experiments.softmax_regression.claims import CLAIMS
from attnbench.sweeps.experiments.softmax_regression.figures import draw
from attnbench.sweeps.experiments.softmax_regression.study import SoftmaxRegressionParams, run

EXPERIMENT = Experiment(
    name="softmax_regression",
    description="ICL vs one GD step for softmax regression (Li, Song et al. 2023): trends and shift bounds",
    params=SoftmaxRegressionParams,
    run=run,
    claims=CLAIMS,
    draw=draw,
    tiny=Profile(
        overrides={
            "rows_grid": [10],
            "radius_grid": [1.0, 4.0],
            "seeds": 1,
            "steps": 80,
            "eval_every": 40,
            "test_size": 64,
            "bound_trials": 100,
            "adversarial_starts": 1,
            "adversarial_steps": 40,
        }
    ),
    paper=Profile(
        overrides={
            "rows_grid": [25, 200],
            "dim": 20,
            "seeds": 5,
            "steps": 2000,
            "test_size": 1024,
            "radius_grid": [1.0, 2.0, 4.0],
            "adversarial_starts": 10,
            "adversarial_steps": 300,
        }
    ),
)
