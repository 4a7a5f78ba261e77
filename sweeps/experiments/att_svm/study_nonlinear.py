"""Nonlinear head (TF-as-SVM, SVM equivalence; official ``multi_token_converge`` notebook, notes A2 and A5).

The head f = 1^T ReLU(V^T X^T s) with V Gaussian, ||V||_F = 1, fixed; W trained by normalised GD. Per
accepted run and recorded step, 1 - corr of W(k) with the generalised SVM-eq W^fin + R W^dir (R fitted by
least squares to the final iterate, as in the notebook), with its direction part W^dir alone, and with the
single-token SVM at alpha = argmax s. The notebook's rejection rules: no label -1, some s in (1e-6, 1e-3],
no s <= 1e-6, or an infeasible SVM; rejected runs are rows ``accepted = 0`` (the notebook draws new seeds
until it has enough accepted runs).
"""

from __future__ import annotations

import pandas as pd
import torch

from attnbench.models.svm_attention import attention_probs, attention_run_losses, correlation
from attnbench.sweeps.experiments.att_svm.common import init_params, train
from attnbench.sweeps.experiments.att_svm.params import NonlinearParams
from attnbench.sweeps.experiments.base import RunContext
from attnbench.sweeps.rows import Row, row
from attnbench.tasks.token_selection import TokenSelectionConfig, sample_ensemble
from attnbench.theory.att_svm import att_svm_scipy, svm_equivalent


def unit_frobenius(x: torch.Tensor) -> torch.Tensor:
    """x / ||x||_F over the last two axes."""
    return x / x.flatten(-2).norm(dim=-1)[..., None, None]


def run_nonlinear(p: NonlinearParams, ctx: RunContext) -> pd.DataFrame:
    """The rows of the nonlinear-head study (see the module docstring)."""
    rows: list[Row] = []
    gen = torch.Generator().manual_seed(ctx.seed)
    for d in p.dims:
        data = sample_ensemble(TokenSelectionConfig(p.examples, p.tokens, d), "val", p.runs)
        V = unit_frobenius(torch.randn(p.runs, d, d, generator=gen, dtype=torch.float64))
        losses = attention_run_losses(data.inputs, data.z, data.targets, V=V)
        traj = train(init_params("W", p.runs, d, gen), losses, p.steps, p.lr, 100, ctx)
        Ws = traj.params["W"]
        probs = attention_probs(data.inputs, Ws[-1], data.z)
        for r in range(p.runs):
            s = probs[r].numpy()
            has_negative = bool((data.targets[r] < 0).any())  # the notebook redraws instances without a -1 label
            accepted = has_negative and not ((s > 1e-6) & (s <= 1e-3)).any() and (s <= 1e-6).any()
            X, z = data.inputs[r].numpy(), data.z[r].numpy()
            eq = svm_equivalent(X, z, s, Ws[-1, r].numpy()) if accepted else None
            single = att_svm_scipy(X, z, s.argmax(-1)) if accepted else None
            accepted = accepted and hasattr(eq, "W_eq") and single.feasible
            rows.append(row("accepted", accepted, step=p.steps, seed=r, d=d))
            if not accepted:
                continue
            rows.append(row("max_masked_prob", s[s < 1e-3].max(), step=p.steps, seed=r, d=d))
            for metric, target in (
                ("one_minus_corr_eq", eq.W_eq),
                ("one_minus_corr_dir", eq.W_dir),
                ("one_minus_corr_1token", single.require()),
            ):
                gap = 1 - correlation(Ws[:, r], torch.from_numpy(target))
                rows += [row(metric, g, step=st, seed=r, d=d) for st, g in zip(traj.steps, gap.tolist(), strict=True)]
    return pd.DataFrame(rows)
