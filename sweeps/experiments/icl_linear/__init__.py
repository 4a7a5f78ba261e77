"""In-context linear regression: what one attention layer learns (He et al. 2025; Zhang, Frei & Bartlett 2023).

`study` computes the runs (`study_dynamics` their training dynamics), `checks` and `claims` judge them
(`dynamics_checks`, `dynamics_claims`), `figures` draws them (`dynamics_figures`).
"""

from __future__ import annotations

from attnbench.sweeps.experiments.base import Experiment, Profile
from attnbench.sweeps.experiments.icl_linear.claims import CLAIMS
from attnbench.sweeps.experiments.icl_linear.figures import draw
from attnbench.sweeps.experiments.icl_linear.study import EVAL_CHUNK, IclLinearParams, run

FLOAT = 4  # bytes


def estimate_bytes(params: IclLinearParams) -> float:
    """The largest working set of a run, roughly: the per-head keys (members x prompts x heads x L x (d+1))
    of the batched ensemble in training (kept for the backward pass, a few copies) or in evaluation (one
    chunk at the longest test length) or the reduced model's full-batch attention weights, plus the shared
    test prompts of every length."""
    heads, width = max(params.heads), params.dim + 1
    train = 4 * params.seeds * params.batch_size * heads * (params.train_length + 1) * width * FLOAT
    longest = max(params.test_lengths) + 1
    evaluate = 2 * params.seeds * min(EVAL_CHUNK, params.test_prompts) * (heads + 1) * longest * width * FLOAT
    prompts = sum(params.test_prompts * (n + 1) * (params.dim + 1) for n in params.test_lengths) * FLOAT
    reduced = 4 * params.seeds * heads * params.dynamics_population * params.train_length * FLOAT
    return max(train, evaluate, reduced) + prompts


EXPERIMENT = Experiment(
    name="icl_linear",
    description="In-context linear regression: multi-head softmax vs debiased GD, linear attention vs ZFB",
    params=IclLinearParams,
    run=run,
    claims=CLAIMS,
    draw=draw,
    sweep={"train_length": "80,40,20"},
    # Seconds on one core: 300 steps at a 10x larger learning rate reach ± heads but not the γ → 0 limit.
    tiny=Profile(
        overrides={
            "seeds": 2,
            "steps": 300,
            "lr": 1e-2,
            "batch_size": 64,
            "lsa_steps": 300,
            "test_lengths": [10, 40],
            "test_prompts": 2048,
            "dynamics_batches": [16, 64],
            "dynamics_population": 512,
        },
        grid={"train_length": "20"},
    ),
    paper=Profile(
        overrides={"seeds": 5, "steps": 500_000, "lsa_steps": 20_000, "test_prompts": 65536, "log_every": 5000}
    ),
    estimate_bytes=estimate_bytes,
)
