"""Scan and Snap theory (Tian et al. 2023) and the Y/Z model it describes: closed forms, ODEs, Lemma 1."""

import numpy as np
import pytest
import torch
from scipy.integrate import quad, solve_ivp
from scipy.optimize import brentq

from attnbench.models.scan_snap import YZTransformer
from attnbench.sweeps.experiments.scan_snap.common import SGDConfig, train
from attnbench.tasks.base import stack
from attnbench.tasks.scan_snap import ScanSnapConfig, context_probs, label_of_class, query_of_class
from attnbench.theory import scan_snap as th

SYN_SMALL = ScanSnapConfig(num_queries=2, classes_per_query=1)
CLASSES = th.Classes(context_probs(SYN_SMALL), query_of_class(SYN_SMALL), label_of_class(SYN_SMALL))


@pytest.mark.parametrize("m, lr", [(50, 0.1), (1000, 0.5), (1000, 4.0)])
def test_lambert_w_h_solves_the_implicit_equation(m, lr):
    """Eqn 45: e^{Mh} + (M−1)Mh = Mη_Y t + 1, checked against a root finder (also far past e^{500})."""
    for t in [0.0, 1.0, 20.0, 1e3, 1e6]:
        target = m * lr * t + 1
        with np.errstate(over="ignore"):
            root = brentq(lambda h, a=target: np.exp(m * h) + (m - 1) * m * h - a, 0, 1) if t < 1e6 else None
        h = th.h_continuous(t, m, lr)
        if root is not None:
            assert h == pytest.approx(root, rel=1e-10, abs=1e-14)
        else:
            scaled = np.exp(m * h - np.log(m * lr * t)) + (m - 1) * m * h / (m * lr * t)  # Eqn 45 / (Mη_Y t)
            assert scaled == pytest.approx(1 + 1 / (m * lr * t), rel=1e-13)


def test_h_is_the_flow_of_lemma_6():
    sol = solve_ivp(
        lambda _, h: 0.5 / (999 + np.exp(1000 * h)),
        (0, 500),
        [0.0],
        t_eval=[20, 100, 500],
        rtol=1e-11,
        atol=1e-14,
    )
    np.testing.assert_allclose(th.h_continuous(sol.t, 1000, 0.5), sol.y[0], rtol=1e-7)


def test_reported_numbers_of_the_notes():
    """Notes B4/B5: h(20) = 0.007731, h*(20) = 0.007824 (M=1000, η_Y=0.5); t'_0 = 138.2, t_0 = 276.3, K=10."""
    assert th.h_continuous(20, 1000, 0.5) == pytest.approx(0.007731, abs=5e-7)
    assert th.h_discrete(20, 1000, 0.5)[-1] == pytest.approx(0.007824, abs=5e-7)
    t_scan, t_snap = th.transition_times(1000, 10, 0.5)
    assert (t_scan, t_snap) == (pytest.approx(138.2, abs=0.05), pytest.approx(276.3, abs=0.05))


def test_gamma_peak_and_integral():
    m, k, lr_y, lr_z = 200, 4, 0.7, 0.3
    grid = np.linspace(0, 10 * th.transition_times(m, k, lr_y)[1], 200001)
    peak = grid[th.gamma(grid, m, k, lr_y).argmax()]
    assert peak == pytest.approx(th.gamma_peak_time(m, k, lr_y), abs=2 * grid[1])
    t_scan, t_snap = th.transition_times(m, k, lr_y)
    assert t_scan / 2 < peak < t_scan < t_snap  # Mh ≈ ln M − ln ln M at the peak, just before t'_0
    integral = lr_z * quad(lambda t: th.gamma(t, m, k, lr_y), 0, 300, limit=200)[0]
    assert th.gamma_integral(300, m, k, lr_y, lr_z) == pytest.approx(integral, rel=1e-8)


def test_common_token_logit_solves_the_reduced_snap_ode():
    """Eqn 13: ż = −η_Z γ(t) e^{4z}/C_0, z(0) = 0, integrates to z = −¼ ln(1 + 4Γ/C_0) (Eqns 120–129)."""
    m, k, lr_y, lr_z, c0 = 100, 5, 1.0, 0.4, 0.7
    sol = solve_ivp(
        lambda t, z: -lr_z * th.gamma(t, m, k, lr_y) * np.exp(4 * z) / c0,
        (0, 400),
        [0.0],
        t_eval=[50, 150, 400],
        rtol=1e-11,
        atol=1e-13,
    )
    np.testing.assert_allclose(th.common_token_logit(sol.t, m, k, lr_y, lr_z, c0), sol.y[0], rtol=1e-7)
    b = th.snap_b(sol.t, m, k, lr_y, lr_z, c0)
    np.testing.assert_allclose(b - 0.25 * np.log(c0), -sol.y[0], rtol=1e-7)  # B − B(0) = −z_CT


def test_snap_b_at_t0_depends_on_the_ratio_only():
    values = [
        th.snap_b(th.transition_times(100, 10, 10 * lr_z)[1], 100, 10, 10 * lr_z, lr_z, 1.0)
        for lr_z in (0.5, 1, 2, 4, 8)
    ]
    np.testing.assert_allclose(values, values[0], rtol=1e-12)


def test_discrete_recursion_stays_within_the_lemma_bound():
    for m in (50, 1000):
        for lr in (0.1, 0.5, 2.0):
            gap = np.abs(th.h_discrete(3000, m, lr) - th.h_continuous(np.arange(3001), m, lr)).max()
            assert gap <= th.discrete_gap_bound(m, lr)


