"""Scan and Snap predictions (Tian, Wang, Chen, Du 2023, arXiv 2305.16380v4): closed forms and ODEs.

Time unit everywhere: one step of batch-mean gradient descent, in which every class n carries weight
P(n) = 1/K. The paper's batch-size-1 time is per class t/K, so its h(t) appears here as h(t/K).
Learning rates are those of plain gradient flow; SGD with momentum β follows the flow with η/(1−β)
(see `momentum_time`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from scipy.integrate import solve_ivp
from scipy.optimize import brentq
from scipy.special import lambertw

# ----------------------------------------------------------------------------------------------- decoder


def _lambertw_of_exp(log_x: np.ndarray) -> np.ndarray:
    """W_0(e^L) for real L, without overflowing e^L (Newton on w + ln w = L where e^L is huge)."""
    log_x = np.asarray(log_x, dtype=float)
    small = log_x < 500
    out = np.empty_like(log_x)
    out[small] = lambertw(np.exp(log_x[small])).real
    w = log_x[~small] - np.log(log_x[~small])
    for _ in range(30):
        w = w - (w + np.log(w) - log_x[~small]) / (1 + 1 / w)
    out[~small] = w
    return out


def h_continuous(t: np.ndarray | float, vocab_size: int, lr_y: float) -> np.ndarray:
    """h(t) of Lemma 6 (Tian et al. 2023, Eqns 44–45): dh/dt = η_Y/((M−1)+e^{Mh}), h(0) = 0.

    Its implicit solution e^{Mh} + (M−1)Mh = Mη_Y t + 1 is solved in closed form [derived]:
    M h = A/(M−1) − W_0(e^{A/(M−1)}/(M−1)) with A = Mη_Y t + 1 and W_0 the Lambert W function.
    Two Newton steps on e^x + (M−1)x = A (x = Mh) then remove the cancellation in A/(M−1) − W at large t.
    """
    m = vocab_size
    a = m * lr_y * np.asarray(t, dtype=float) + 1
    x = a / (m - 1) - _lambertw_of_exp(a / (m - 1) - np.log(m - 1))
    for _ in range(2):
        x = x - (np.exp(x) + (m - 1) * x - a) / (np.exp(x) + m - 1)
    return x / m


def h_discrete(steps: int, vocab_size: int, lr_y: float) -> np.ndarray:
    """h*(s), s = 0..steps (Tian et al. 2023, Lemma 5, Eqn 33): h*(s) = h*(s−1) + η_Y/((M−1)+e^{Mh*(s−1)})."""
    out = np.zeros(steps + 1)
    for s in range(1, steps + 1):
        out[s] = out[s - 1] + lr_y / ((vocab_size - 1) + np.exp(vocab_size * out[s - 1]))
    return out


def discrete_gap_bound(vocab_size: int, lr_y: float) -> float:
    """Bound on |h*(s) − h(s)| quoted from Lemmas 5–7 of Tian et al. 2023 (notes B4): 2η_Y/M."""
    return 2 * lr_y / vocab_size


def gamma(t: np.ndarray | float, vocab_size: int, num_classes: int, lr_y: float) -> np.ndarray:
    """Speed control γ(t) = (M−1)² h(t/K)/((M−1)+e^{Mh(t/K)}) (Tian et al. 2023, Eqn 85)."""
    m = vocab_size
    h = h_continuous(np.asarray(t, dtype=float) / num_classes, m, lr_y)
    return (m - 1) ** 2 * h / ((m - 1) + np.exp(m * h))


def gamma_peak_time(vocab_size: int, num_classes: int, lr_y: float) -> float:
    """Time of the maximum of γ(t) [derived]: x = Mh solves e^x (x − 1) = M − 1, then Eqn 45 gives t.

    At the peak Mh ≈ ln M − ln ln M, so it comes just before t'_0 (`transition_times`); it scales exactly
    as 1/η_Y.
    """
    m = vocab_size
    x = brentq(lambda x: np.exp(x) * (x - 1) - (m - 1), 1.0, 2 * np.log(m) + 2)
    return num_classes * (np.exp(x) + (m - 1) * x - 1) / (m * lr_y)


def transition_times(vocab_size: int, num_classes: int, lr_y: float) -> tuple[float, float]:
    """(t'_0, t_0) = (K ln M/η_Y, 2K ln M/η_Y): end of scanning, start of snapping (Eqn 14, ω_1 dropped)."""
    t_scan = num_classes * np.log(vocab_size) / lr_y
    return float(t_scan), float(2 * t_scan)


def gamma_integral(t: np.ndarray | float, vocab_size: int, num_classes: int, lr_y: float, lr_z: float) -> np.ndarray:
    """Γ(t) = η_Z ∫_0^t γ = (η_Z/η_Y) K (M−1)² h(t/K)²/2, exact for the continuous h (notes B4, Sec 6)."""
    h = h_continuous(np.asarray(t, dtype=float) / num_classes, vocab_size, lr_y)
    return lr_z / lr_y * num_classes * (vocab_size - 1) ** 2 * h**2 / 2


def common_token_logit(
    t: np.ndarray | float, vocab_size: int, num_classes: int, lr_y: float, lr_z: float, c0: float
) -> np.ndarray:
    """z_CT(t) = −¼ ln(1 + 4Γ(t)/C_0) of the reduced snap model (Tian et al. 2023, Eqns 13, 120–129)."""
    return -0.25 * np.log1p(4 * gamma_integral(t, vocab_size, num_classes, lr_y, lr_z) / c0)


def snap_b(t: np.ndarray | float, vocab_size: int, num_classes: int, lr_y: float, lr_z: float, c0: float) -> np.ndarray:
    """B_n(t) = ¼ ln(C_0 + 2(η_Z/η_Y) K (M−1)² h(t/K)²) (Tian et al. 2023, Eqn 129).

    As printed, B(0) = ¼ ln C_0 (the paper drops the constant that makes B(0) = 0); subtract it for the
    integral η_Z ∫ ξ. At t_0 ∝ 1/η_Y it depends on (K, M, η_Y/η_Z) only.
    """
    return 0.25 * np.log(c0 + 4 * gamma_integral(t, vocab_size, num_classes, lr_y, lr_z))


# ------------------------------------------------------------------------------------ population model


@dataclass(frozen=True)
class Classes:
    """The population description of the data: P(l|n) (K, M), ψ(n) and y(n) as index arrays."""

    probs: np.ndarray
    queries: np.ndarray
    labels: np.ndarray

    @property
    def vocab_size(self) -> int:
        return self.probs.shape[1]

    @property
    def num_classes(self) -> int:
        return self.probs.shape[0]


def attention_map(z: np.ndarray, classes: Classes) -> np.ndarray:
    """c_n = P(·|n) ⊙ e^{z_ψ(n)} / Σ (K, M), the T→∞ attention of Lemma 2 / Eqn 5; z has shape (..., M, M)."""
    logits = z[..., classes.queries, :]
    logits = logits - logits.max(axis=-1, keepdims=True)
    tilde = classes.probs * np.exp(logits)
    return tilde / tilde.sum(axis=-1, keepdims=True)


def _softmax(x: np.ndarray) -> np.ndarray:
    e = np.exp(x - x.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


def population_velocity(
    y: np.ndarray, z: np.ndarray, classes: Classes, lr_y: float, lr_z: float
) -> tuple[np.ndarray, np.ndarray]:
    """(Ẏ, Ż) of the T→∞ expected gradient flow (Lemma 1 + Lemma 2, exact model; notes B5.1 [derived]).

    Ẏ = η_Y Σ_n P(n) f_n (e_y(n) − α_n)^T and ż_ψ(n) += η_Z P(n) diag(f_n)(I − f_n f_n^T) Y (e_y(n) − α_n),
    with f_n = c_n/‖c_n‖, α_n = softmax(Y^T f_n), P(n) = 1/K.
    """
    c = attention_map(z, classes)
    f = c / np.linalg.norm(c, axis=1, keepdims=True)
    residual = -_softmax(f @ y)  # (K, M): e_y − α
    residual[np.arange(classes.num_classes), classes.labels] += 1
    weight = 1.0 / classes.num_classes
    dy = lr_y * weight * f.T @ residual
    g = residual @ y.T  # (K, M): g_n = Y (e_y − α_n)
    dz_rows = lr_z * weight * f * (g - f * np.sum(f * g, axis=1, keepdims=True))
    dz = np.zeros_like(z)
    np.add.at(dz, classes.queries, dz_rows)
    return dy, dz


def _integrate(
    rhs: Callable[[float, np.ndarray], np.ndarray], start: np.ndarray, times: np.ndarray, rtol: float, name: str
) -> np.ndarray:
    """Integrate the flat ODE ``rhs`` from ``start`` at t = 0 with scipy's LSODA (atol = rtol/100); returns the
    states at ``times``, shaped (len(times), len(start)). Raises naming ``name`` when the solver fails."""
    sol = solve_ivp(rhs, (0.0, float(times[-1])), start, method="LSODA", t_eval=times, rtol=rtol, atol=rtol * 1e-2)
    if not sol.success:
        raise RuntimeError(f"{name} failed: {sol.message}")
    return sol.y.T


def integrate_population(
    classes: Classes,
    times: np.ndarray,
    lr_y: float,
    lr_z: float,
    y0: np.ndarray | None = None,
    z0: np.ndarray | None = None,
    rtol: float = 1e-8,
) -> tuple[np.ndarray, np.ndarray]:
    """Integrate `population_velocity` with scipy (LSODA); returns Y(t), Z(t), each (len(times), M, M)."""
    m = classes.vocab_size
    y0 = np.zeros((m, m)) if y0 is None else y0
    z0 = np.zeros((m, m)) if z0 is None else z0

    def rhs(_: float, state: np.ndarray) -> np.ndarray:
        dy, dz = population_velocity(state[: m * m].reshape(m, m), state[m * m :].reshape(m, m), classes, lr_y, lr_z)
        return np.concatenate([dy.ravel(), dz.ravel()])

    states = _integrate(rhs, np.concatenate([y0.ravel(), z0.ravel()]), times, rtol, "population ODE")
    return states[:, : m * m].reshape(-1, m, m), states[:, m * m :].reshape(-1, m, m)


def reduced_velocity(
    t: float, z: np.ndarray, classes: Classes, lr_y: float, lr_z: float
) -> tuple[np.ndarray, np.ndarray]:
    """Z-only flow in the Theorem-1 regime (Lemma 4, Eqns 10 and 97; notes B5.2): returns (Ż, ξ).

    g_n = γ(t)(ι_n f_n − Σ_{n'≠n} β_nn' f_n') with β_nn' = E'_{n'n}, ι_n = 1 − E'_nn,
    E' = I − (F^T F)^{−1} from the current F [derived from Theorem 1]; ξ_n = −γ E'_nn (Thm 1(a), Eqn 92).
    """
    c = attention_map(z, classes)
    f = c / np.linalg.norm(c, axis=1, keepdims=True)
    e_prime = np.eye(classes.num_classes) - np.linalg.inv(f @ f.T)
    speed = gamma(t, classes.vocab_size, classes.num_classes, lr_y)
    g = speed * (f - e_prime.T @ f)
    weight = 1.0 / classes.num_classes
    dz_rows = lr_z * weight * f * (g - f * np.sum(f * g, axis=1, keepdims=True))
    dz = np.zeros_like(z)
    np.add.at(dz, classes.queries, dz_rows)
    return dz, -speed * np.diag(e_prime)


def integrate_reduced(
    classes: Classes, times: np.ndarray, lr_y: float, lr_z: float, rtol: float = 1e-10
) -> tuple[np.ndarray, np.ndarray]:
    """Integrate the reduced Z-only ODE from Z(0) = 0; returns Z(t) and B_n(t) = η_Z ∫ P(n) ξ_n (Eqn 12)."""
    m, k = classes.vocab_size, classes.num_classes

    def rhs(t: float, state: np.ndarray) -> np.ndarray:
        dz, xi = reduced_velocity(t, state[: m * m].reshape(m, m), classes, lr_y, lr_z)
        return np.concatenate([dz.ravel(), lr_z * xi / k])

    states = _integrate(rhs, np.zeros(m * m + k), times, rtol, "reduced ODE")
    return states[:, : m * m].reshape(-1, m, m), states[:, m * m :]


def relative_gain_identity_gap(dz_l: np.ndarray, dz_ref: np.ndarray, p_l: float, p_ref: float) -> np.ndarray:
    """Residual of Eqn 110: e^{−2Δz_l} − 1 − (r(0)+1)(e^{−2Δz_ref} − 1), r(0)+1 = (P_l/P_ref)² at Z(0) = 0.

    Zero exactly when ż_l ∝ f_l² with a factor shared by the tokens (Theorem 3; equivalent to Eqn 11).
    """
    return np.expm1(-2 * dz_l) - (p_l / p_ref) ** 2 * np.expm1(-2 * dz_ref)


def distinct_entropy(c: np.ndarray, distinct: np.ndarray) -> np.ndarray:
    """Entropy (nats) of c_n restricted to G_DT(n) and renormalised (the Fig. 6 metric, definition [derived]).

    ``c``: (..., K, M); ``distinct``: (K, D) token ids. Returns the average over n, shape (...).
    """
    parts = np.take_along_axis(c, np.broadcast_to(distinct, c.shape[:-1] + distinct.shape[-1:]), axis=-1)
    parts = parts / parts.sum(axis=-1, keepdims=True)
    return -(parts * np.log(parts)).sum(axis=-1).mean(axis=-1)


# ------------------------------------------------------------------------------------ SGD vs the flow


def momentum_time(steps: np.ndarray | float, momentum: float) -> np.ndarray | float:
    """Gradient-flow time reached after ``steps`` heavy-ball steps, in units of the effective rate η/(1−β).

    [derived] With a constant gradient, s heavy-ball steps move η Σ_{k=1}^{s} (1−β^k)/(1−β) =
    η/(1−β) · (s − β(1−β^s)/(1−β)); so SGD with momentum β and rate η follows the flow with rate η/(1−β)
    at time s − β(1−β^s)/(1−β), a lag of β/(1−β) steps once s ≫ 1/(1−β).
    """
    if momentum == 0:
        return steps
    return steps - momentum * (1 - momentum**steps) / (1 - momentum)
