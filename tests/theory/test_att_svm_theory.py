"""Att-SVM solvers and the single-layer model (Tarzanagh et al. 2023; notes A1, A2).

Solver agreement is asserted at 1e-6 (Clarabel's QP optimum vs the exact active-set NNLS; measured
differences ~1e-9). Everything uses fixed seeds; nothing is statistical.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

from attnbench.models.svm_attention import (
    LOSSES,
    NormalisedGD,
    attention_probs,
    attention_run_losses,
    correlation,
    key_query_product,
    linear_head_output,
    mean_loss,
)
from attnbench.tasks import token_selection as task
from attnbench.theory.att_svm import (
    att_svm,
    att_svm_scipy,
    check_local_optimality,
    head_svm,
    margins,
    matrix_rank,
    min_norm_cvxpy,
    min_norm_nnls,
    prompt_features,
    relaxed_prompt_svm,
    support_tokens,
    svm_equivalent,
)

CONFIG = task.TokenSelectionConfig(n=6, T=8, d=10)


def _instance(index: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    data = CONFIG.sample("test", index)
    return data.inputs.numpy(), data.z.numpy(), CONFIG.oracle(data).numpy(), data


@pytest.mark.parametrize("index", [0, 1, 2])
def test_scipy_dual_solver_matches_cvxpy(index):
    X, z, opt, _ = _instance(index)
    rng = np.random.default_rng(index)
    for alpha in (opt, rng.integers(0, CONFIG.T, CONFIG.n)):
        W_cvx, W_nnls = att_svm(X, z, alpha).require(), att_svm_scipy(X, z, alpha).require()
        assert np.abs(W_cvx - W_nnls).max() <= 1e-6
        m = margins(X, z, alpha, W_nnls)
        assert m.min() >= 1 - 1e-9 and support_tokens(X, z, alpha, W_nnls).any()


def test_kkt_structure_and_norm_optimality():
    X, z, opt, _ = _instance(0)
    W_fro, W_nuc = att_svm(X, z, opt, "fro").require(), att_svm(X, z, opt, "nuc").require()
    # W^mm lies in span{(x_ia - x_it) z_i^T}: W^mm P = W^mm with P the projector on span{z_i}.
    P = np.linalg.pinv(z) @ z
    assert np.abs(W_fro @ P - W_fro).max() <= 1e-8
    assert matrix_rank(W_fro) <= min(CONFIG.n, CONFIG.d)
    assert margins(X, z, opt, W_nuc).min() >= 1 - 1e-6
    assert np.linalg.norm(W_fro) <= np.linalg.norm(W_nuc) + 1e-7
    assert np.linalg.norm(W_nuc, "nuc") <= np.linalg.norm(W_fro, "nuc") + 1e-6


def test_infeasible_selection_is_reported_by_both_solvers():
    # d = 1, z = 1: tokens on a line; selecting the middle token cannot beat both neighbours.
    X = np.array([[[-1.0], [0.0], [1.0]]])
    z = np.array([[1.0]])
    alpha = np.array([1])
    for result in (att_svm(X, z, alpha), att_svm_scipy(X, z, alpha), att_svm(X, z, alpha, "nuc")):
        assert not result.feasible and result.solution is None
        with pytest.raises(ValueError, match="infeasible"):
            result.require()
    scores = np.array([[0.0, 1.0, 0.5]])
    verdict = check_local_optimality(X, z, alpha, scores)
    assert not verdict.feasible and not verdict.locally_optimal


def test_bad_inputs_are_named():
    X, z, _, _ = _instance(0)
    with pytest.raises(ValueError, match="alpha"):
        att_svm(X, z, np.zeros(3, dtype=int))
    with pytest.raises(ValueError, match="norm"):
        min_norm_cvxpy(np.ones((2, 3)), np.ones(2), "l1")


def test_single_input_worked_example():
    """Notes A2: p^mm(opt) = (-0.1, 1)/1.01 (1/2 ||p||^2 = 0.49505); p^mm(alpha=2) = (1, 0) with support (0,0)."""
    for third, local_expected in ((0.0, True), (0.9, False)):
        inst = task.single_input_instance(third)
        keys = inst.keys.numpy()
        p_opt = min_norm_nnls(prompt_features(keys, np.array([0])), np.ones(2)).require()
        assert np.allclose(p_opt[:2], np.array([-0.1, 1.0]) / 1.01, atol=1e-9)
        assert abs(0.5 * p_opt @ p_opt - 0.49505) <= 1e-5
        feats = prompt_features(keys, np.array([1]))
        p_loc = min_norm_nnls(feats, np.ones(2)).require()
        assert np.allclose(p_loc[:2], [1.0, 0.0], atol=1e-9)
        assert np.allclose(sorted(feats @ p_loc), [1.0, 1.1], atol=1e-9)  # (0,0) support, (-0.1,1) not
        # local optimality through the matrix form: a single example whose shared query is e_1.
        scores = task.token_scores(inst.X, inst.Y, inst.v).numpy()
        z = np.array([[1.0, 0.0, 0.0]])
        assert check_local_optimality(keys, z, np.array([1]), scores).locally_optimal == local_expected
        assert check_local_optimality(keys, z, np.array([0]), scores).locally_optimal


def test_joint_training_targets():
    for relaxed, tight_count in ((False, 3), (True, 2)):
        inst = task.joint_training_instance(relaxed)
        v_mm = head_svm(inst.X[:, 1].numpy(), inst.Y.numpy()).require()
        assert np.allclose(v_mm, [0.0, 1.0], atol=1e-9)
        head_margins = inst.Y.numpy() * (inst.X[:, 1].numpy() @ v_mm)
        tight = np.flatnonzero(np.abs(head_margins - 1) < 1e-6)
        assert len(tight) == tight_count
        p = relaxed_prompt_svm(inst.keys.numpy(), np.ones(3, dtype=int), tight).require()
        if relaxed:
            assert np.allclose(p, [1.0, 0.0], atol=1e-9)  # the ">= 0" row of input 3 is inactive
        else:
            assert not np.allclose(p / np.linalg.norm(p), [1.0, 0.0], atol=1e-3)


def test_svm_equivalent_reduces_to_att_svm_for_single_selected_tokens():
    X, z, opt, _ = _instance(1)
    probs = np.full((CONFIG.n, CONFIG.T), 1e-9)
    probs[np.arange(CONFIG.n), opt] = 1.0
    W_mm = att_svm_scipy(X, z, opt).require()
    eq = svm_equivalent(X, z, probs, 3.0 * W_mm)
    assert np.abs(eq.W_dir - W_mm).max() <= 1e-6 and abs(eq.R - 3.0) <= 1e-5
    assert np.allclose(eq.W_fin, 0.0)


def test_svm_equivalent_matches_softmax_ratios_on_selected_sets():
    X, z, opt, _ = _instance(2)
    probs = np.full((CONFIG.n, CONFIG.T), 1e-9)
    probs[:, 0], probs[:, 1] = 0.7, 0.3
    eq = svm_equivalent(X, z, probs, np.zeros((CONFIG.d, CONFIG.d)))
    logits = np.einsum("ntd,de,ne->nt", X, eq.W_fin, z)
    assert np.allclose(logits[:, 1] - logits[:, 0], np.log(0.3 / 0.7), atol=1e-8)
    dir_logits = np.einsum("ntd,de,ne->nt", X, eq.W_dir, z)
    assert np.allclose(dir_logits[:, 0], dir_logits[:, 1], atol=1e-6)
    assert (dir_logits[:, :2].min(1) - dir_logits[:, 2:].max(1)).min() >= 1 - 1e-6


def test_gradient_matches_the_derived_formula():
    """Notes A1: grad L = (1/n) sum_i l'(Y_i f_i) Y_i X_i^T (diag(s) - s s^T) X_i v z_i^T."""
    data = task.sample_ensemble(CONFIG, "train", 2)
    W = torch.randn(2, 10, 10, dtype=torch.float64, generator=torch.Generator().manual_seed(0))
    W.requires_grad_(True)
    loss = attention_run_losses(data.inputs, data.z, data.targets, v=data.v)({"W": W})
    (grad,) = torch.autograd.grad(loss.sum(), W)
    with torch.no_grad():
        s = attention_probs(data.inputs, W, data.z)
        f = linear_head_output(data.inputs, W, data.z, data.v)
        dl = -torch.sigmoid(-data.targets * f)  # l'(u) for the logistic loss
        jac = torch.diag_embed(s) - s.unsqueeze(-1) * s.unsqueeze(-2)
        Xv = torch.einsum("rntd,rd->rnt", data.inputs, data.v)
        left = torch.einsum("rntd,rnts,rns->rnd", data.inputs, jac, Xv)
        expected = torch.einsum("rn,rnd,rne->rde", dl * data.targets, left, data.z) / CONFIG.n
    assert torch.allclose(grad, expected, atol=1e-14)