def _population_loss(y: torch.Tensor, z: torch.Tensor) -> torch.Tensor:
    """−J of Eqn 2 in the T→∞ limit: mean over classes of the cross entropy of Y^T f_n."""
    probs = torch.as_tensor(CLASSES.probs)
    c = probs * torch.exp(z[CLASSES.queries])
    f = c / c.norm(dim=1, keepdim=True)
    return torch.nn.functional.cross_entropy(f @ y, torch.as_tensor(CLASSES.labels))


def test_population_velocity_is_the_negative_gradient_of_the_population_loss():
    gen = np.random.default_rng(0)
    m = SYN_SMALL.vocab_size
    y, z = gen.normal(size=(m, m)) * 0.3, gen.normal(size=(m, m)) * 0.3
    ty, tz = torch.tensor(y, requires_grad=True), torch.tensor(z, requires_grad=True)
    _population_loss(ty, tz).backward()
    dy, dz = th.population_velocity(y, z, CLASSES, lr_y=0.7, lr_z=1.3)
    np.testing.assert_allclose(dy, -0.7 * ty.grad.numpy(), atol=1e-12)
    np.testing.assert_allclose(dz, -1.3 * tz.grad.numpy(), atol=1e-12)


def test_model_gradient_is_lemma_1():
    """Batch-size-1 gradient of the Y/Z model: −∂L/∂z_m = diag(X^T b) P⊥_{X^T b}/‖X^T b‖ Y(e_n − α), Eqn 4."""
    config = ScanSnapConfig(
        num_common=2, distinct_per_class=3, num_queries=1, classes_per_query=2, seq_len=7, batch_size=1
    )
    batch = config.sample("train", 0)
    gen = torch.Generator().manual_seed(0)
    model = YZTransformer(1, config.vocab_size, init="default", generator=gen)
    model.losses(batch.inputs[None], batch.targets[None]).sum().backward()
    x = torch.nn.functional.one_hot(batch.inputs[0, :-1], config.vocab_size).double()
    m, n = int(batch.inputs[0, -1]), int(batch.targets[0])
    with torch.no_grad():
        b = torch.softmax(x @ model.Z[0, m], dim=0)
        v = x.T @ b
        f = v / v.norm()
        residual = torch.nn.functional.one_hot(torch.tensor(n), config.vocab_size).double()
        residual -= torch.softmax(model.Y[0].T @ f, dim=0)
        projector = torch.eye(config.vocab_size, dtype=torch.float64) - torch.outer(f, f)
        dz = torch.diag(v) @ projector @ model.Y[0] @ residual / v.norm()
    torch.testing.assert_close(-model.Z.grad[0, m], dz, rtol=1e-10, atol=1e-12)
    torch.testing.assert_close(-model.Y.grad[0], torch.outer(f, residual), rtol=1e-10, atol=1e-12)
    others = torch.ones(config.vocab_size, dtype=torch.bool)
    others[m] = False
    assert torch.all(model.Z.grad[0, others] == 0)


def test_ensemble_members_train_independently():
    """Member r of an ensemble equals the same config trained alone (exact in float64)."""
    configs = [ScanSnapConfig(num_queries=2, classes_per_query=1, seq_len=17, batch_size=8, stream=s) for s in (1, 2)]

    def batches(chosen: list[ScanSnapConfig]):
        def batch(step: int):
            members = stack(chosen, "train", step)
            return members.inputs, members.targets

        return batch

    sgd = SGDConfig(lr_y=1.0, lr_z=2.0, momentum=0.9, steps=5)
    both, alone = YZTransformer(2, 34), YZTransformer(1, 34)
    train(both, batches(configs), sgd)
    train(alone, batches(configs[1:]), sgd)
    torch.testing.assert_close(both.Z[1], alone.Z[0], rtol=1e-12, atol=1e-14)
    torch.testing.assert_close(both.Y[1], alone.Y[0], rtol=1e-12, atol=1e-14)


def test_momentum_time_is_exact_for_a_constant_gradient():
    beta, lr, steps = 0.9, 0.1, 37
    position, velocity = 0.0, 0.0
    for _ in range(steps):
        velocity = beta * velocity + 1.0
        position += lr * velocity
    assert position == pytest.approx(lr / (1 - beta) * th.momentum_time(steps, beta), rel=1e-12)


def test_reduced_ode_satisfies_theorem_3_exactly():
    """Eqn 110 identity and Eqn 12 bounds along the reduced Z-only ODE (Syn-Small, η_Y/η_Z = 10)."""
    times = np.linspace(0, 200, 81)
    z, b = th.integrate_reduced(CLASSES, times, 5.0, 0.5)
    tokens = np.arange(10, 20)
    dz = z[:, CLASSES.queries[0], tokens]
    p = CLASSES.probs[0, tokens]
    for i in range(9):
        assert np.abs(th.relative_gain_identity_gap(dz[:, -1], dz[:, i], p[-1], p[i])).max() < 1e-7
    assert np.all(np.diff(dz[1:], axis=1) > 0)  # higher P(l|n) gains more
    f0 = p[-1] / np.linalg.norm(CLASSES.probs[0])
    assert np.all(2 * f0**2 * b[:, 0] <= 2 * dz[:, -1] + 1e-9) and np.all(2 * dz[:, -1] <= 2 * b[:, 0] + 1e-9)


def test_distinct_entropy_at_zero_attention_logits():
    """Notes B6: uniform Z gives entropy 2.151 nats on linspace(0.1, 1, 10)."""
    c = th.attention_map(np.zeros((34, 34)), CLASSES)
    distinct = np.stack([np.arange(10, 20), np.arange(20, 30)])
    assert th.distinct_entropy(c, distinct) == pytest.approx(2.151, abs=5e-4)
