"""The exact identities (consistency claims): each is an algebraic identity between two ways of computing the
same quantity, measured to fp64 round-off (notes extra_theory.md §1–7, §11, §13; the sources name where the
identity comes from)."""

from __future__ import annotations

from attnbench.sweeps.experiments.base import Claim
from attnbench.sweeps.experiments.identities.claims import (
    FP64,
    FP64_AND_GAP,
    errors_at_most,
    identity_with_gap,
    metric_scope,
)


def _exact(
    name: str, statement: str, source: str, *metrics: str, cells: tuple[str, ...] = ("seed", "size", "variant")
) -> Claim:
    return Claim(
        f"identities.{name}",
        statement,
        source,
        "consistency",
        metric_scope(*metrics, cells=cells),
        FP64,
        errors_at_most(*metrics),
        "errors.png",
    )


def _with_gap(name: str, statement: str, source: str, identity: str, gap: str) -> Claim:
    return Claim(
        f"identities.{name}",
        statement,
        source,
        "consistency",
        metric_scope(identity, gap, cells=("seed",)),
        FP64_AND_GAP,
        identity_with_gap(identity, gap),
        "errors.png",
    )


EXACT_CLAIMS = (
    _exact(
        "titans_linear_is_delta_rule",
        "Titans' linear memory with one SGD step per token (no momentum, no decay) "
        "is the delta rule with β = 2θ (online LMS)",
        "derived",
        "titans_delta_rule",
    ),
    _exact(
        "rls_is_ridge",
        "Recursive least squares (Sherman–Morrison) equals batch ridge at every prefix",
        "derived",
        "rls_ridge",
    ),
    _exact(
        "softmax_monoid",
        "The partial-result operator ⊕ is associative with identity (−∞, 0, 0), and the "
        "log-sum-exp merge of key blocks equals full attention",
        "derived (operator of Feng et al. 2024)",
        "monoid_associativity",
        "monoid_identity",
        "lse_merge",
        cells=("seed",),
    ),
    _exact(
        "aaren_scan",
        "The prefix scan with ⊕ equals causal softmax attention (every length and logit scale) in fp64",
        "derived (Feng et al. 2024)",
        "aaren_scan",
    ),
    _exact(
        "lightning_tiling",
        "Lightning Attention-2 intra/inter-block tiling with decay equals [(QKᵀ)⊙M]V, forward "
        "and gradients, incl. a partial last block",
        "Qin et al. 2024 (Lightning Attention-2, official kernel); identity derived",
        "lightning_forward",
        "lightning_gradient",
    ),
    _exact(
        "deltanet_chunked",
        "DeltaNet's chunked WY/UT form equals the delta-rule recurrence, forward and "
        "gradients, for β ∈ [0,1] and β ∈ [0,2]",
        "derived (WY form of Yang et al. 2024)",
        "deltanet_forward",
        "deltanet_gradient",
    ),
    _exact(
        "sigmoid_row_sum",
        "With b = −log n and zero logits each sigmoid-attention row sums to n/(n+1)",
        "derived",
        "sigmoid_row_sum",
    ),
    _exact(
        "sigmoid_tiling",
        "Tiled sigmoid attention (no running max) equals the untiled product",
        "derived",
        "sigmoid_tiling",
    ),
    _with_gap(
        "relu_linear_not_injective",
        "ReLU-kernel linear attention gives identical weights for q and 2q; softmax does not",
        "derived",
        "relu_q_vs_2q_gap",
        "softmax_q_vs_2q_gap",
    ),
    _exact(
        "mala_closed_form",
        "MALA weights equal c_j/C + (m/N)(c_j − C/N) in the query magnitude m and sum to 1",
        "derived (official MALA code form)",
        "mala_closed_form",
        "mala_sum_to_one",
    ),
    _exact(
        "homogeneous_gradient_scaling",
        "For a degree-1 homogeneous kernel, ‖∂p/∂q‖ scales exactly as 1/c when q is scaled by c",
        "derived",
        "homogeneous_gradient_scaling",
    ),
    _exact(
        "taylor2_kernel", "The Taylor-2 feature map gives φ(q)ᵀφ(k) = 1 + q·k + (q·k)²/2", "derived", "taylor2_kernel"
    ),
    _exact(
        "normalized_linear_attention_recurrence",
        "Normalised linear attention with η_i = Σ_{j≤i} 1ᵀψ(k_j) equals "
        "the gated recurrence h_i = (η_{i−1}/η_i)h_{i−1} + ψ(k_i)v_iᵀ/η_i",
        "derived (DSF view, Sieber et al. 2024)",
        "normalized_recurrence",
    ),
    _exact(
        "gated_recurrence_masked_attention",
        "A scalar-gated recurrence equals decay-masked (1-semiseparable) linear attention",
        "derived",
        "gated_recurrence",
    ),
)
