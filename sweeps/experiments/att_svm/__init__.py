"""Attention as max-margin token selection (Tarzanagh et al. 2023, arXiv 2308.16898 and 2306.13596).

Six studies, one per module, each a ``section`` of the table (notes ``svm_scansnap.md`` A5):
``local_converge`` (`study_local`), ``rank`` (`study_rank`), ``overparam`` (`study_overparam`),
``nonlinear`` (`study_nonlinear`), ``joint`` (`study_joint`) and ``single_input`` (`study_single_input`);
`sections.run` runs them. The claims (`claims`) and figures (`figures`) read the table alone, and the
computing modules never import them.
"""

from __future__ import annotations

from attnbench.sweeps.experiments.att_svm.claims import CLAIMS
from attnbench.sweeps.experiments.att_svm.figures import draw
from attnbench.sweeps.experiments.att_svm.params import AttSvmParams
from attnbench.sweeps.experiments.att_svm.sections import run
from attnbench.sweeps.experiments.base import Experiment, Profile

EXPERIMENT = Experiment(
    name="att_svm",
    description="Attention as max-margin token selection: GD on one attention layer vs Att-SVM solutions",
    params=AttSvmParams,
    run=run,
    claims=CLAIMS,
    draw=draw,
    tiny=Profile(overrides={"runs": 8, "steps": 1000, "record_every": 100, "rank_instances": 8,
                            "overparam_ds": [2, 16], "overparam_runs": 40, "overparam_steps": 300,
                            "nonlinear_ds": [4, 6], "nonlinear_runs": 150, "nonlinear_steps": 1000,
                            "prompt_steps": 300, "single_input_steps": 300}),
    paper=Profile(overrides={"runs": 100, "rank_ds": [1, 2, 3, 4, 5, 10, 15, 20], "rank_instances": 100,
                             "overparam_ds": [2, 4, 6, 8, 10, 15, 20, 30], "overparam_runs": 100,
                             "overparam_steps": 1000, "nonlinear_ds": [4, 6, 8, 10], "nonlinear_runs": 1500}),
)
