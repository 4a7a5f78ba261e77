"""The run of the identities experiment: every identity of `attnbench.theory.identities` at each seed.

Each group of identities is a `Section` (its own nested params, `attnbench.sweeps.experiments.identities.params`)
run over its own seeds; `run` computes the sections ``params.sections`` selects. Each row is one evaluation at one
seed and size: ``section`` names the study, ``metric`` the quantity, ``value``
what was measured (a relative fp64 error for identities), ``predicted`` 0 for an identity or the bound for an
inequality. ``size`` is the sequence length / key count, ``variant`` the setting (block size, decay, β range,
dtype, ...).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import pandas as pd
import torch

from attnbench.sweeps.experiments.base import RunContext, Section, run_sections
from attnbench.sweeps.experiments.identities.params import (
    ChunkParams,
    GradientParams,
    HedgehogParams,
    IdentitiesParams,
    MonoidParams,
    PathologyParams,
    RegressionParams,
    SigmoidParams,
    SSMParams,
)
from attnbench.theory import identities as theory

# Logits of the sigmoid duplication study are drawn from U(−r, r) with this r.
SIGMOID_LOGIT_RANGE = 2.0


def _row(metric: str, value: float, seed: int, predicted: float = 0.0, size: int = 0, variant: str = "") -> dict:
    return {"metric": metric, "value": value, "predicted": predicted, "step": 0, "seed": seed,
            "size": size, "variant": variant}


def _regression_rows(p: RegressionParams, seed: int) -> list[dict]:
    n = p.length
    recall = theory.linear_attention_recall_errors(seed)
    qk = theory.qk_norm_gaussian_smoother(seed)
    return [
        _row("softmax_nw_gradient", theory.softmax_nadaraya_watson_gradient(seed, n=n), seed, size=n),
        _row("linear_recall_orthonormal", recall["orthonormal"], seed, size=8),
        _row("linear_recall_correlated", recall["correlated"], seed, math.nan, size=8),
        _row("least_squares_recall_correlated", recall["least_squares"], seed, size=8),
        _row("titans_delta_rule", theory.titans_linear_memory_is_delta_rule(seed, n=n), seed, size=n),
        _row("rls_ridge", theory.recursive_least_squares_is_ridge(seed, n=n), seed, size=n),
        _row("qk_norm_gaussian_equal_norms", qk["equal_norms"], seed, size=32),
        _row("qk_norm_gaussian_unequal_norms", qk["unequal_norms"], seed, math.nan, size=32),
    ]


def _monoid_rows(p: MonoidParams, seed: int) -> list[dict]:
    rows = [
        _row("monoid_associativity", theory.monoid_associativity_error(seed), seed),
        _row("monoid_identity", theory.monoid_identity_error(seed), seed),
        _row("lse_merge", theory.lse_merge_error(seed), seed, size=100),
    ]
    for n in p.lengths:
        for scale in p.logit_scales:
            fp64 = theory.aaren_scan_error(seed, n=n, logit_scale=scale)
            fp32 = theory.aaren_scan_error(seed, n=n, logit_scale=scale, dtype=torch.float32)
            rows.append(_row("aaren_scan", fp64, seed, size=n, variant=f"fp64,scale={scale:g}"))
            rows.append(_row("aaren_scan_fp32", fp32, seed, size=n, variant=f"fp32,scale={scale:g}"))
    return rows


def _chunk_rows(p: ChunkParams, seed: int) -> list[dict]:
    rows = []
    for block in p.block_sizes:
        for decay in p.decays:
            errors = theory.lightning_tiling_errors(seed, n=p.tiling_length, block_size=block, decays=(decay, decay))
            variant = f"B={block},decay={decay:g}"
            rows += [_row(f"lightning_{kind}", errors[kind], seed, size=p.tiling_length, variant=variant)
                     for kind in ("forward", "gradient")]
    for chunk in p.chunk_sizes:
        for beta_max in (1.0, 2.0):
            errors = theory.deltanet_chunk_errors(seed, n=p.chunk_length, chunk_size=chunk, beta_max=beta_max)
            variant = f"C={chunk},beta_max={beta_max:g}"
            rows += [_row(f"deltanet_{kind}", errors[kind], seed, size=p.chunk_length, variant=variant)
                     for kind in ("forward", "gradient")]
    return rows


def _sigmoid_rows(p: SigmoidParams, seed: int) -> list[dict]:
    rows = [_row("sigmoid_tiling", theory.sigmoid_tiling_error(seed, causal=causal), seed, size=200,
                 variant=str(causal)) for causal in (True, False)]
    r = SIGMOID_LOGIT_RANGE
    for n in p.lengths:
        rows.append(_row("sigmoid_row_sum", theory.sigmoid_row_sum_error(n), seed, size=n))
        duplication = theory.sigmoid_duplication(seed, n, logit_range=r)
        rows.append(_row("sigmoid_duplication", duplication["deviation"], seed, duplication["bound"], size=n))
        limit = math.sinh(2 * r) / (2 * r) / (2 * n)  # E[e^{2s}]/(2n) for s ~ U(−r, r)
        rows.append(_row("sigmoid_duplication_row_sum", duplication["row_sum_change"], seed, limit, size=n))
    return rows


def _pathology_rows(p: PathologyParams, seed: int) -> list[dict]:
    gaps = theory.query_scaling_weight_gaps(seed)
    rows = [
        _row("relu_q_vs_2q_gap", gaps["relu"], seed, size=10),
        _row("softmax_q_vs_2q_gap", gaps["softmax"], seed, math.nan, size=10),
    ]
    for magnitude in p.mala_magnitudes:
        errors = theory.mala_weight_errors(seed, magnitude)
        rows += [_row(f"mala_{kind}", errors[kind], seed, size=10, variant=f"m={magnitude:g}")
                 for kind in ("closed_form", "sum_to_one")]
    return rows


def _gradient_rows(p: GradientParams, seed: int) -> list[dict]:
    rows = [
        _row("homogeneous_gradient_scaling", theory.homogeneous_gradient_scaling_error(seed), seed, size=20),
        _row("softmax_jacobian_max", theory.softmax_jacobian_max_entry(seed), seed, 0.25, size=4),
    ]
    rows += [_row("tight_case_relative_error", theory.normalized_kernel_tight_case_error(epsilon), seed, size=2,
                  variant=f"eps={epsilon:g}") for epsilon in p.tight_epsilons]
    return rows


def _hedgehog_rows(p: HedgehogParams, seed: int) -> list[dict]:
    stats = theory.attention_weight_statistics(seed)
    rows = [_row("taylor2_kernel", theory.taylor2_kernel_error(seed), seed)]
    rows.append(_row("softmax_monotonicity", stats["softmax_monotonicity"], seed, 1.0, 64))
    rows.append(_row("elu1_monotonicity", stats["elu1_monotonicity"], seed, math.nan, 64))
    rows += [_row(f"{kind}_entropy", stats[f"{kind}_entropy"], seed, math.nan, 64)
             for kind in ("softmax", "elu1", "uniform")]
    return rows


def _ssm_rows(p: SSMParams, seed: int) -> list[dict]:
    return [
        _row("normalized_recurrence", theory.normalized_recurrence_error(seed), seed, size=100),
        _row("gated_recurrence", theory.gated_recurrence_error(seed), seed, size=100),
    ]


def _over_seeds(name: str, rows_of: Callable[[Any, int], list[dict]]) -> Callable[[Any, RunContext], pd.DataFrame]:
    """The run of section ``name``: ``rows_of(params, seed)`` at seeds ctx.seed, ..., ctx.seed + params.seeds - 1."""

    def run_section(params: Any, ctx: RunContext) -> pd.DataFrame:
        rows: list[dict] = []
        for seed in range(ctx.seed, ctx.seed + params.seeds):
            rows.extend(rows_of(params, seed))
            ctx.log(f"identities.{name}: seed {seed} done")
        return pd.DataFrame(rows)

    return run_section


_STUDIES: tuple[tuple[str, Callable[[Any, int], list[dict]], str], ...] = (
    ("regression", _regression_rows, "attention as regression: Nadaraya–Watson, recall, Titans, RLS, QK-norm"),
    ("monoid", _monoid_rows, "the softmax monoid, the log-sum-exp merge and the Aaren prefix scan"),
    ("chunk", _chunk_rows, "Lightning Attention-2 tiling and chunked DeltaNet vs their recurrences"),
    ("sigmoid", _sigmoid_rows, "sigmoid attention: tiling, row sums, the duplication bound and its 1/n rate"),
    ("pathology", _pathology_rows, "linear-attention pathologies: ReLU non-injectivity, the MALA closed form"),
    ("gradient", _gradient_rows, "homogeneous gradient scaling, the softmax Jacobian bound, the tight case"),
    ("hedgehog", _hedgehog_rows, "the Taylor-2 kernel and the Hedgehog properties of softmax vs 1+elu"),
    ("ssm", _ssm_rows, "normalised linear attention and gated recurrences as recurrences"),
)
SECTIONS = tuple(Section(name, _over_seeds(name, rows_of), description) for name, rows_of, description in _STUDIES)


def run(params: IdentitiesParams, ctx: RunContext) -> pd.DataFrame:
    """Evaluate the identities of every section ``params.sections`` selects, each at its own seeds."""
    return run_sections(SECTIONS, params, ctx)
