"""Softmax regression: closed-form gradient, the derived 1/2-Lipschitz shift bounds (random and adversarial
perturbations), the paper's constant, the task generator, and the two models of the ICL experiment.

All checks are deterministic (fixed seeds) and compare fp64 quantities; the bounds are exact inequalities,
so the only allowance is fp64 round-off.
"""

import math

import pytest
import torch

from attnbench.models.softmax_regression import (
    OneStepGD,
    SingleSoftmaxAttention,
    gradient,
    gradient_step,
    loss,
    softmax_jacobian,
)
from attnbench.sweeps.experiments.softmax_regression.study import sensitivity
from attnbench.tasks.softmax_regression import SoftmaxRegressionConfig
from attnbench.theory.softmax_regression import (
    data_shift_bound,
    local_weight_shift_constant,
    log10_paper_constant,
    softmax_prediction,
    spectral_norm,
    weight_shift_bound,
)

ROUND_OFF = 1e-12


def _instances(rows: int = 12, radius: float = 2.0, batch: int = 64, index: int = 0):
    return SoftmaxRegressionConfig(rows=rows, dim=4, radius=radius, batch_size=batch).sample("train", index)


def test_gradient_matches_autograd():
    data = _instances()
    x = data.x_star.clone() * 0.3
    target = _instances(index=1).target
    x.requires_grad_(True)
    loss(data.matrix, x, target).sum().backward()
    torch.testing.assert_close(gradient(data.matrix, x.detach(), target), x.grad, rtol=1e-10, atol=1e-14)


def test_gradient_step_decreases_loss_for_small_step():
    data = _instances()
    start = torch.zeros_like(data.x_star)
    target = data.target
    after = loss(data.matrix, gradient_step(data.matrix, start, target, 1.0), target)
    assert torch.all(after < loss(data.matrix, start, target))


def test_softmax_jacobian_norm_at_most_one_half_with_equality():
    logits = 3.0 * torch.randn(2000, 7, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    norms = spectral_norm(softmax_jacobian(torch.softmax(logits, -1)))
    assert norms.max() <= 0.5 + ROUND_OFF
    extremal = torch.tensor([0.5, 0.5, 0.0, 0.0], dtype=torch.float64)
    torch.testing.assert_close(spectral_norm(softmax_jacobian(extremal)), torch.tensor(0.5, dtype=torch.float64))


@pytest.mark.parametrize("radius", [0.5, 2.0, 4.0])
@pytest.mark.parametrize("shift_size", [1e-3, 0.3, 3.0])
def test_shift_bounds_on_random_perturbations(radius, shift_size):
    data = _instances(radius=radius, batch=256)
    generator = torch.Generator().manual_seed(int(radius * 10 + shift_size * 1000))
    x_shift = shift_size * torch.randn(data.x_star.shape, generator=generator, dtype=torch.float64)
    a_shift = shift_size * torch.randn(data.matrix.shape, generator=generator, dtype=torch.float64)
    moved_x = (softmax_prediction(data.matrix, data.x_star + x_shift) - data.target).norm(dim=-1)
    moved_a = (softmax_prediction(data.matrix + a_shift, data.x_star) - data.target).norm(dim=-1)
    assert torch.all(moved_x <= weight_shift_bound(data.matrix, x_shift) * (1 + ROUND_OFF))
    assert torch.all(moved_a <= data_shift_bound(a_shift, data.x_star) * (1 + ROUND_OFF))


def test_local_constant_below_half_norm_and_equal_to_the_jacobian_norm():
    data = _instances(radius=4.0, batch=128)
    jacobian = softmax_jacobian(softmax_prediction(data.matrix, data.x_star)) @ data.matrix
    torch.testing.assert_close(local_weight_shift_constant(data.matrix, data.x_star), spectral_norm(jacobian))
    assert torch.all(local_weight_shift_constant(data.matrix, data.x_star) <= 0.5 * spectral_norm(data.matrix) + 1e-12)


def test_paper_constant():
    """M = n^1.5 exp(10 R^2): n = 25, R = 2 gives 2.9e19 (notes C2)."""
    assert log10_paper_constant(25, 2.0) == pytest.approx(math.log10(25**1.5 * math.exp(40.0)), rel=1e-12)
    assert 10 ** log10_paper_constant(25, 2.0) == pytest.approx(2.9e19, rel=0.02)
    with pytest.raises(ValueError, match="rows"):
        log10_paper_constant(0, 1.0)


def test_task_norms_simplex_seeding_and_oracle():
    config = SoftmaxRegressionConfig(rows=9, dim=3, radius=1.5, batch_size=32)
    data = config.sample("val", 2)
    torch.testing.assert_close(spectral_norm(data.matrix), torch.full((32,), 1.5, dtype=torch.float64))
    torch.testing.assert_close(spectral_norm(data.inputs), torch.full((32,), 1.5, dtype=torch.float64))
    torch.testing.assert_close(data.x_star.norm(dim=-1), torch.full((32,), 1.5, dtype=torch.float64))
    torch.testing.assert_close(data.target.sum(-1), torch.ones(32, dtype=torch.float64))
    torch.testing.assert_close(config.oracle(data), data.targets, rtol=0, atol=0)
    torch.testing.assert_close(config.sample("val", 2).matrix, data.matrix, rtol=0, atol=0)
    assert not torch.allclose(config.sample("test", 2).matrix, data.matrix)
    assert data.inputs.shape == (32, 9, 3) and data.loss_mask.shape == (32, 9) and bool(data.loss_mask.all())
    with pytest.raises(ValueError, match="radius"):
        SoftmaxRegressionConfig(radius=0.0)


def test_attention_equals_one_step_gd_at_the_gd_point():
    """With W_b = -W_1 = gamma I the attention model is the GD model (b in the simplex)."""
    config = SoftmaxRegressionConfig(rows=8, dim=4, radius=2.0, batch_size=16)
    data = config.sample("train", 0)
    descent = OneStepGD(config.rows, config.dim, config.radius)
    attention = SingleSoftmaxAttention(config.rows, config.dim, config.radius, torch.Generator().manual_seed(0))
    with torch.no_grad():
        attention.weighted.copy_(descent.gamma * torch.eye(4, dtype=torch.float64))
        attention.mean.copy_(-descent.gamma * torch.eye(4, dtype=torch.float64))
    arguments = (data.matrix, data.target, data.inputs)
    torch.testing.assert_close(attention(*arguments), descent(*arguments), rtol=1e-12, atol=1e-14)
    torch.testing.assert_close(sensitivity(attention, data), sensitivity(descent, data), rtol=1e-10, atol=1e-14)


@pytest.mark.parametrize("model_kind", ["attention", "descent"])
def test_closed_form_sensitivity_matches_autograd(model_kind):
    config = SoftmaxRegressionConfig(rows=6, dim=3, radius=2.0, batch_size=3)
    data = config.sample("train", 1)
    sizes = (config.rows, config.dim, config.radius)
    model = OneStepGD(*sizes) if model_kind == "descent" else SingleSoftmaxAttention(*sizes, torch.Generator())
    for i in range(3):
        jacobian = torch.autograd.functional.jacobian(
            lambda b, i=i: model(data.matrix[i : i + 1], b[None], data.inputs[i : i + 1])[0],
            data.target[i],
        )
        closed = model.sensitivity(data.matrix[i : i + 1], data.target[i : i + 1], data.inputs[i : i + 1])[0]
        torch.testing.assert_close(closed.detach(), jacobian, rtol=1e-9, atol=1e-13)
