"""Random-feature attention: model, exact infinite-head kernel, ridge / GD fits, RF-MLP baseline, target task.

Statistical checks use fixed seeds (deterministic) and 6-sigma bounds: under the Gaussian approximation of a
mean of M i.i.d. terms the false-failure rate of a bound is < 2e-9 per entry.
"""

import math

import pytest
import torch

from attnbench.models.random_feature_attention import (
    RandomFeatureAttention,
    rf_mlp_features,
    rf_mlp_ridge_predict,
    rfa_features,
    ridge_fit,
    sample_head_weights,
    sample_mlp_weights,
)
from attnbench.sweeps.experiments.rf_attention.study_gd import gradient_descent
from attnbench.tasks.rf_targets import RFTargetConfig
from attnbench.theory.random_features import arc_cosine, gradient_descent_trajectory, kernel_ridge_predict, rfa_kernel

SIGMAS = 6.0


def _inputs(count: int = 8, keys: int = 4, dim: int = 3, index: int = 0) -> torch.Tensor:
    return RFTargetConfig(dim=dim, keys=keys, batch_size=count).sample("train", index).inputs


def test_kernel_equals_monte_carlo_feature_gram():
    """Phi Phi^T is a mean over heads of i.i.d. terms whose expectation is rfa_kernel (6-sigma per entry)."""
    inputs = _inputs()
    heads = 20000
    weights = sample_head_weights(3, heads, mean=0.0, std=1.0, generator=torch.Generator().manual_seed(0))
    per_head = rfa_features(inputs, weights).reshape(len(inputs), heads, 4) * math.sqrt(heads)
    terms = torch.einsum("amp,bmp->mab", per_head, per_head)
    estimate, spread = terms.mean(0), terms.std(0) / math.sqrt(heads)
    assert torch.all((estimate - rfa_kernel(inputs, inputs)).abs() <= SIGMAS * spread)


def test_kernel_symmetric_psd_and_permutation_invariant():
    inputs, others = _inputs(), _inputs(index=1)
    gram = rfa_kernel(inputs, inputs)
    torch.testing.assert_close(gram, gram.T, rtol=0, atol=1e-14)
    assert torch.linalg.eigvalsh(gram).min() > -1e-12
    order = torch.tensor([0, 3, 1, 4, 2])
    torch.testing.assert_close(rfa_kernel(inputs[:, order], others), rfa_kernel(inputs, others), rtol=1e-13, atol=0)


def test_arc_cosine_special_angles():
    """E[relu(g)^2] = std^2 |a|^2 / 2 at angle 0; E[relu(g) relu(-g)] = 0 at angle pi."""
    norms = torch.tensor([4.0], dtype=torch.float64)
    torch.testing.assert_close(arc_cosine(norms, norms, std=2.0), torch.tensor([8.0], dtype=torch.float64))
    torch.testing.assert_close(arc_cosine(-norms, norms, std=2.0), torch.tensor([0.0], dtype=torch.float64))


def test_nonzero_mean_weights_have_the_requested_mean():
    heads = 40000
    weights = sample_head_weights(2, heads, mean=1.5, std=1.0, generator=torch.Generator().manual_seed(1))
    expected = torch.tensor([[1.5, 0, 0], [0, 1.5, 0], [0, 0, 0]], dtype=torch.float64)
    assert torch.all((weights.mean(0) - expected).abs() <= SIGMAS / math.sqrt(heads))


def test_features_exactly_permutation_invariant_in_keys():
    inputs = _inputs(keys=6)
    weights = sample_head_weights(3, 50, mean=0.5, std=1.0, generator=torch.Generator().manual_seed(2))
    order = torch.tensor([0, 6, 2, 5, 1, 3, 4])
    torch.testing.assert_close(
        rfa_features(inputs[:, order], weights), rfa_features(inputs, weights), rtol=1e-13, atol=1e-15
    )


