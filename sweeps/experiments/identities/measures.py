"""The identities and bounds of the experiment that are not form equivalences, each measured numerically in fp64.

Every function draws its inputs from ``seed`` and returns the measured quantity: a relative error for an
identity (predicted 0; fp64 round-off gives 1e-16 to 1e-13), or the measured value beside a bound. Sources
are the notes' sections (shared/papers/extra_theory.md); unless a paper states the identity, it is derived
from the definitions, and the docstring says so. The forms of one mixer are compared in `form_measures`.
"""

from __future__ import annotations

import math

import torch
from torch.nn import functional as F

from attnbench.models import aaren, attention, deltanet, feature_maps, recurrences, sigmoid_attention
from attnbench.models.forms import relative_error

DTYPE = torch.float64


def _normal(generator: torch.Generator, *shape: int) -> torch.Tensor:
    return torch.randn(*shape, generator=generator, dtype=DTYPE)


def _generator(seed: int) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


# 1. Attention as test-time regression (Wang, Shi & Fox 2025; notes §13).


def titans_linear_memory_is_delta_rule(seed: int, n: int = 40, dim: int = 8, lr: float = 0.2) -> float:
    """Titans' linear memory without momentum or decay (η = α = 0): M_t = M_{t−1} − θ∇‖M k_t − v_t‖², one SGD
    step per token (unrolled with autograd), equals the delta rule with β = 2θ (online LMS). Derived (notes
    §13; Titans' update as transcribed there). Returns the relative error of the read-outs y_t = M_t q_t."""
    g = _generator(seed)
    q, v = _normal(g, 1, 1, n, dim), _normal(g, 1, 1, n, dim)
    k = F.normalize(_normal(g, 1, 1, n, dim), dim=-1)
    memory = torch.zeros(dim, dim, dtype=DTYPE)
    readouts = []
    for t in range(n):
        current = memory.clone().requires_grad_()
        loss = ((current @ k[0, 0, t] - v[0, 0, t]) ** 2).sum()
        (gradient,) = torch.autograd.grad(loss, current)
        memory = memory - lr * gradient
        readouts.append(memory @ q[0, 0, t])
    beta = torch.full((1, 1, n), 2 * lr, dtype=DTYPE)
    return relative_error(torch.stack(readouts), deltanet.delta_rule_recurrent(q, k, v, beta)[0, 0])


def recursive_least_squares_is_ridge(seed: int, n: int = 40, dim: int = 8, ridge: float = 1e-2) -> float:
    """RLS (Sherman–Morrison) read-outs y_t = M_t q_t equal batch ridge on the first t pairs, for every t.

    Derived (the "optimal linear regression" memory of test-time regression, notes §13). Relative error.
    """
    g = _generator(seed)
    q, k, v = (_normal(g, 1, 1, n, dim) for _ in range(3))
    outputs, _ = recurrences.recursive_least_squares(q, k, v, ridge=ridge)
    batch = torch.stack(
        [recurrences.ridge_memory(k[:, :, : t + 1], v[:, :, : t + 1], ridge=ridge)[0, 0] @ q[0, 0, t] for t in range(n)]
    )
    return relative_error(outputs[0, 0], batch)


# 2. The softmax partial-result monoid (Feng et al. 2024; notes §2, §10).


def _random_partial(g: torch.Generator, batch: int, dim: int, spread: float) -> aaren.Partial:
    return aaren.Partial(
        spread * _normal(g, batch), torch.rand(batch, generator=g, dtype=DTYPE) + 0.1, _normal(g, batch, dim)
    )


def _partial_gap(a: aaren.Partial, b: aaren.Partial) -> float:
    return max(relative_error(x, y) for x, y in zip(a, b, strict=True))


def monoid_associativity_error(seed: int, batch: int = 256, dim: int = 4, spread: float = 30.0) -> float:
    """max relative |(a ⊕ b) ⊕ c − a ⊕ (b ⊕ c)| over random triples (max scores spread ±30); predicted 0."""
    g = _generator(seed)
    a, b, c = (_random_partial(g, batch, dim, spread) for _ in range(3))
    return _partial_gap(aaren.combine(aaren.combine(a, b), c), aaren.combine(a, aaren.combine(b, c)))


def monoid_identity_error(seed: int, batch: int = 256, dim: int = 4) -> float:
    """(−∞, 0, 0) ⊕ a = a ⊕ (−∞, 0, 0) = a; relative error, predicted 0 (exactly)."""
    g = _generator(seed)
    a = _random_partial(g, batch, dim, 30.0)
    e = aaren.identity_partial(a)
    return max(_partial_gap(aaren.combine(e, a), a), _partial_gap(aaren.combine(a, e), a))


