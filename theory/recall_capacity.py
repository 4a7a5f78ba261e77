"""An upper bound on the key-value pairs a mixer's state can recall exactly: the capacity line of the MQAR figure.

Derived (the linear-memory argument behind Arora et al. 2024, "Zoology", Sec. 4), for one layer's state. A
recurrent mixer whose state after the context is a matrix ``S ∈ R^{d_v × m}`` and whose read-out at a query is
linear in a key feature, ``o = S φ(q)`` with ``φ(q) ∈ R^m`` (a normalised read-out divides by the scalar
``zᵀφ(q)``, which keeps the conditions linear in S), recalls K pairs exactly when ``S φ(k_i) = v_i`` for every
i. For every assignment of the values that system is solvable iff the K features ``φ(k_i)`` are linearly
independent, which needs ``K ≤ m``. So no state of this form recalls more than m pairs exactly: m, the
key-feature dimension per head, is an upper bound, attained by the best state ``S = V Φ⁺`` (reached by the delta
rule of DeltaNet in one pass with orthogonal keys; by linear attention's additive ``S = Σ v_i φ(k_i)ᵀ`` only with
orthonormal features, which the strictly positive maps elu+1 and Performer's never give for K ≥ 2). It says
nothing about how accuracy falls past m, nor about a deeper model that combines layers. The bound per mixer:

- linear attention (identity or elu+1 map), DeltaNet (β ∈ [0, 1] or [0, 2]), gated linear attention and
  Lightning attention: ``m = d / heads``;
- random-feature (Performer) attention: its ``num_features`` = 4·d/heads random features (the default of
  `attnbench.models.attention.PerformerAttention`).

Softmax, sigmoid and local linear attention keep every key (a cache that grows with the context), so no K that
fits in the context exceeds their state: their capacity is infinite here.
"""

from __future__ import annotations

import math

KEY_FEATURES_PER_HEAD_DIM = {
    "linear": 1,
    "linear_elu": 1,
    "deltanet": 1,
    "deltanet_neg": 1,
    "gated_linear": 1,
    "lightning": 1,
    "random_feature": 4,
}
GROWING_CACHE = ("softmax", "sigmoid", "lla")


def recall_capacity(mixer: str, width: int, heads: int = 1) -> float:
    """The upper bound on the key-value pairs ``mixer`` at ``width`` with ``heads`` heads recalls exactly
    (module docstring): its key-feature dimension per head for a fixed-size linear state, ``math.inf`` for a
    growing cache."""
    if width < 1 or heads < 1 or width % heads:
        raise ValueError(f"width must be a positive multiple of heads, got width={width}, heads={heads}")
    if mixer in GROWING_CACHE:
        return math.inf
    if mixer not in KEY_FEATURES_PER_HEAD_DIM:
        known = sorted((*KEY_FEATURES_PER_HEAD_DIM, *GROWING_CACHE))
        raise ValueError(f"no recall capacity is derived for mixer {mixer!r}; it is derived for {known}")
    return float(KEY_FEATURES_PER_HEAD_DIM[mixer] * width // heads)
