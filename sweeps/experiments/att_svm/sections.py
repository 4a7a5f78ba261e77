"""The computing side of the att_svm family: its six studies as `Section`s, each run on its own nested params
(``params.<study>``), and ``run``, which runs those named in ``params.sections`` and tags their rows with the
``section`` column (ARCHITECTURE.md, "Sections"). It never imports the claims or figures."""

from __future__ import annotations

import pandas as pd

from attnbench.sweeps.experiments.att_svm.params import AttSvmParams
from attnbench.sweeps.experiments.att_svm.study_joint import run_joint
from attnbench.sweeps.experiments.att_svm.study_local import run_local_converge
from attnbench.sweeps.experiments.att_svm.study_nonlinear import run_nonlinear
from attnbench.sweeps.experiments.att_svm.study_overparam import run_overparam
from attnbench.sweeps.experiments.att_svm.study_rank import run_rank
from attnbench.sweeps.experiments.att_svm.study_single_input import run_single_input
from attnbench.sweeps.experiments.base import RunContext, Section, run_sections

SECTIONS = (
    Section(
        "local_converge",
        run_local_converge,
        "GD on W and on (K, Q): corr with W^mm_α and W^mm_*,α, "
        "softmax mass on the selected tokens, local optimality of the selection",
    ),
    Section("rank", run_rank, "ranks of the Frobenius and nuclear Att-SVM solutions vs d, no training"),
    Section("overparam", run_overparam, "share of runs whose final selection is opt, vs d"),
    Section(
        "nonlinear",
        run_nonlinear,
        "ReLU head: 1 - corr with the generalised SVM-eq, its direction part and the single-token SVM",
    ),
    Section("joint", run_joint, "joint (v, p) training: corr with v^mm and p^relax, tight and relaxed example"),
    Section("single_input", run_single_input, "one input, six starts: the selected token and corr with p^mm"),
)


def run(params: AttSvmParams, ctx: RunContext) -> pd.DataFrame:
    """Every study of ``params.sections`` as one tidy table."""
    return run_sections(SECTIONS, params, ctx)
