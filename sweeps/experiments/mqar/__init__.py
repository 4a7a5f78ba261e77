"""MQAR recall vs model width and number of key-value pairs (Arora et al. 2024, "Zoology", Fig. 2).

Claims: softmax recalls whenever the pairs fit; linear attention degrades as pairs outgrow its fixed d×d
state (and does not lose accuracy as the state grows); LLA is at least as good as softmax (Zuo et al. 2025,
Sec. 5). The runs are computed by `study` (its code fingerprint), judged by `claims`, drawn by `figures`.
"""

from __future__ import annotations

from attnbench.sweeps.experiments.base import Experiment, Profile
from attnbench.sweeps.experiments.mqar.claims import CLAIMS
from attnbench.sweeps.experiments.mqar.figures import draw
from attnbench.sweeps.experiments.mqar.study import PAPER, MQARParams, run

EXPERIMENT = Experiment(
    name="mqar",
    description="MQAR accuracy vs width and #KV pairs for softmax, linear attention, LLA (Zoology Fig. 2)",
    params=MQARParams,
    run=run,
    claims=CLAIMS,
    draw=draw,
    sweep={"models": "[softmax,linear],[lla]"},  # LLA's CPU cost in a job of its own, on the second core
    tiny=Profile(
        overrides={
            "vocab_size": 16,
            "seq_len": 16,
            "widths": [8, 16],
            "max_width": {"lla": 8},
            "steps": 60,
            "batch_size": 16,
            "seeds": 2,
            "eval_batches": 1,
            "kv_pairs": [2, 4],
        },
        grid={"models": "[softmax,linear],[lla]"},
    ),
    paper=Profile(overrides=PAPER, grid={"models": "[softmax],[linear],[deltanet],[lla]"}),
)