def lse_merge_error(
    seed: int, n: int = 100, dim: int = 8, block_edges: tuple[int, ...] = (0, 13, 50, 51, 100)
) -> float:
    """Attention over disjoint key blocks, merged with ⊕ (the log-sum-exp merge), equals full attention."""
    g = _generator(seed)
    q, k, v = (_normal(g, 1, 2, n, dim) for _ in range(3))
    scale = 3.0 / math.sqrt(dim)
    blocks = [
        aaren.block_partial(q, k[:, :, lo:hi], v[:, :, lo:hi], scale=scale)
        for lo, hi in zip(block_edges[:-1], block_edges[1:], strict=True)
    ]
    merged = blocks[0]
    for block in blocks[1:]:
        merged = aaren.combine(merged, block)
    return relative_error(merged.output(), attention.softmax_attention(q, k, v, causal=False, scale=scale))


# 3. Sigmoid attention with b = −log n (Ramapuram et al. 2025; notes §1).


def sigmoid_row_sum_error(n: int) -> float:
    """At zero logits a row of σ(0 − log n) sums to n·σ(−log n) = n/(n+1); returns |Σ − n/(n+1)|. Derived."""
    zeros = torch.zeros(1, 1, 1, 1, dtype=DTYPE)
    weights = sigmoid_attention.sigmoid_weights(zeros, zeros.expand(1, 1, n, 1), causal=False, scale=0.0)
    return abs(float(weights.sum()) - n / (n + 1))


def sigmoid_duplication(
    seed: int, n: int, logit_range: float = 2.0, dim: int = 4, rows_per_block: int = 512
) -> dict[str, float]:
    """Duplicating the keys/values [X; X] changes σ(S − log n)V by at most e^{s_max}/(2n)·Σ_j σ_ij|v_j|.

    Per weight: 2σ(s − log 2n) − σ(s − log n) = σ(s − log n)·e^s/(2n + e^s) ∈ [0, σ·e^s/(2n)] (derived; the
    sequence-doubling argument of Ramapuram et al. 2025, appendix). Logits s_ij ~ U(−r, r), V ~ N(0, I).
    Returns: max |Δo| and the bound (random V), and the mean row-sum change mean_i Δ(Σ_j w_ij) (V = 1), which
    equals mean_j e^{2s}/((2 + e^s/n)(1 + e^s/n))/n → E[e^{2s}]/(2n): it shrinks like 1/n with a relative
    correction of about 1.5·E[e^{3s}]/(E[e^{2s}]·n).
    """
    g = _generator(seed)
    values = _normal(g, n, dim)
    deviation, bound, row_sum_total = 0.0, 0.0, 0.0
    for start in range(0, n, rows_per_block):  # query rows in blocks: O(rows_per_block·n) memory
        rows = min(rows_per_block, n - start)
        logits = (2 * torch.rand(rows, n, generator=g, dtype=DTYPE) - 1) * logit_range
        weights = torch.sigmoid(logits - math.log(n))
        change = 2 * torch.sigmoid(logits - math.log(2 * n)) - weights  # each key appears twice
        deviation = max(deviation, float((change @ values).abs().max()))
        bound = max(bound, math.exp(logit_range) / (2 * n) * float((weights @ values.abs()).max()))
        row_sum_total += float(change.sum())
    return {"deviation": deviation, "bound": bound, "row_sum_change": row_sum_total / n}


# 4. Linear-attention pathologies (InLine, Han et al. 2024; MALA, Fan et al. 2025; notes §5, §6).


def _relu_weights(keys: torch.Tensor, query: torch.Tensor) -> torch.Tensor:
    """Normalised ReLU-kernel weights φ(k_j)·φ(q) / Σ_j φ(k_j)·φ(q)."""
    scores = feature_maps.relu_features(keys) @ feature_maps.relu_features(query)
    return scores / scores.sum()


def query_scaling_weight_gaps(seed: int, n: int = 10, dim: int = 6, factor: float = 2.0) -> dict[str, float]:
    """max |w(q) − w(2q)| for ReLU-kernel linear attention (predicted 0: φ is 1-homogeneous, so the query
    magnitude cancels) and for softmax (predicted > 0: softmax sharpens). Derived (notes §5, §6)."""
    g = _generator(seed)
    q, keys = _normal(g, dim).abs(), _normal(g, n, dim)  # |q| keeps φ(q) ≠ 0
    return {
        "relu": float((_relu_weights(keys, q) - _relu_weights(keys, factor * q)).abs().max()),
        "softmax": float((torch.softmax(keys @ q, -1) - torch.softmax(keys @ (factor * q), -1)).abs().max()),
    }


