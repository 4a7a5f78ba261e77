"""The single-layer attention models of the in-context regression theory, as batched ensembles.

Every parameter has a leading member axis E, and inputs are shaped (E, batch, L + 1, d + 1): member e
sees its own data stream. Prompts follow `attnbench.tasks.icl_linear`: L context tokens z = (x, y) and a
query (x_q, 0). The query attends to the L context tokens only, never to itself.
"""

from __future__ import annotations

import math

import torch
from torch import nn


def _uniform(shape: tuple[int, ...], fan_in: int, generator: torch.Generator, dtype: torch.dtype) -> nn.Parameter:
    """PyTorch's default ``nn.Linear`` weight initialisation, U(−1/√fan_in, 1/√fan_in)."""
    bound = 1.0 / math.sqrt(fan_in)
    return nn.Parameter((torch.rand(shape, generator=generator, dtype=dtype) * 2 - 1) * bound)


class MultiHeadSoftmaxICL(nn.Module):
    """He, Pan, Chen, Yang 2025, Eq. (TF_θ), one layer, H heads, full parameterisation.

    ŷ_q = Σ_h o_hᵀ V_h Z smax(Zᵀ K_hᵀ Q_h z_q / √(d+1)), Z the context tokens. Per head Q, K, V are
    (d+1)×(d+1) with no biases; the output projection maps H(d+1) → 1 (o_h its h-th block). The residual
    stream of the paper contributes 0 at the readout because the query's y-entry is 0, so it is omitted.
    Initialisation: PyTorch's default ``nn.Linear`` (as in the authors' code).
    """

    def __init__(
        self, members: int, heads: int, dim: int, generator: torch.Generator, dtype: torch.dtype = torch.float32
    ) -> None:
        super().__init__()
        width = dim + 1
        self.heads, self.width = heads, width
        self.query = _uniform((members, heads, width, width), width, generator, dtype)
        self.key = _uniform((members, heads, width, width), width, generator, dtype)
        self.value = _uniform((members, heads, width, width), width, generator, dtype)
        self.out = _uniform((members, heads, width), heads * width, generator, dtype)

    def forward(self, prompts: torch.Tensor) -> torch.Tensor:
        """ŷ_q through the circuits: the scores are z_ℓᵀ KQ z_q and the values z_ℓᵀ r_h with r_h the readout row
        of OV, so no per-token key, query or value vector is formed (the same function, fewer flops)."""
        context, query = prompts[..., :-1, :], prompts[..., -1, :]
        key_query, readout = self._circuits()
        scores = torch.einsum("ebld,ebhd->ebhl", context, torch.einsum("ehdf,ebf->ebhd", key_query, query))
        values = torch.einsum("ebld,ehd->ebhl", context, readout)
        return (torch.softmax(scores, dim=-1) * values).sum(dim=(-2, -1))

    def _circuits(self) -> tuple[torch.Tensor, torch.Tensor]:
        key_query = torch.einsum("ehkd,ehkf->ehdf", self.key, self.query) / math.sqrt(self.width)
        return key_query, torch.einsum("ehk,ehkd->ehd", self.out, self.value)

    @torch.no_grad()
    def circuits(self) -> tuple[torch.Tensor, torch.Tensor]:
        """The effective circuits per member and head: KQ = K_hᵀQ_h/√(d+1), shaped (E, H, d+1, d+1), and
        the readout row of OV = o_hᵀV_h, shaped (E, H, d+1) (He et al.'s KQ^(h) and OV^(h)_{d+1,:})."""
        return self._circuits()

    @torch.no_grad()
    def reduced(self) -> tuple[torch.Tensor, torch.Tensor]:
        """He et al.'s reduced parameters per member and head, each shaped (E, H): ω_h, the mean of the
        diagonal of KQ's x-block, and μ_h, the y-entry of OV's readout row (notes A2.1)."""
        key_query, readout = self._circuits()
        dim = self.width - 1
        return torch.diagonal(key_query[..., :dim, :dim], dim1=-2, dim2=-1).mean(-1), readout[..., dim]


