"""The computing side of the att_svm family: ``run`` runs the studies named in ``params.sections`` (column
``section`` of the table) and returns one tidy table. It never imports the claims or figures."""

from __future__ import annotations

from collections.abc import Callable

import pandas as pd

from attnbench.sweeps.experiments.att_svm.params import AttSvmParams
from attnbench.sweeps.experiments.att_svm.study_joint import joint
from attnbench.sweeps.experiments.att_svm.study_local import local_converge
from attnbench.sweeps.experiments.att_svm.study_nonlinear import nonlinear
from attnbench.sweeps.experiments.att_svm.study_overparam import overparam
from attnbench.sweeps.experiments.att_svm.study_rank import rank
from attnbench.sweeps.experiments.att_svm.study_single_input import single_input
from attnbench.sweeps.experiments.base import RunContext

STUDIES: dict[str, Callable[[AttSvmParams, RunContext], list[dict]]] = {
    "local_converge": local_converge, "rank": rank, "overparam": overparam, "nonlinear": nonlinear,
    "joint": joint, "single_input": single_input}


def run(params: AttSvmParams, ctx: RunContext) -> pd.DataFrame:
    """Every study of ``params.sections``, in that order, as one tidy table."""
    rows: list[dict] = []
    for name in params.sections:
        ctx.log(f"att_svm: {name}")
        rows += STUDIES[name](params, ctx)
    return pd.DataFrame(rows)
