"""State tracking and length generalisation: parity, modular arithmetic and group word problems.

Claims: DeltaNet with β ∈ [0, 2] solves parity at every length, DeltaNet with β ∈ [0, 1] does not (Grazzi et
al. 2025); LLA ≈ softmax (Zuo et al. 2025, Sec. 5). The runs are computed by `study` (its code fingerprint),
judged by `claims`, drawn by `figures`.
"""

from __future__ import annotations

from attnbench.sweeps.experiments.base import Experiment, Profile
from attnbench.sweeps.experiments.state_tracking.claims import CLAIMS
from attnbench.sweeps.experiments.state_tracking.figures import draw
from attnbench.sweeps.experiments.state_tracking.study import PAPER, StateTrackingParams, run

EXPERIMENT = Experiment(
    name="state_tracking",
    description="Parity / word problems: length generalisation of softmax, DeltaNet β∈[0,1] vs β∈[0,2], LLA",
    params=StateTrackingParams,
    run=run,
    claims=CLAIMS,
    draw=draw,
    sweep={"models": "[softmax,deltanet,deltanet_neg],[lla]"},  # LLA's CPU cost in a job of its own
    # tiny: parity only, one layer, lengths 3..20 -> 20..28; DeltaNet β ∈ [0, 2] fits it in 100 steps at lr 1e-2
    tiny=Profile(
        overrides={
            "tasks": ["parity"],
            "width": 16,
            "depth": 1,
            "steps": 100,
            "lrs": [1e-2],
            "batch_size": 32,
            "seeds": 2,
            "eval_batches": 1,
            "train_max_len": 20,
            "eval_min_len": 20,
            "eval_max_len": 28,
            "length_bins": [20, 24, 28],
        },
        grid={"models": "[softmax,deltanet,deltanet_neg],[lla]"},
    ),
    paper=Profile(overrides=PAPER, grid={"models": "[softmax],[deltanet],[deltanet_neg],[lla]"}),
)
