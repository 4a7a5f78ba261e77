"""Joint (v, p) training (Max-Margin Token Selection, joint training; official ``joint_training`` notebook,
notes A4 and A5): on the tight and the relaxed example, corr(v(k), v^mm) and corr(p(k), p^relax) per
recorded step; p^relax keeps margin 1 only for the inputs that are support vectors of v^mm."""

from __future__ import annotations

import numpy as np
import pandas as pd
import torch

from attnbench.sweeps.experiments.att_svm.common import train_prompt, vector_corr
from attnbench.sweeps.experiments.att_svm.params import PromptParams
from attnbench.sweeps.experiments.base import RunContext
from attnbench.sweeps.rows import Row, row
from attnbench.tasks.token_selection import joint_training_instance
from attnbench.theory.att_svm import head_svm, relaxed_prompt_svm


def run_joint(p: PromptParams, ctx: RunContext) -> pd.DataFrame:
    """The rows of the joint-training study (see the module docstring)."""
    rows: list[Row] = []
    for relaxed in (False, True):
        inst = joint_training_instance(relaxed)
        p0 = torch.tensor([[0.0, -1.0]], dtype=torch.float64)
        traj = train_prompt(inst, p0, True, p.steps, p.lr, ctx)
        alpha = np.ones(len(inst.X), dtype=int)  # the non-zero token is selected (max-margin prediction)
        v_mm = head_svm(inst.X[:, 1].numpy(), inst.Y.numpy()).require()
        head_margins = inst.Y.numpy() * (inst.X[:, 1].numpy() @ v_mm)
        tight = np.flatnonzero(np.abs(head_margins - 1) < 1e-6)
        p_relax = relaxed_prompt_svm(inst.keys.numpy(), alpha, tight).require()
        name = "relaxed" if relaxed else "tight"
        for metric, series in (
            ("corr_v", vector_corr(traj.params["v"][:, 0], v_mm)),
            ("corr_p", vector_corr(traj.params["p"][:, 0], p_relax)),
        ):
            rows += [
                row(metric, c, predicted=1.0, step=s, seed=0, instance=name, support_inputs=len(tight))
                for s, c in zip(traj.steps, series.tolist(), strict=True)
            ]
    return pd.DataFrame(rows)
