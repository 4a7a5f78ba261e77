"""MQAR recall vs model width and number of key-value pairs (Arora et al. 2024, "Zoology", Fig. 2).

Claims: softmax recalls in every cell; linear attention degrades once the pairs outgrow its d-pair state (and
does not lose accuracy as the state grows); DeltaNet beats linear attention at equal state; LLA is at least as
good as softmax wherever softmax recalls (Zuo et al. 2025, Sec. 5). The runs are computed by `study` (its code
fingerprint), judged by `claims`, drawn by `figures`.
"""

from __future__ import annotations

from attnbench.sweeps.experiments.base import Experiment, Profile
from attnbench.sweeps.experiments.mqar.claims import CLAIMS
from attnbench.sweeps.experiments.mqar.figures import draw
from attnbench.sweeps.experiments.mqar.study import PAPER, MQARParams, run

# Two jobs of about equal CPU cost (measured per member-step at the quick sizes): LLA's ~6x softmax beside the rest.
SPLIT = "[lla,linear],[softmax,linear_elu,sigmoid,deltanet,gated_linear,random_feature]"

EXPERIMENT = Experiment(
    name="mqar",
    description="MQAR accuracy vs width and #KV pairs for eight mixers, with capacity lines (Zoology Fig. 2)",
    params=MQARParams,
    run=run,
    claims=CLAIMS,
    draw=draw,
    sweep={"models": SPLIT},
    tiny=Profile(
        overrides={
            "vocab_size": 16,
            "seq_len": 16,
            "widths": [8, 16],
            "steps": 60,
            "lrs": [1e-2, 3e-2],
            "batch_size": 16,
            "seeds": 2,
            "eval_batches": 1,
            "kv_pairs": [2, 4],
        },
        grid={"models": SPLIT},
    ),
    paper=Profile(overrides=PAPER, grid={"models": "[softmax],[linear],[deltanet],[lla]"}),
)
