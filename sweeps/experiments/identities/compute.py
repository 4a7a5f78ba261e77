"""The run of the identities experiment: every identity of `measures` and `form_measures` at each seed.

Each group of identities is a `Section` (its own nested params, `attnbench.sweeps.experiments.identities.params`)
run over its own seeds; `run` computes the sections ``params.sections`` selects. Each row is one evaluation at one
seed and size: ``section`` names the study, ``metric`` the quantity, ``value``
what was measured (a relative fp64 error for identities), ``predicted`` 0 for an identity or the bound for an
inequality (NaN for a contrasting case or a property without a value). ``size`` is the sequence length / key
count, ``variant`` the setting (block size, decay, β range, dtype, ...); both are 0 and "" where they do not apply.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import pandas as pd

from attnbench.sweeps.experiments.base import RunContext, Section, run_sections
from attnbench.sweeps.experiments.identities import form_measures, measures
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
from attnbench.sweeps.rows import Row, row

# Logits of the sigmoid duplication study are drawn from U(−r, r) with this r.
SIGMOID_LOGIT_RANGE = 2.0


def _regression_rows(p: RegressionParams, seed: int) -> list[Row]:
    n = p.length
    return [
        row(
            "titans_delta_rule",
            measures.titans_linear_memory_is_delta_rule(seed, n=n),
            predicted=0.0,
            seed=seed,
            size=n,
            variant="",
        ),
        row(
            "rls_ridge",
            measures.recursive_least_squares_is_ridge(seed, n=n),
            predicted=0.0,
            seed=seed,
            size=n,
            variant="",
        ),
    ]


def _monoid_rows(p: MonoidParams, seed: int) -> list[Row]:
    rows = [
        row(
            "monoid_associativity",
            measures.monoid_associativity_error(seed),
            predicted=0.0,
            seed=seed,
            size=0,
            variant="",
        ),
        row("monoid_identity", measures.monoid_identity_error(seed), predicted=0.0, seed=seed, size=0, variant=""),
        row("lse_merge", measures.lse_merge_error(seed), predicted=0.0, seed=seed, size=100, variant=""),
    ]
    for n in p.lengths:
        for scale in p.logit_scales:
            fp64 = form_measures.aaren_scan_error(seed, n=n, logit_scale=scale)
            fp32 = form_measures.aaren_scan_fp32_error(seed, n=n, logit_scale=scale)
            rows.append(row("aaren_scan", fp64, predicted=0.0, seed=seed, size=n, variant=f"fp64,scale={scale:g}"))
            rows.append(row("aaren_scan_fp32", fp32, predicted=0.0, seed=seed, size=n, variant=f"fp32,scale={scale:g}"))
    return rows


def _chunk_rows(p: ChunkParams, seed: int) -> list[Row]:
    rows = []
    for block in p.block_sizes:
        for decay in p.decays:
            errors = form_measures.lightning_tiling_errors(seed, n=p.tiling_length, block_size=block, decay=decay)
            variant = f"B={block},decay={decay:g}"
            rows += [
                row(f"lightning_{kind}", errors[kind], predicted=0.0, seed=seed, size=p.tiling_length, variant=variant)
                for kind in ("forward", "gradient")
            ]
    for chunk in p.chunk_sizes:
        for beta_max in (1.0, 2.0):
            errors = form_measures.deltanet_chunk_errors(seed, n=p.chunk_length, chunk_size=chunk, beta_max=beta_max)
            variant = f"C={chunk},beta_max={beta_max:g}"
            rows += [
                row(f"deltanet_{kind}", errors[kind], predicted=0.0, seed=seed, size=p.chunk_length, variant=variant)
                for kind in ("forward", "gradient")
            ]
    return rows


def _sigmoid_rows(p: SigmoidParams, seed: int) -> list[Row]:
    rows = [
        row(
            "sigmoid_tiling",
            form_measures.sigmoid_tiling_error(seed, causal=causal),
            predicted=0.0,
            seed=seed,
            size=200,
            variant=str(causal),
        )
        for causal in (True, False)
    ]
    r = SIGMOID_LOGIT_RANGE
    for n in p.lengths:
        rows.append(
            row("sigmoid_row_sum", measures.sigmoid_row_sum_error(n), predicted=0.0, seed=seed, size=n, variant="")
        )
        duplication = measures.sigmoid_duplication(seed, n, logit_range=r)
        rows.append(
            row(
                "sigmoid_duplication",
                duplication["deviation"],
                predicted=duplication["bound"],
                seed=seed,
                size=n,
                variant="",
            )
        )
        limit = math.sinh(2 * r) / (2 * r) / (2 * n)  # E[e^{2s}]/(2n) for s ~ U(−r, r)
        rows.append(
            row(
                "sigmoid_duplication_row_sum",
                duplication["row_sum_change"],
                predicted=limit,
                seed=seed,
                size=n,
                variant="",
            )
        )
    return rows


def _pathology_rows(p: PathologyParams, seed: int) -> list[Row]:
    gaps = measures.query_scaling_weight_gaps(seed)
    rows = [
        row("relu_q_vs_2q_gap", gaps["relu"], predicted=0.0, seed=seed, size=10, variant=""),
        row("softmax_q_vs_2q_gap", gaps["softmax"], seed=seed, size=10, variant=""),
    ]
    for magnitude in p.mala_magnitudes:
        errors = measures.mala_weight_errors(seed, magnitude)
        rows += [
            row(f"mala_{kind}", errors[kind], predicted=0.0, seed=seed, size=10, variant=f"m={magnitude:g}")
            for kind in ("closed_form", "sum_to_one")
        ]
    return rows


def _gradient_rows(p: GradientParams, seed: int) -> list[Row]:
    return [
        row(
            "homogeneous_gradient_scaling",
            measures.homogeneous_gradient_scaling_error(seed),
            predicted=0.0,
            seed=seed,
            size=20,
            variant="",
        )
    ]


def _hedgehog_rows(p: HedgehogParams, seed: int) -> list[Row]:
    stats = measures.attention_weight_statistics(seed)
    rows = [row("taylor2_kernel", measures.taylor2_kernel_error(seed), predicted=0.0, seed=seed, size=0, variant="")]
    rows.append(
        row("softmax_monotonicity", stats["softmax_monotonicity"], predicted=1.0, seed=seed, size=64, variant="")
    )
    rows.append(row("elu1_monotonicity", stats["elu1_monotonicity"], seed=seed, size=64, variant=""))
    rows += [
        row(f"{kind}_entropy", stats[f"{kind}_entropy"], seed=seed, size=64, variant="")
        for kind in ("softmax", "elu1", "uniform")
    ]
    return rows


def _ssm_rows(p: SSMParams, seed: int) -> list[Row]:
    return [
        row(
            "normalized_recurrence",
            form_measures.normalized_recurrence_error(seed),
            predicted=0.0,
            seed=seed,
            size=100,
            variant="",
        ),
        row(
            "gated_recurrence",
            form_measures.gated_recurrence_error(seed),
            predicted=0.0,
            seed=seed,
            size=100,
            variant="",
        ),
    ]


def _over_seeds(name: str, rows_of: Callable[[Any, int], list[Row]]) -> Callable[[Any, RunContext], pd.DataFrame]:
    """The run of section ``name``: ``rows_of(params, seed)`` at seeds ctx.seed, ..., ctx.seed + params.seeds - 1."""

    def run_section(params: Any, ctx: RunContext) -> pd.DataFrame:
        rows: list[Row] = []
        for seed in range(ctx.seed, ctx.seed + params.seeds):
            rows.extend(rows_of(params, seed))
            ctx.log(f"identities.{name}: seed {seed} done")
        return pd.DataFrame(rows)

    return run_section


_STUDIES: tuple[tuple[str, Callable[[Any, int], list[Row]], str], ...] = (
    ("regression", _regression_rows, "attention as regression: Titans' linear memory, RLS"),
    ("monoid", _monoid_rows, "the softmax monoid, the log-sum-exp merge and the Aaren prefix scan"),
    ("chunk", _chunk_rows, "Lightning Attention-2 tiling and chunked DeltaNet vs their recurrences"),
    ("sigmoid", _sigmoid_rows, "sigmoid attention: tiling, row sums, the duplication bound and its 1/n rate"),
    ("pathology", _pathology_rows, "linear-attention pathologies: ReLU non-injectivity, the MALA closed form"),
    ("gradient", _gradient_rows, "homogeneous gradient scaling"),
    ("hedgehog", _hedgehog_rows, "the Taylor-2 kernel and the Hedgehog properties of softmax vs 1+elu"),
    ("ssm", _ssm_rows, "normalised linear attention and gated recurrences as recurrences"),
)
SECTIONS = tuple(Section(name, _over_seeds(name, rows_of), description) for name, rows_of, description in _STUDIES)


def run(params: IdentitiesParams, ctx: RunContext) -> pd.DataFrame:
    """Evaluate the identities of every section ``params.sections`` selects, each at its own seeds."""
    return run_sections(SECTIONS, params, ctx)
