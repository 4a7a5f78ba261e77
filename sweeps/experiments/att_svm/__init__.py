"""Attention as max-margin token selection (Tarzanagh et al. 2023, arXiv 2308.16898 and 2306.13596).

Six studies, one per module, each a first-class section of the table (notes ``svm_scansnap.md`` A5):
``local_converge`` (`study_local`), ``rank`` (`study_rank`), ``overparam`` (`study_overparam`),
``nonlinear`` (`study_nonlinear`), ``joint`` (`study_joint`) and ``single_input`` (`study_single_input`),
each with its own nested params (`params`, ``params.<study>.<key>``); `sections.SECTIONS` lists them and
`sections.run` runs them. The claims (`claims`) and figures (`figures`) read the table alone, and the
computing modules never import them.
"""

from __future__ import annotations

from attnbench.sweeps.experiments.att_svm.claims import CLAIMS
from attnbench.sweeps.experiments.att_svm.figures import draw
from attnbench.sweeps.experiments.att_svm.params import AttSvmParams
from attnbench.sweeps.experiments.att_svm.sections import SECTIONS, run
from attnbench.sweeps.experiments.base import Experiment, Profile

EXPERIMENT = Experiment(
    name="att_svm",
    description="Attention as max-margin token selection: GD on one attention layer vs Att-SVM solutions",
    params=AttSvmParams,
    run=run,
    claims=CLAIMS,
    draw=draw,
    sections=SECTIONS,
    tiny=Profile(
        overrides={
            "local_converge": {"runs": 8, "steps": 1000, "record_every": 100},
            "rank": {"instances": 8},
            "overparam": {"dims": [2, 16], "runs": 40, "steps": 300},
            "nonlinear": {"dims": [4, 6], "runs": 150, "steps": 1000},
            "joint": {"steps": 300},
            "single_input": {"steps": 300},
        }
    ),
    paper=Profile(
        overrides={
            "local_converge": {"runs": 100},
            "rank": {"dims": [1, 2, 3, 4, 5, 10, 15, 20], "instances": 100},
            "overparam": {"dims": [2, 4, 6, 8, 10, 15, 20, 30], "runs": 100, "steps": 1000},
            "nonlinear": {"dims": [4, 6, 8, 10], "runs": 1500},
        }
    ),
)