def test_ridge_primal_equals_dual_and_gradient_descent_converges_to_it():
    """Primal and dual ridge agree; the closed-form GD trajectory equals the GD loop and converges to ridge."""
    features = torch.randn(30, 12, generator=torch.Generator().manual_seed(3), dtype=torch.float64)
    targets = torch.randn(30, generator=torch.Generator().manual_seed(4), dtype=torch.float64)
    primal = ridge_fit(features, targets, 0.1)
    dual = ridge_fit(features[:10], targets[:10], 0.1)
    direct = torch.linalg.solve(
        features[:10].T @ features[:10] + 10 * 0.1 * torch.eye(12, dtype=torch.float64),
        features[:10].T @ targets[:10],
    )
    torch.testing.assert_close(dual, direct, rtol=1e-10, atol=1e-12)
    step = float(1.0 / (2.0 * (torch.linalg.matrix_norm(features, ord=2) ** 2 / 30 + 0.1)))
    closed = gradient_descent_trajectory(features, targets, 0.1, step, [0, 7, 3000])
    torch.testing.assert_close(
        closed, gradient_descent(features, targets, 0.1, step, [0, 7, 3000]), rtol=1e-10, atol=1e-12
    )
    assert float(closed[0].abs().max()) == 0.0
    torch.testing.assert_close(closed[-1], primal, rtol=1e-8, atol=1e-10)


def test_module_fits_by_ridge():
    batch = RFTargetConfig(dim=3, keys=4, batch_size=40).sample("train", 0)
    layer = RandomFeatureAttention(3, 10, generator=torch.Generator().manual_seed(5))
    layer.fit_ridge(batch.inputs, batch.targets, ridge=0.05)
    ridge_prediction = layer(batch.inputs).detach()
    torch.testing.assert_close(ridge_prediction, layer.features(batch.inputs) @ layer.values.detach().reshape(-1))
    assert layer.weights.requires_grad is False and layer.values.requires_grad


def test_kernel_ridge_matches_wide_layer():
    """At M = 4000 heads the RFA ridge predictor is within a few % of kernel ridge (the M -> inf limit)."""
    train, test = _inputs(count=40), _inputs(count=20, index=2)
    targets = RFTargetConfig(dim=3, keys=4, power=1).target_of(train)
    krr = kernel_ridge_predict(train, targets, test, ridge=1e-2)
    weights = sample_head_weights(3, 4000, mean=0.0, std=1.0, generator=torch.Generator().manual_seed(6))
    wide = rfa_features(test, weights) @ ridge_fit(rfa_features(train, weights), targets, 1e-2)
    assert (wide - krr).norm() <= 0.1 * krr.norm()


def test_rf_mlp_shapes_and_errors():
    inputs = _inputs()
    weights = sample_mlp_weights(5 * 3, 64, std=1.0, generator=torch.Generator().manual_seed(7))
    assert rf_mlp_features(inputs, weights).shape == (8, 64)
    prediction = rf_mlp_ridge_predict(
        inputs, inputs[:, 0, 0], inputs, features=64, ridge=1e-3, generator=torch.Generator().manual_seed(7)
    )
    assert prediction.shape == (8,)
    with pytest.raises(ValueError, match="concatenated input"):
        rf_mlp_features(_inputs(keys=2), weights)


def test_bad_inputs_raise_named_errors():
    weights = sample_head_weights(3, 2, mean=0.0, std=1.0, generator=torch.Generator().manual_seed(0))
    with pytest.raises(ValueError, match="dim"):
        rfa_features(_inputs(dim=4), weights)
    with pytest.raises(ValueError, match="inputs must be"):
        rfa_features(torch.zeros(3, 1, 3), weights)
    with pytest.raises(ValueError, match="ridge"):
        ridge_fit(torch.zeros(3, 2), torch.zeros(3), 0.0)
    with pytest.raises(ValueError, match="target"):
        RFTargetConfig(target="sine")


def test_target_task_is_index_seeded_with_exact_oracle():
    config = RFTargetConfig(dim=4, keys=3, target="cosine", frequency=2.0, batch_size=16)
    first, again = config.sample("train", 3), config.sample("train", 3)
    torch.testing.assert_close(first.inputs, again.inputs, rtol=0, atol=0)
    assert not torch.allclose(first.inputs, config.sample("test", 3).inputs)
    torch.testing.assert_close(first.inputs.norm(dim=-1), torch.ones(16, 4, dtype=torch.float64))
    x0, keys = first.inputs[:, 0], first.inputs[:, 1:]
    expected = torch.cos(2.0 * math.pi * (keys @ x0.unsqueeze(-1)).squeeze(-1)).mean(-1)
    torch.testing.assert_close(first.targets, expected)
    noisy = RFTargetConfig(dim=4, keys=3, noise_std=0.5, batch_size=16).sample("train", 0)
    assert not torch.allclose(noisy.targets, RFTargetConfig(dim=4, keys=3).target_of(noisy.inputs))
