"""The params of the att_svm family (Tarzanagh et al. 2023; notes ``svm_scansnap.md`` A5 for the sizes).

One nested `SectionParams` per study (ARCHITECTURE.md, "Sections"), each holding exactly the fields its study
reads (a shared value such as the step size is repeated, with the same default, in every study that uses it);
``sections`` names the studies a run computes. The papers' symbols are kept in the help texts: n examples of
T tokens in dimension d. The defaults are the quick profile (about a minute on one core).
"""

from __future__ import annotations

from dataclasses import dataclass

from attnbench.models.svm_attention import LOSSES
from attnbench.sweeps.experiments.base import require
from attnbench.sweeps.validation import Params, SectionParams, param, require_increasing, section

SECTIONS = ("local_converge", "rank", "overparam", "nonlinear", "joint", "single_input")
OPTIMIZERS = ("normalised", "gd")
LR_HELP = "step size η (notebooks: 0.1)"
OPTIMIZER_HELP = "normalised GD (the papers') or plain GD"
LOSS_HELP = "the loss ℓ of the linear head"


@dataclass
class LocalConvergeParams(SectionParams):
    """GD on W and on (K, Q) toward the Att-SVM directions (official ``local_converge`` notebook)."""

    runs: int = param(20, ge=1, help="runs per parameterisation (notebook: 100)")
    examples: int = param(6, ge=1, help="n, the examples per run")
    tokens: int = param(8, ge=2, help="T, the tokens per example")
    dim: int = param(10, ge=1, help="d, the embedding dimension")
    steps: int = param(2000, ge=1, help="optimiser steps (notebook: 2000)")
    lr: float = param(0.1, gt=0, help=LR_HELP)
    optimizer: str = param("normalised", choices=OPTIMIZERS, help=OPTIMIZER_HELP)
    loss: str = param("logistic", choices=tuple(sorted(LOSSES)), help=LOSS_HELP)
    record_every: int = param(10, ge=1, help="steps between recorded snapshots")


@dataclass
class RankParams(SectionParams):
    """Ranks of the Att-SVM solutions, no training (official ``svm_rank`` notebook)."""

    examples: int = param(5, ge=1, help="n, the examples per instance")
    tokens: int = param(5, ge=2, help="T, the tokens per example")
    dims: list[int] = param([2, 3, 5, 10], ge=1, help="the dimensions d (must contain d = n)")
    instances: int = param(20, ge=1, help="instances per d (notebook: 100)")

    def check(self) -> None:
        require_increasing(self.dims, "params.rank.dims")
        require(
            self.examples in self.dims, "params.rank.dims", f"must contain d = params.rank.examples = {self.examples}"
        )


@dataclass
class OverparamParams(SectionParams):
    """Global convergence as d grows (TF-as-SVM abstract (3))."""

    examples: int = param(6, ge=1, help="n, the examples per run")
    tokens: int = param(8, ge=2, help="T, the tokens per example")
    dims: list[int] = param([2, 4, 8, 16], ge=1, help="the dimensions d")
    runs: int = param(60, ge=1, help="runs per d")
    steps: int = param(500, ge=1, help="optimiser steps")
    lr: float = param(0.1, gt=0, help=LR_HELP)
    optimizer: str = param("normalised", choices=OPTIMIZERS, help=OPTIMIZER_HELP)
    loss: str = param("logistic", choices=tuple(sorted(LOSSES)), help=LOSS_HELP)

    def check(self) -> None:
        require_increasing(self.dims, "params.overparam.dims")


@dataclass
class NonlinearParams(SectionParams):
    """The ReLU head and the generalised SVM-eq (official ``multi_token_converge`` notebook)."""

    examples: int = param(3, ge=1, help="n, the examples per run")
    tokens: int = param(4, ge=2, help="T, the tokens per example")
    dims: list[int] = param([4, 10], ge=1, help="the dimensions d")
    runs: int = param(300, ge=1, help="drawn runs per d, before the notebook's rejection")
    steps: int = param(2000, ge=1, help="optimiser steps (notebook: 2001)")
    lr: float = param(0.1, gt=0, help=LR_HELP)

    def check(self) -> None:
        require_increasing(self.dims, "params.nonlinear.dims")


@dataclass
class PromptParams(SectionParams):
    """Normalised GD on a prompt p of the Max-Margin Token Selection notebooks (``joint_training``,
    ``single_input_converge``)."""

    steps: int = param(1000, ge=1, help="optimiser steps (notebook: 1000)")
    lr: float = param(0.1, gt=0, help=LR_HELP)


@dataclass
class AttSvmParams(Params):
    """Quick-profile defaults; the ``paper`` profile gives the notebooks' sizes (notes A5)."""

    sections: list[str] = param(list(SECTIONS), choices=SECTIONS, help="the studies this run computes")
    local_converge: LocalConvergeParams = section(LocalConvergeParams, help="corr(W(k), W^mm) along GD, W and KQ^T")
    rank: RankParams = section(RankParams, help="ranks of W^mm and W^mm_* vs d")
    overparam: OverparamParams = section(OverparamParams, help="share of runs selecting opt vs d")
    nonlinear: NonlinearParams = section(NonlinearParams, help="ReLU head: corr with the generalised SVM-eq")
    joint: PromptParams = section(PromptParams, help="joint (v, p) training toward v^mm and p^relax")
    single_input: PromptParams = section(PromptParams, help="one input: the selected token and p^mm")
