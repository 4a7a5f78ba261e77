"""The "lla" mixer of the zoo: configurable λ / solver / CG iterations, and a learnable λ = softplus(θ)."""

from __future__ import annotations

import pytest
import torch

from attnbench.models.zoo import LocalLinearAttention, build_mixer


def test_zoo_default_is_lla_with_fixed_ridge():
    mixer = build_mixer("lla", 8, 2)
    assert isinstance(mixer, LocalLinearAttention) and mixer.ridge == 0.1
    assert not any("ridge" in name for name, _ in mixer.named_parameters())


def test_learnable_ridge_starts_at_its_value_and_receives_the_exact_gradient():
    torch.manual_seed(0)
    learned = LocalLinearAttention(8, 2, ridge=0.3, solver="cholesky", learn_ridge=True).double()
    ridge = learned.ridge.item()
    assert ridge == pytest.approx(0.3, rel=1e-6)  # θ is created in float32, then cast
    fixed = LocalLinearAttention(8, 2, ridge=ridge, solver="cholesky").double()
    fixed.load_state_dict({k: v for k, v in learned.state_dict().items() if k != "ridge_logit"})
    x = torch.randn(2, 12, 8, dtype=torch.float64)
    assert torch.allclose(learned(x), fixed(x), atol=1e-12)
    learned(x).square().sum().backward()
    step = 1e-6
    with torch.no_grad():
        losses = []
        for sign in (1, -1):
            fixed.fixed_ridge = ridge + sign * step
            losses.append(fixed(x).square().sum().item())
    chain = torch.sigmoid(learned.ridge_logit).item()  # dλ/dθ of the softplus
    expected = (losses[0] - losses[1]) / (2 * step) * chain
    assert learned.ridge_logit.grad.item() == pytest.approx(expected, rel=1e-6)


def test_cg_options_reach_the_kernel():
    torch.manual_seed(1)
    exact = LocalLinearAttention(8, 2, solver="cholesky").double()
    rough = LocalLinearAttention(8, 2, solver="cg", cg_iters=1, cg_tol=0.0).double()
    rough.load_state_dict(exact.state_dict())
    x = torch.randn(1, 16, 8, dtype=torch.float64)
    assert (exact(x) - rough(x)).abs().max() > 1e-6


@pytest.mark.parametrize(
    ("kwargs", "message"), [({"ridge": 0.0}, "ridge"), ({"solver": "lu"}, "solver"), ({"cg_iters": 0}, "cg_iters")]
)
def test_bad_options_raise(kwargs, message):
    with pytest.raises(ValueError, match=message):
        LocalLinearAttention(8, 2, **kwargs)
