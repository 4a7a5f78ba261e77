"""Over-parameterisation (TF-as-SVM abstract (3), notes A3): per d and run, whether the tokens that W
selects after ``steps`` of normalised GD are the globally optimal ones."""

from __future__ import annotations

import pandas as pd
import torch

from attnbench.models.svm_attention import attention_probs, attention_run_losses
from attnbench.sweeps.experiments.att_svm.common import init_params, train
from attnbench.sweeps.experiments.att_svm.params import OverparamParams
from attnbench.sweeps.experiments.base import RunContext
from attnbench.sweeps.rows import Row, row
from attnbench.tasks.token_selection import TokenSelectionConfig, optimal_tokens, sample_ensemble


def run_overparam(p: OverparamParams, ctx: RunContext) -> pd.DataFrame:
    """One ``global`` row (1: the final selection is opt) per d and run."""
    rows: list[Row] = []
    gen = torch.Generator().manual_seed(ctx.seed)
    for d in p.dims:
        data = sample_ensemble(TokenSelectionConfig(p.examples, p.tokens, d), "val", p.runs)
        losses = attention_run_losses(data.inputs, data.z, data.targets, v=data.v, loss=p.loss)
        init = init_params("W", p.runs, d, gen)
        traj = train(init, losses, p.steps, p.lr, p.steps, ctx, p.optimizer)
        alpha = attention_probs(data.inputs, traj.params["W"][-1], data.z).argmax(-1)
        hits = (alpha == optimal_tokens(data.inputs, data.targets, data.v)).all(-1)
        rows += [row("global", h, step=p.steps, seed=r, d=d) for r, h in enumerate(hits.tolist())]
    return pd.DataFrame(rows)
