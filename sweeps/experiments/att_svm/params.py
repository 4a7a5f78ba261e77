"""The params of the att_svm family (Tarzanagh et al. 2023; notes ``svm_scansnap.md`` A5 for the sizes).

One flat dataclass: the ``local_converge`` study uses ``runs``/``n``/``T``/``d``/``steps``, every other study
its own prefixed fields. The defaults are the quick profile (about a minute on one core).
"""

from __future__ import annotations

from dataclasses import dataclass

from attnbench.models.svm_attention import LOSSES
from attnbench.sweeps.experiments.base import require
from attnbench.sweeps.validation import Params, param

SECTIONS = ("local_converge", "rank", "overparam", "nonlinear", "joint", "single_input")
OPTIMIZERS = ("normalised", "gd")


@dataclass
class AttSvmParams(Params):
    """Quick-profile defaults; the ``paper`` profile gives the notebooks' sizes (notes A5)."""

    sections: list[str] = param(list(SECTIONS), choices=SECTIONS, help="the studies to run")
    runs: int = param(20, ge=1, help="local_converge: runs per parameterisation (notebook: 100)")
    n: int = param(6, ge=1, help="local_converge/overparam: examples per run")
    T: int = param(8, ge=2, help="local_converge/overparam: tokens per example")
    d: int = param(10, ge=1, help="local_converge: embedding dimension")
    steps: int = param(2000, ge=1, help="local_converge: optimiser steps (notebook: 2000)")
    lr: float = param(0.1, gt=0, help="step size of every study (notebooks: 0.1)")
    optimizer: str = param("normalised", choices=OPTIMIZERS, help="normalised GD (the papers') or plain GD")
    loss: str = param("logistic", choices=tuple(sorted(LOSSES)), help="the loss of the linear-head studies")
    record_every: int = param(10, ge=1, help="local_converge: steps between recorded snapshots")
    rank_n: int = param(5, ge=1, help="rank: examples per instance")
    rank_T: int = param(5, ge=2, help="rank: tokens per example")
    rank_ds: list[int] = param([2, 3, 5, 10], ge=1, help="rank: dimensions (must contain d = rank_n)")
    rank_instances: int = param(20, ge=1, help="rank: instances per d (notebook: 100)")
    overparam_ds: list[int] = param([2, 4, 8, 16], ge=1, help="overparam: dimensions")
    overparam_runs: int = param(60, ge=1, help="overparam: runs per d")
    overparam_steps: int = param(500, ge=1, help="overparam: optimiser steps")
    nonlinear_n: int = param(3, ge=1, help="nonlinear: examples per run")
    nonlinear_T: int = param(4, ge=2, help="nonlinear: tokens per example")
    nonlinear_ds: list[int] = param([4, 10], ge=1, help="nonlinear: dimensions")
    nonlinear_runs: int = param(300, ge=1, help="nonlinear: drawn runs per d, before the notebook's rejection")
    nonlinear_steps: int = param(2000, ge=1, help="nonlinear: optimiser steps (notebook: 2001)")
    prompt_steps: int = param(1000, ge=1, help="joint: optimiser steps (notebook: 1000)")
    single_input_steps: int = param(1000, ge=1, help="single_input: optimiser steps (notebook: 1000)")

    def check(self) -> None:
        for key in ("rank_ds", "overparam_ds", "nonlinear_ds"):
            ds = list(getattr(self, key))
            require(len(ds) >= 2 and ds == sorted(set(ds)), key,
                    f"must be >= 2 distinct increasing dimensions, got {ds}")
        require(self.rank_n in self.rank_ds, "rank_ds", f"must contain d = rank_n = {self.rank_n}")
