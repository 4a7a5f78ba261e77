"""Linear self-attention dynamics (Zhang, Frei & Bartlett 2023): GD and SGD against the population gradient flow.

`run` (the computing part: flow, full-batch GD and SGD trajectories per seed), `claims` and `figures`
(presentation, never imported by the computing part, so editing them leaves the stored runs current).
"""

from __future__ import annotations

from attnbench.sweeps.experiments.base import Experiment, Profile
from attnbench.sweeps.experiments.lsa_dynamics.claims import CLAIMS
from attnbench.sweeps.experiments.lsa_dynamics.figures import draw
from attnbench.sweeps.experiments.lsa_dynamics.run import LSADynamicsParams, run

EXPERIMENT = Experiment(
    name="lsa_dynamics",
    description="Linear self-attention (Zhang, Frei & Bartlett 2023): GD and SGD against the population flow",
    params=LSADynamicsParams,
    run=run,
    claims=CLAIMS,
    draw=draw,
    tiny=Profile(
        overrides={
            "seeds": 3,
            "horizon": 10.0,
            "gd_step_sizes": [0.02, 0.01, 0.005],
            "sgd_batches": [128, 512],
            "records": 20,
        }
    ),
    paper=Profile(
        overrides={
            "seeds": 10,
            "horizon": 60.0,
            "gd_step_sizes": [0.04, 0.02, 0.01, 0.005, 0.0025],
            "sgd_batches": [128, 512, 2048, 8192],
        }
    ),
)