def test_normalised_gd_treats_every_run_independently():
    data = task.sample_ensemble(CONFIG, "train", 3)
    W0 = torch.randn(3, 10, 10, dtype=torch.float64, generator=torch.Generator().manual_seed(1)) * 0.1

    def train(X, z, Y, v, W):
        W = W.clone().requires_grad_(True)
        opt = NormalisedGD([W], lr=0.1)
        losses = attention_run_losses(X, z, Y, v=v)
        for _ in range(20):
            opt.zero_grad()
            losses({"W": W}).sum().backward()
            opt.step()
        return W.detach()

    together = train(data.inputs, data.z, data.targets, data.v, W0)
    for r in range(3):
        one = slice(r, r + 1)
        alone = train(data.inputs[one], data.z[one], data.targets[one], data.v[one], W0[one])
        assert torch.allclose(together[r], alone[0], atol=1e-12)
    W = W0.clone().requires_grad_(True)
    opt = NormalisedGD([W], lr=0.1)
    attention_run_losses(data.inputs, data.z, data.targets, v=data.v)({"W": W}).sum().backward()
    opt.step()
    step_norms = (W.detach() - W0).flatten(1).norm(dim=1)
    assert torch.allclose(step_norms, torch.full((3,), 0.1, dtype=torch.float64), atol=1e-12)


def test_key_query_product_and_correlation():
    K = torch.randn(2, 4, 3, dtype=torch.float64)
    Q = torch.randn(2, 4, 3, dtype=torch.float64)
    assert torch.allclose(key_query_product(K, Q)[1], K[1] @ Q[1].T)
    assert torch.allclose(correlation(K, 2 * K), torch.ones(2, dtype=torch.float64))


def test_losses_and_their_names():
    u = torch.tensor([0.0, 2.0], dtype=torch.float64)
    assert torch.allclose(LOSSES["logistic"](u), torch.log1p(torch.exp(-u)))
    assert torch.allclose(LOSSES["exponential"](u), torch.exp(-u))
    assert torch.allclose(LOSSES["correlation"](u), -u)
    with pytest.raises(ValueError, match="loss must be one of"):
        mean_loss(u[None], u[None], "hinge")
    with pytest.raises(ValueError, match="exactly one head"):
        attention_run_losses(torch.zeros(1, 1, 2, 2), torch.zeros(1, 1, 2), torch.ones(1, 1))