class ReducedSoftmaxICL(nn.Module):
    """He et al. 2025's reduced model (notes A2.1): the full model restricted to KQ^(h) = ω_h I_d and
    OV^(h)_{d+1,:} = μ_h e_{d+1}, so ŷ_q = Σ_h μ_h Σ_ℓ y_ℓ softmax_ℓ(ω_h x_ℓᵀx_q). Its parameters are the
    (E, H) tensors ``mu`` and ``omega``, started from the given values (a full model's `reduced` read-off).
    Prompts are (E, batch, L + 1, d + 1), each member its own, or (batch, L + 1, d + 1), shared by all."""

    def __init__(self, mu: torch.Tensor, omega: torch.Tensor) -> None:
        super().__init__()
        self.mu = nn.Parameter(mu.detach().clone())
        self.omega = nn.Parameter(omega.detach().clone())

    def forward(self, prompts: torch.Tensor) -> torch.Tensor:
        x, y, x_query = prompts[..., :-1, :-1], prompts[..., :-1, -1], prompts[..., -1, :-1]
        similarity = (x @ x_query.unsqueeze(-1)).squeeze(-1)  # (E, batch, L) or (batch, L)
        if prompts.dim() == 3:
            similarity, y = similarity.expand(len(self.mu), *similarity.shape), y.expand(len(self.mu), *y.shape)
        weights = torch.softmax(self.omega[:, :, None, None] * similarity[:, None], dim=-1)  # (E, H, batch, L)
        return torch.einsum("ehbl,ebl,eh->eb", weights, y, self.mu)


class LinearSelfAttentionICL(nn.Module):
    """Zhang, Frei & Bartlett 2023: f(E) = E + W^{PV} E (Eᵀ W^{KQ} E)/N, one layer, full parameterisation.

    The prediction is the (d+1, query) entry: ŷ = p · (1/N₀) Σ_i z_i z_iᵀ W^{KQ} z_q with p the last row
    of W^{PV} and N₀ the training context length, kept fixed at every test length (He et al. 2025, §4).
    ``zfb_init`` is ZFB's initialisation: W^{PV} = s e e ᵀ, W^{KQ} = s[[ΘΘᵀ, 0], [0, 0]], ‖ΘΘᵀ‖_F = 1.
    """

    def __init__(
        self,
        members: int,
        dim: int,
        normaliser_length: int,
        generator: torch.Generator,
        init_scale: float = 0.1,
        dtype: torch.dtype = torch.float32,
    ) -> None:
        super().__init__()
        width = dim + 1
        self.normaliser_length = normaliser_length
        theta = torch.randn(members, dim, dim, generator=generator, dtype=dtype)
        gram = theta @ theta.transpose(-1, -2)
        gram = gram / torch.linalg.matrix_norm(gram).view(-1, 1, 1)
        key_query = torch.zeros(members, width, width, dtype=dtype)
        key_query[:, :dim, :dim] = init_scale * gram
        projection_value = torch.zeros(members, width, width, dtype=dtype)
        projection_value[:, dim, dim] = init_scale
        self.key_query = nn.Parameter(key_query)
        self.projection_value = nn.Parameter(projection_value)

    def forward(self, prompts: torch.Tensor) -> torch.Tensor:
        context, query = prompts[..., :-1, :], prompts[..., -1, :]
        moment = torch.einsum("ebld,eblf->ebdf", context, context) / self.normaliser_length
        transformed_query = torch.einsum("edf,ebf->ebd", self.key_query, query)
        readout = self.projection_value[:, -1, :]
        return torch.einsum("ed,ebdf,ebf->eb", readout, moment, transformed_query)

    @torch.no_grad()
    def preconditioner(self) -> torch.Tensor:
        """B = u Aᵀ with u = W^{PV}_{d+1,d+1}, A = W^{KQ}_{1:d,1:d}, so ŷ = x_qᵀ B (1/N₀) Σ y_i x_i
        on the ZFB-invariant subspace. Shaped (E, d, d)."""
        dim = self.key_query.shape[-1] - 1
        u = self.projection_value[:, dim, dim].view(-1, 1, 1)
        return u * self.key_query[:, :dim, :dim].transpose(-1, -2)
