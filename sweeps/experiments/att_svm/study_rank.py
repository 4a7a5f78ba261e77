"""Ranks of the Att-SVM solutions (TF-as-SVM; official ``svm_rank`` notebook, notes A5 and A2).

No training: per d, the Frobenius W^mm and nuclear W^mm_* solutions at alpha = opt on ``instances``
Gaussian instances; their ranks, and the number of examples with a support token (``active_examples``, the
KKT count of notes A2). Instances with tied scores (``opt_unique = 0``) or an infeasible SVM
(``feasible = 0``) are counted as rows, never skipped.
"""

from __future__ import annotations

import pandas as pd

from attnbench.sweeps.experiments.att_svm.params import RankParams
from attnbench.sweeps.experiments.base import RunContext
from attnbench.sweeps.rows import Row, row
from attnbench.tasks.token_selection import TokenSelectionConfig, sample_ensemble, token_scores, unique_optimum
from attnbench.theory.att_svm import att_svm, att_svm_scipy, matrix_rank, support_tokens


def run_rank(p: RankParams, ctx: RunContext) -> pd.DataFrame:
    """The rows of the rank study (see the module docstring)."""
    rows: list[Row] = []
    for d in p.dims:
        data = sample_ensemble(TokenSelectionConfig(p.examples, p.tokens, d), "test", p.instances)
        unique = unique_optimum(data.inputs, data.targets, data.v)
        opt = token_scores(data.inputs, data.targets, data.v).argmax(-1).numpy()
        for r in range(p.instances):
            X, z = data.inputs[r].numpy(), data.z[r].numpy()
            base = dict(step=0, seed=r, d=d, n=p.examples)
            rows.append(row("opt_unique", bool(unique[r]), **base))
            if not unique[r]:  # opt is undefined (tied scores, e.g. d = 1): counted, not solved
                continue
            fro = att_svm_scipy(X, z, opt[r])  # exact active set: ranks and support sets need it
            rows.append(row("feasible", fro.feasible, **base))
            if not fro.feasible:
                continue
            W = fro.require()
            active = int(support_tokens(X, z, opt[r], W).any(-1).sum())  # examples with a support token
            rows.append(row("active_examples", active, **base))
            rows.append(row("rank_fro", matrix_rank(W), predicted=min(active, d), **base))
            rows.append(row("rank_nuc", matrix_rank(att_svm(X, z, opt[r], "nuc").require()), **base))
    return pd.DataFrame(rows)