def mala_weight_errors(seed: int, magnitude: float, n: int = 10, dim: int = 6) -> dict[str, float]:
    """MALA weights vs the closed form w_j(m) = c_j/C + (m/N)(c_j − C/N) and their sum vs 1.

    With the official code's form (`attnbench.models.attention.mala_attention`),
    s_j = scale·φ(q)·φ(k_j) = m·c_j, m = scale·‖φ(q)‖, c_j = φ(q)/‖φ(q)‖·φ(k_j), C = Σ_j c_j (derived; notes
    §6 give w_j(m) = c_j/C + m(c_j − C/N), the same form with 1/N absorbed into m).
    Weights are read off the linear-time form with V = I (one-hot values).
    """
    g = _generator(seed)
    direction = F.normalize(feature_maps.elu1_features(_normal(g, dim)), dim=-1)
    key_features = feature_maps.elu1_features(_normal(g, n, dim))
    q_features = (magnitude * direction)[None, None, None, :]
    identity = torch.eye(n, dtype=DTYPE)[None, None]
    weights = attention.mala_attention(q_features, key_features[None, None], identity, scale=1.0)[0, 0, 0]
    c = key_features @ direction
    closed_form = c / c.sum() + (magnitude / n) * (c - c.sum() / n)
    return {"closed_form": relative_error(weights, closed_form), "sum_to_one": abs(float(weights.sum()) - 1)}


# 5. Gradient scaling of normalised kernels (TransNormer, Qin et al. 2022, Sec. 3; notes §4).


def homogeneous_gradient_scaling_error(
    seed: int, n: int = 20, dim: int = 6, factors: tuple[float, ...] = (1.0, 1e-2, 1e-4)
) -> float:
    """For p(q) = φ(K)φ(q)/Σ, φ degree-1 homogeneous (ReLU): p(cq) = p(q), so ‖∂p/∂q‖(cq) = ‖∂p/∂q‖(q)/c.

    Returns max_c |c·‖J(cq)‖_F − ‖J(q)‖_F| / ‖J(q)‖_F (autograd Jacobians); predicted 0. Derived.
    """
    g = _generator(seed)
    q, keys = _normal(g, dim).abs() + 0.1, _normal(g, n, dim)
    norms = [
        c * float(torch.autograd.functional.jacobian(lambda query: _relu_weights(keys, query), c * q).norm())
        for c in factors
    ]
    return max(abs(x - norms[0]) for x in norms) / norms[0]


# 6. Hedgehog (Zhang et al. 2024; notes §7).


def taylor2_kernel_error(seed: int, batch: int = 64, dim: int = 8) -> float:
    """φ(q)ᵀφ(k) = 1 + q·k + (q·k)²/2 for φ = [1, x, vec(xxᵀ)/√2]; relative error, predicted 0."""
    g = _generator(seed)
    q, k = _normal(g, batch, dim), _normal(g, batch, dim)
    dot = (q * k).sum(-1)
    kernel = (feature_maps.taylor2_features(q) * feature_maps.taylor2_features(k)).sum(-1)
    return relative_error(kernel, 1 + dot + dot**2 / 2)


def attention_weight_statistics(seed: int, n: int = 64, dim: int = 8) -> dict[str, float]:
    """Monotonicity (fraction of key pairs whose weight order matches their q·k order) and entropy (nats) of
    softmax(q·k) and of normalised 1+elu weights, q, k ~ N(0, I). Softmax is monotone by construction
    (fraction exactly 1); 1+elu is not (the property named by Zhang et al. 2024, measured here). log n is the
    uniform entropy."""
    g = _generator(seed)
    q, keys = _normal(g, dim), _normal(g, n, dim)
    scores = keys @ q
    elu = feature_maps.elu1_features(keys) @ feature_maps.elu1_features(q)
    distributions = {"softmax": torch.softmax(scores, -1), "elu1": elu / elu.sum()}
    score_order = torch.sign(scores[:, None] - scores[None, :])
    pairs = ~torch.eye(n, dtype=torch.bool)
    stats: dict[str, float] = {"uniform_entropy": math.log(n)}
    for name, weights in distributions.items():
        agree = torch.sign(weights[:, None] - weights[None, :]) == score_order
        stats[f"{name}_monotonicity"] = float(agree[pairs].double().mean())
        stats[f"{name}_entropy"] = float(-(weights * weights.log()).sum())
    return stats
