"""Local convergence of GD on one attention layer (TF-as-SVM; official ``local_converge`` notebook, notes A5).

W and (K, Q) ensembles trained by normalised GD; per run and recorded step, corr(W(k), W^mm_alpha)
(``corr_fro``), corr(W(k), W^mm_{*,alpha}) (``corr_nuc``) and the softmax mass on the selected tokens
(``selected_prob``), with alpha = the tokens selected at the last step, as in the notebook; per run, whether
the SVM at alpha is feasible, whether alpha = opt, and (W runs) whether alpha is locally optimal (notes A2).
"""

from __future__ import annotations

import math

import pandas as pd
import torch

from attnbench.models.svm_attention import attention_probs, attention_run_losses, correlation, key_query_product
from attnbench.sweeps.experiments.att_svm.common import PARAMETERISATIONS, init_params, train
from attnbench.sweeps.experiments.att_svm.params import LocalConvergeParams
from attnbench.sweeps.experiments.base import RunContext
from attnbench.sweeps.rows import Row, row
from attnbench.tasks.token_selection import TokenSelectionConfig, optimal_tokens, sample_ensemble, token_scores
from attnbench.theory.att_svm import att_svm, check_local_optimality


def attention_matrices(kind: str, params: dict[str, torch.Tensor]) -> torch.Tensor:
    """W(k) for every snapshot: (S, R, d, d); W = K Q^T for the (K, Q) parameterisation."""
    return params["W"] if kind == "W" else key_query_product(params["K"], params["Q"])


def run_local_converge(p: LocalConvergeParams, ctx: RunContext) -> pd.DataFrame:
    """The rows of the local-convergence study (see the module docstring)."""
    data = sample_ensemble(TokenSelectionConfig(p.examples, p.tokens, p.dim), "train", p.runs)
    gen = torch.Generator().manual_seed(ctx.seed)
    losses = attention_run_losses(data.inputs, data.z, data.targets, v=data.v, loss=p.loss)
    opt = optimal_tokens(data.inputs, data.targets, data.v)
    gamma = token_scores(data.inputs, data.targets, data.v)
    rows: list[Row] = []
    for kind in PARAMETERISATIONS:
        traj = train(init_params(kind, p.runs, p.dim, gen), losses, p.steps, p.lr, p.record_every, ctx, p.optimizer)
        Ws = attention_matrices(kind, traj.params)
        alpha = attention_probs(data.inputs, Ws[-1], data.z).argmax(-1)
        for r in range(p.runs):
            X, z, a = data.inputs[r].numpy(), data.z[r].numpy(), alpha[r].numpy()
            seed = ctx.seed * 100_000 + r
            local = check_local_optimality(X, z, a, gamma[r].numpy())
            final = dict(step=p.steps, seed=seed, param=kind, d=p.dim)
            rows.append(row("svm_feasible", local.feasible, **final))
            rows.append(row("alpha_is_opt", bool((alpha[r] == opt[r]).all()), **final))
            if kind == "W":  # local optimality is defined through the Frobenius W^mm_alpha (notes A2)
                rows.append(row("locally_optimal", local.locally_optimal, predicted=1.0, **final))
            if not local.feasible:
                continue
            targets = {"corr_fro": att_svm(X, z, a, "fro").require(), "corr_nuc": att_svm(X, z, a, "nuc").require()}
            predicted_metric = "corr_fro" if kind == "W" else "corr_nuc"
            steps = len(traj.steps)
            selected = attention_probs(
                data.inputs[r : r + 1].expand(steps, -1, -1, -1), Ws[:, r], data.z[r : r + 1].expand(steps, -1, -1)
            )
            selected = selected.gather(-1, alpha[r].expand(steps, -1).unsqueeze(-1)).squeeze(-1)
            for metric, target in targets.items():
                corr = correlation(Ws[:, r], torch.from_numpy(target))
                pred = 1.0 if metric == predicted_metric else math.nan
                rows += [
                    row(metric, c, predicted=pred, step=s, seed=seed, param=kind, d=p.dim)
                    for s, c in zip(traj.steps, corr.tolist(), strict=True)
                ]
            rows += [
                row("selected_prob", m, predicted=1.0, step=s, seed=seed, param=kind, d=p.dim)
                for s, m in zip(traj.steps, selected.mean(-1).tolist(), strict=True)
            ]
    return pd.DataFrame(rows)
