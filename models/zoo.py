"""The mixer zoo: name -> factory ``(width, heads) -> nn.Module``, a causal mixer on (batch, length, width).

Every module maps (batch, length, width) to the same shape and is causal (output t depends on tokens ≤ t).
"lla" wraps ``attnbench.kernels.lla.lla`` (Local Linear Attention). `all_forms` collects the ``FORMS`` of
the mixer modules (`attnbench.models.forms`).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from functools import partial

import torch
from torch import nn

from attnbench.kernels.lla import lla
from attnbench.kernels.lla.blockwise import SOLVERS
from attnbench.models import aaren, attention, deltanet, lightning, recurrences, sigmoid_attention
from attnbench.models.aaren import Aaren
from attnbench.models.attention import LinearAttention, MultiHeadMixer, PerformerAttention, SoftmaxAttention
from attnbench.models.deltanet import DeltaNet
from attnbench.models.forms import Forms
from attnbench.models.lightning import LightningAttention
from attnbench.models.recurrences import GatedLinearAttention
from attnbench.models.sigmoid_attention import SigmoidAttention

MixerFactory = Callable[[int, int], nn.Module]


class LocalLinearAttention(MultiHeadMixer):
    """Multi-head causal Local Linear Attention via ``attnbench.kernels.lla.lla``.

    ``ridge`` is λ in the λω convention (notes papers/lla.md §1.2); ``solver`` ("auto", "cg" or "cholesky"),
    ``cg_iters`` and ``cg_tol`` are passed to the kernel. With ``learn_ridge`` λ = softplus(θ) is a parameter
    (θ initialised so that λ starts at ``ridge``); its gradient is the kernel's exact ∂L/∂λ.
    """

    def __init__(
        self,
        width: int,
        heads: int,
        *,
        ridge: float = 0.1,
        solver: str = "auto",
        cg_iters: int = 32,
        cg_tol: float | None = None,
        learn_ridge: bool = False,
    ) -> None:
        super().__init__(width, heads)
        if not (math.isfinite(ridge) and ridge > 0):
            raise ValueError(f"ridge must be a finite number > 0, got {ridge}")
        if solver not in ("auto", *SOLVERS):
            raise ValueError(f"solver must be one of {('auto', *SOLVERS)}, got {solver!r}")
        if cg_iters < 1:
            raise ValueError(f"cg_iters must be >= 1, got {cg_iters}")
        self.solver, self.cg_iters, self.cg_tol = solver, cg_iters, cg_tol
        self.fixed_ridge = ridge
        self.ridge_logit = nn.Parameter(torch.tensor(math.log(math.expm1(ridge)))) if learn_ridge else None

    @property
    def ridge(self) -> float | torch.Tensor:
        """λ: softplus(θ) when learnable, else the fixed float."""
        return self.fixed_ridge if self.ridge_logit is None else nn.functional.softplus(self.ridge_logit)

    def mix(self, q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
        """LLA output per head (causal)."""
        ridge = self.ridge
        if isinstance(ridge, torch.Tensor):
            ridge = ridge.to(q.dtype)
        return lla(q, k, v, causal=True, ridge=ridge, solver=self.solver, cg_iters=self.cg_iters, cg_tol=self.cg_tol)


MIXERS: dict[str, MixerFactory] = {
    "softmax": SoftmaxAttention,
    "linear": partial(LinearAttention, feature_map="identity", normalize=False),
    "linear_elu": partial(LinearAttention, feature_map="elu1", normalize=True),
    "sigmoid": SigmoidAttention,
    "deltanet": partial(DeltaNet, beta_max=1.0),
    "deltanet_neg": partial(DeltaNet, beta_max=2.0),
    "lla": LocalLinearAttention,
    "random_feature": PerformerAttention,
    "lightning": LightningAttention,
    "aaren": Aaren,
    "gated_linear": GatedLinearAttention,
}


def build_mixer(name: str, width: int, heads: int) -> nn.Module:
    """The mixer called ``name``; a clear error lists the known names."""
    if name not in MIXERS:
        raise ValueError(f"mixer must be one of {sorted(MIXERS)}, got {name!r}")
    return MIXERS[name](width, heads)


def all_forms() -> dict[str, Forms]:
    """Every mixer with several exact forms: mixer name -> its `Forms` (each module's ``FORMS``)."""
    modules = (attention, sigmoid_attention, lightning, deltanet, aaren, recurrences)
    return {name: forms for module in modules for name, forms in module.FORMS.items()}
