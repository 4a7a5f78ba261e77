"""The in-context regression models: the batched ensemble equals independent runs, the query attends to
the context only, and the circuits read out the predictor they claim to (float64)."""

from __future__ import annotations

import torch

from attnbench.models.icl_attention import LinearSelfAttentionICL, MultiHeadSoftmaxICL
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


def test_softmax_query_attends_to_context_only_and_matches_its_circuits():
    """He et al.'s closed form ŷ = Σ_h μ-row(OV_h) · Z softmax(Zᵀ KQ_h z_q) reproduces the forward."""
    model = MultiHeadSoftmaxICL(2, 3, 3, torch.Generator().manual_seed(1), torch.float64)
    prompts = _prompts(2)
    kq, ov = model.circuits()
    context, query = prompts[..., :-1, :], prompts[..., -1, :]
    weights = torch.softmax(torch.einsum("ebld,ehdf,ebf->ebhl", context, kq, query), dim=-1)
    expected = torch.einsum("ebhl,ebld,ehd->eb", weights, context, ov)
    torch.testing.assert_close(model(prompts), expected, rtol=1e-12, atol=1e-12)


def test_lsa_zfb_init_predicts_preconditioned_gd():
    """With ZFB's initialisation only u and A are non-zero, and ŷ = x_qᵀ (uAᵀ) (1/N) Σ y_i x_i."""
    model = LinearSelfAttentionICL(2, 3, 6, torch.Generator().manual_seed(2), dtype=torch.float64)
    prompts = _prompts(2)
    x, y, query = task.split_prompt(prompts)
    h = torch.einsum("ebl,ebld->ebd", y, x) / 6
    expected = torch.einsum("ebi,eij,ebj->eb", query, model.preconditioner(), h)
    torch.testing.assert_close(model(prompts), expected, rtol=1e-12, atol=1e-12)
