"""Single input (Max-Margin Token Selection; official ``single_input_converge`` notebook, notes A2 and A5).

Six initial prompts on the y-axis, p(0) = (0, c, 0), trained by normalised GD on the global (gamma_3 = 0.9)
and the local (gamma_3 = 0) instance; per start, the token selected after ``steps`` (1000, the
notebook's run length; it plots the first 200 iterations) and corr(p, p^mm(selected token)).
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import torch

from attnbench.sweeps.experiments.att_svm.common import train_prompt, vector_corr
from attnbench.sweeps.experiments.att_svm.params import PromptParams
from attnbench.sweeps.experiments.base import RunContext
from attnbench.sweeps.rows import Row, row
from attnbench.tasks.token_selection import single_input_instance
from attnbench.theory.att_svm import min_norm_nnls, prompt_features

STARTS = (-3.0, -2.0, -1.0, 1.0, 2.0, 3.0)


def run_single_input(p: PromptParams, ctx: RunContext) -> pd.DataFrame:
    """The rows of the single-input study (see the module docstring)."""
    starts = torch.tensor([[0.0, c, 0.0] for c in STARTS], dtype=torch.float64)
    rows: list[Row] = []
    for third, name in ((0.0, "local"), (0.9, "global")):
        inst = single_input_instance(third)
        final_p = train_prompt(inst, starts, False, p.steps, p.lr, ctx).params["p"][-1]
        selected = torch.einsum("td,rd->rt", inst.keys[0], final_p).argmax(-1)
        keys = inst.keys.numpy()
        for r, token in enumerate(selected.tolist()):
            features = prompt_features(keys, np.array([token]))
            target = min_norm_nnls(features, np.ones(len(features)))
            corr = float(vector_corr(final_p[r : r + 1], target.require())[0]) if target.feasible else math.nan
            base = dict(step=p.steps, seed=r, instance=name)
            rows.append(row("selected_token", token, **base))
            rows.append(row("selected_is_opt", token == 0, predicted=1.0 if name == "global" else math.nan, **base))
            rows.append(row("corr_p_mm_selected", corr, predicted=1.0, **base))
    return pd.DataFrame(rows)
