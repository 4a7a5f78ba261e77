"""The in-context regression models: the batched ensemble equals independent runs, the query attends to
the context only, the circuit-form forward is the paper's per-token formula, and the reduced model is the full
model on He et al.'s ansatz (float64)."""

from __future__ import annotations

import math

import torch

from attnbench.models.icl_attention import LinearSelfAttentionICL, MultiHeadSoftmaxICL, ReducedSoftmaxICL
from attnbench.sweeps.training import make_optimizer, train_ensemble
from attnbench.tasks import icl_linear as task

CONFIG = task.IclLinearConfig(dim=3, context_length=6, batch_size=5)


def _prompts(members: int) -> torch.Tensor:
    return torch.stack([CONFIG.sample("train", i, dtype=torch.float64).inputs for i in range(members)])


def _single(model: torch.nn.Module, member: int, factory) -> torch.nn.Module:
    single = factory()
    with torch.no_grad():
        for (_, p_one), (_, p_all) in zip(single.named_parameters(), model.named_parameters(), strict=True):
            p_one.copy_(p_all[member : member + 1])
    return single


def _factories():
    gen = lambda: torch.Generator().manual_seed(0)  # noqa: E731
    return [
        (lambda m: MultiHeadSoftmaxICL(m, 2, 3, gen(), torch.float64)),
        (lambda m: LinearSelfAttentionICL(m, 3, 6, gen(), dtype=torch.float64)),
    ]


def test_ensemble_training_equals_independent_runs():
    """Three Adam steps of a 3-member ensemble give each member exactly its solo trajectory."""
    prompts = _prompts(3)
    targets = torch.stack([CONFIG.sample("train", i, dtype=torch.float64).targets for i in range(3)])
    for factory in _factories():
        model = factory(3)
        solos = [_single(model, m, lambda f=factory: f(1)) for m in range(3)]

        def run(net, x, y):
            opt = make_optimizer(net.parameters(), "adam", 1e-2)
            train_ensemble(lambda step: ((net(x) - y) ** 2).mean(-1), opt, 3, show_progress=False)

        run(model, prompts, targets)
        for m, solo in enumerate(solos):
            run(solo, prompts[m : m + 1], targets[m : m + 1])
            for (_, p_solo), (_, p_all) in zip(solo.named_parameters(), model.named_parameters(), strict=True):
                torch.testing.assert_close(p_solo[0], p_all[m], rtol=1e-12, atol=1e-12)


def test_softmax_forward_is_the_papers_per_token_formula():
    """He et al.'s TF_θ read out at the query, ŷ = Σ_h o_hᵀ V_h Z softmax(Zᵀ K_hᵀ Q_h z_q / √(d+1)) over the
    context tokens only, with keys, queries and values formed per token, equals the circuit-form forward."""
    model = MultiHeadSoftmaxICL(2, 3, 3, torch.Generator().manual_seed(1), torch.float64)
    prompts = _prompts(2)
    context, query = prompts[..., :-1, :], prompts[..., -1, :]
    keys = torch.einsum("ehkd,ebld->ebhlk", model.key, context)
    queries = torch.einsum("ehkd,ebd->ebhk", model.query, query)
    values = torch.einsum("ehkd,ebld->ebhlk", model.value, context)
    weights = torch.softmax(torch.einsum("ebhlk,ebhk->ebhl", keys, queries) / math.sqrt(model.width), dim=-1)
    expected = torch.einsum("ebhl,ebhlk,ehk->eb", weights, values, model.out)
    torch.testing.assert_close(model(prompts), expected, rtol=1e-12, atol=1e-12)


def test_reduced_model_is_the_full_model_on_the_ansatz():
    """With KQ_h = ω_h diag(I_d, 0) and OV readout μ_h e_{d+1}, the full model equals the reduced one, and
    `reduced` reads (ω, μ) back."""
    dim, heads = 3, 2
    omega = torch.tensor([[0.3, -0.2], [0.1, 0.5]], dtype=torch.float64)
    mu = torch.tensor([[1.5, -0.7], [0.4, 2.0]], dtype=torch.float64)
    full = MultiHeadSoftmaxICL(2, heads, dim, torch.Generator().manual_seed(3), torch.float64)
    x_block = torch.diag(torch.tensor([1.0] * dim + [0.0], dtype=torch.float64))
    y_entry = torch.zeros(dim + 1, dim + 1, dtype=torch.float64)
    y_entry[dim, dim] = 1.0
    with torch.no_grad():
        full.key.copy_(torch.eye(dim + 1, dtype=torch.float64).expand_as(full.key))
        full.query.copy_(omega[..., None, None] * math.sqrt(dim + 1) * x_block)
        full.value.copy_(mu[..., None, None] * y_entry)
        full.out.copy_(torch.eye(dim + 1, dtype=torch.float64)[dim].expand_as(full.out))
    reduced = ReducedSoftmaxICL(mu, omega)
    prompts = _prompts(2)
    torch.testing.assert_close(full(prompts), reduced(prompts), rtol=1e-12, atol=1e-12)
    read_omega, read_mu = full.reduced()
    torch.testing.assert_close(read_omega, omega, rtol=0, atol=1e-15)
    torch.testing.assert_close(read_mu, mu, rtol=0, atol=1e-15)


def test_lsa_zfb_init_predicts_preconditioned_gd():
    """With ZFB's initialisation only u and A are non-zero, and ŷ = x_qᵀ (uAᵀ) (1/N) Σ y_i x_i."""
    model = LinearSelfAttentionICL(2, 3, 6, torch.Generator().manual_seed(2), dtype=torch.float64)
    prompts = _prompts(2)
    x, y, query = task.split_prompt(prompts)
    h = torch.einsum("ebl,ebld->ebd", y, x) / 6
    expected = torch.einsum("ebi,eij,ebj->eb", query, model.preconditioner(), h)
    torch.testing.assert_close(model(prompts), expected, rtol=1e-12, atol=1e-12)
