"""Exact identities and bounds between attention variants (issue 8; notes extra_theory.md §1-7, §11, §13).

Each row is one evaluation of a function of `attnbench.theory.identities` at one seed and size: ``metric``
names
the quantity, ``value`` is what was measured (a relative fp64 error for identities), ``predicted`` is 0 for an
identity or the bound for an inequality. ``size`` is the sequence length / key count, ``variant`` the setting
(block size, decay, β range, dtype, ...). Identities pass when every measured error is ≤ `FP64_TOLERANCE`:
fp64 round-off of these O(n·d) sums is 1e-16 to 1e-13, so 1e-10 leaves three orders of margin while any
algebraic mistake gives O(1e-2) or more.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from pathlib import Path

import matplotlib
import pandas as pd
import torch

from attnbench.sweeps.experiments.base import Claim, Experiment, RunContext, Verdict, at_most, require
from attnbench.sweeps.plotting import save
from attnbench.theory import identities as theory

matplotlib.use("Agg")
from matplotlib import pyplot as plt  # noqa: E402

FP64_TOLERANCE = 1e-10
# float32 scan vs fp64 reference: relative rounding of an n-term fp32 sum is ~n·2^-24 ≈ 1.5e-5 at n = 257
# in the worst case; the notes' suggested fp32 tolerance is rtol 1e-4.
FP32_TOLERANCE = 1e-4
# The mean row-sum change of duplicated sigmoid attention is E[e^{2s}]/(2n)·(1 + O(1/n)): its log-log slope is
# −1 up to ≈ −1.5·E[e^{3s}]/(E[e^{2s}]·n) ≈ −0.015 at n = 512 (r = 2); ±0.05 covers that and Monte-Carlo
# noise.
SLOPE_TOLERANCE = 0.05
# A "gap" claim (a variant that must NOT satisfy an identity) passes when the gap is at least this large: far
# above fp64 round-off, so the measured difference cannot be numerical noise.
GAP_THRESHOLD = 1e-3


@dataclass
class IdentitiesParams:
    """Quick-profile sizes; every identity runs in well under a second per seed on one CPU core."""

    seeds: int = 3
    regression_length: int = 40
    scan_lengths: list[int] = field(default_factory=lambda: [1, 64, 257])
    scan_logit_scales: list[float] = field(default_factory=lambda: [1.0, 50.0])
    tiling_length: int = 300
    block_sizes: list[int] = field(default_factory=lambda: [1, 7, 64])
    decays: list[float] = field(default_factory=lambda: [1.0, 0.97])
    chunk_length: int = 64
    chunk_sizes: list[int] = field(default_factory=lambda: [1, 16, 50])
    sigmoid_lengths: list[int] = field(default_factory=lambda: [16, 128, 512, 1024, 2048, 4096])
    slope_min_length: int = 512
    mala_magnitudes: list[float] = field(default_factory=lambda: [0.5, 1.0, 4.0])
    tight_epsilons: list[float] = field(default_factory=lambda: [1e-2, 1e-4, 1e-6])

    def __post_init__(self) -> None:
        require(self.seeds >= 1, "seeds", "must be a positive integer")
        for key in ("regression_length", "tiling_length", "chunk_length"):
            require(getattr(self, key) >= 2, key, "must be an integer >= 2")
        for key in ("scan_lengths", "block_sizes", "chunk_sizes", "sigmoid_lengths"):
            values = getattr(self, key)
            require(
                len(values) >= 1 and all(v >= 1 for v in values), key, "must be a non-empty list of ints >= 1"
            )
        require(all(s > 0 for s in self.scan_logit_scales), "scan_logit_scales", "must be positive floats")
        require(all(0 < d <= 1 for d in self.decays), "decays", "must be floats in (0, 1]")
        require(all(m > 0 for m in self.mala_magnitudes), "mala_magnitudes", "must be positive floats")
        require(all(e > 0 for e in self.tight_epsilons), "tight_epsilons", "must be positive floats")
        require(
            sum(n >= self.slope_min_length for n in self.sigmoid_lengths) >= 2,
            "slope_min_length",
            "at least two sigmoid_lengths must be >= slope_min_length (the 1/n slope is fitted on them)",
        )


def _row(
    metric: str, value: float, seed: int, predicted: float = 0.0, size: int = 0, variant: str = ""
) -> dict:
    return {
        "metric": metric,
        "value": value,
        "predicted": predicted,
        "step": 0,
        "seed": seed,
        "size": size,
        "variant": variant,
    }


def _regression_rows(p: IdentitiesParams, seed: int) -> list[dict]:
    n = p.regression_length
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


def _monoid_rows(p: IdentitiesParams, seed: int) -> list[dict]:
    rows = [
        _row("monoid_associativity", theory.monoid_associativity_error(seed), seed),
        _row("monoid_identity", theory.monoid_identity_error(seed), seed),
        _row("lse_merge", theory.lse_merge_error(seed), seed, size=100),
    ]
    for n in p.scan_lengths:
        for scale in p.scan_logit_scales:
            fp64 = theory.aaren_scan_error(seed, n=n, logit_scale=scale)
            fp32 = theory.aaren_scan_error(seed, n=n, logit_scale=scale, dtype=torch.float32)
            rows.append(_row("aaren_scan", fp64, seed, size=n, variant=f"fp64,scale={scale:g}"))
            rows.append(_row("aaren_scan_fp32", fp32, seed, size=n, variant=f"fp32,scale={scale:g}"))
    return rows


def _chunk_rows(p: IdentitiesParams, seed: int) -> list[dict]:
    rows = []
    for block in p.block_sizes:
        for decay in p.decays:
            errors = theory.lightning_tiling_errors(
                seed, n=p.tiling_length, block_size=block, decays=(decay, decay)
            )
            variant = f"B={block},decay={decay:g}"
            rows.append(
                _row("lightning_forward", errors["forward"], seed, size=p.tiling_length, variant=variant)
            )
            rows.append(
                _row("lightning_gradient", errors["gradient"], seed, size=p.tiling_length, variant=variant)
            )
    for chunk in p.chunk_sizes:
        for beta_max in (1.0, 2.0):
            errors = theory.deltanet_chunk_errors(seed, n=p.chunk_length, chunk_size=chunk, beta_max=beta_max)
            variant = f"C={chunk},beta_max={beta_max:g}"
            rows.append(
                _row("deltanet_forward", errors["forward"], seed, size=p.chunk_length, variant=variant)
            )
            rows.append(
                _row("deltanet_gradient", errors["gradient"], seed, size=p.chunk_length, variant=variant)
            )
    return rows


def _sigmoid_rows(p: IdentitiesParams, seed: int) -> list[dict]:
    rows = [
        _row(
            "sigmoid_tiling",
            theory.sigmoid_tiling_error(seed, causal=causal),
            seed,
            size=200,
            variant=str(causal),
        )
        for causal in (True, False)
    ]
    for n in p.sigmoid_lengths:
        rows.append(_row("sigmoid_row_sum", theory.sigmoid_row_sum_error(n), seed, size=n))
        duplication = theory.sigmoid_duplication(seed, n)
        rows.append(_row("sigmoid_duplication", duplication["deviation"], seed, duplication["bound"], size=n))
        limit = math.sinh(4.0) / 8.0 / n  # E[e^{2s}]/(2n) for s ~ U(−2, 2)
        rows.append(_row("sigmoid_duplication_row_sum", duplication["row_sum_change"], seed, limit, size=n))
    return rows


def _pathology_rows(p: IdentitiesParams, seed: int) -> list[dict]:
    gaps = theory.query_scaling_weight_gaps(seed)
    rows = [
        _row("relu_q_vs_2q_gap", gaps["relu"], seed, size=10),
        _row("softmax_q_vs_2q_gap", gaps["softmax"], seed, math.nan, size=10),
    ]
    for magnitude in p.mala_magnitudes:
        errors = theory.mala_weight_errors(seed, magnitude)
        rows.append(
            _row("mala_closed_form", errors["closed_form"], seed, size=10, variant=f"m={magnitude:g}")
        )
        rows.append(_row("mala_sum_to_one", errors["sum_to_one"], seed, size=10, variant=f"m={magnitude:g}"))
    return rows


def _gradient_rows(p: IdentitiesParams, seed: int) -> list[dict]:
    rows = [
        _row("homogeneous_gradient_scaling", theory.homogeneous_gradient_scaling_error(seed), seed, size=20),
        _row("softmax_jacobian_max", theory.softmax_jacobian_max_entry(seed), seed, 0.25, size=4),
    ]
    for epsilon in p.tight_epsilons:
        error = theory.normalized_kernel_tight_case_error(epsilon)
        rows.append(_row("tight_case_relative_error", error, seed, size=2, variant=f"eps={epsilon:g}"))
    return rows


def _hedgehog_rows(p: IdentitiesParams, seed: int) -> list[dict]:
    stats = theory.attention_weight_statistics(seed)
    rows = [_row("taylor2_kernel", theory.taylor2_kernel_error(seed), seed)]
    rows.append(_row("softmax_monotonicity", stats["softmax_monotonicity"], seed, 1.0, 64))
    rows.append(_row("elu1_monotonicity", stats["elu1_monotonicity"], seed, math.nan, 64))
    for name in ("softmax", "elu1"):
        rows.append(_row(f"{name}_entropy", stats[f"{name}_entropy"], seed, math.nan, 64))
    rows.append(_row("uniform_entropy", stats["uniform_entropy"], seed, math.nan, 64))
    return rows


def _ssm_rows(p: IdentitiesParams, seed: int) -> list[dict]:
    return [
        _row("normalized_recurrence", theory.normalized_recurrence_error(seed), seed, size=100),
        _row("gated_recurrence", theory.gated_recurrence_error(seed), seed, size=100),
    ]


SECTIONS: tuple[Callable[[IdentitiesParams, int], list[dict]], ...] = (
    _regression_rows,
    _monoid_rows,
    _chunk_rows,
    _sigmoid_rows,
    _pathology_rows,
    _gradient_rows,
    _hedgehog_rows,
    _ssm_rows,
)


def run(params: IdentitiesParams, ctx: RunContext) -> pd.DataFrame:
    """Evaluate every identity at ``params.seeds`` seeds (ctx.seed, ctx.seed + 1, ...)."""
    rows: list[dict] = []
    for offset in range(params.seeds):
        seed = ctx.seed + offset
        for section in SECTIONS:
            rows.extend(section(params, seed))
        ctx.log(f"identities: seed {seed} done")
    return pd.DataFrame(rows)


# Claims ---------------------------------------------------------------------------------------------------


def _values(table: pd.DataFrame, metric: str) -> pd.Series:
    return table.loc[table["metric"] == metric, "value"].astype(float)


def _missing(metrics: Iterable[str]) -> Verdict:
    return Verdict("not run", "", "", note=f"no rows for {', '.join(metrics)}")


def errors_at_most(
    *metrics: str, tolerance: float = FP64_TOLERANCE, predicted: str = "0 (exact identity)"
) -> Callable[[pd.DataFrame], Verdict]:
    """Check: the largest value of every metric is ≤ tolerance (predicted 0)."""

    def check(table: pd.DataFrame) -> Verdict:
        worst = {m: _values(table, m).max() for m in metrics}
        if any(not (v == v) for v in worst.values()):
            return _missing(metrics)
        passed = all(v <= tolerance for v in worst.values())
        measured = ", ".join(f"{m}: max {v:.2e}" for m, v in worst.items())
        return Verdict("pass" if passed else "fail", predicted, measured, f"≤ {tolerance:g} relative")

    return check


def identity_with_gap(identity: str, gap: str) -> Callable[[pd.DataFrame], Verdict]:
    """Check: ``identity`` holds to fp64 precision while ``gap`` (the contrasting case) ≥ `GAP_THRESHOLD`."""

    def check(table: pd.DataFrame) -> Verdict:
        exact, contrast = _values(table, identity), _values(table, gap)
        if exact.empty or contrast.empty:
            return _missing((identity, gap))
        passed = exact.max() <= FP64_TOLERANCE and contrast.min() >= GAP_THRESHOLD
        return Verdict(
            "pass" if passed else "fail",
            f"{identity} = 0; {gap} > 0",
            f"{identity}: max {exact.max():.2e}; {gap}: min {contrast.min():.3g}",
            f"≤ {FP64_TOLERANCE:g}; ≥ {GAP_THRESHOLD:g}",
        )

    return check


def _sigmoid_bound(table: pd.DataFrame) -> Verdict:
    rows = table[table["metric"] == "sigmoid_duplication"]
    if rows.empty:
        return _missing(["sigmoid_duplication"])
    ratio = (rows["value"] / rows["predicted"]).max()
    return Verdict(
        "pass" if ratio <= 1.0 else "fail",
        "|Δo| ≤ e^{s_max}/(2n)·Σ_j σ_ij|v_j|",
        f"max measured/bound = {ratio:.3f} over n = {sorted(rows['size'].unique().tolist())}",
        "ratio ≤ 1",
    )


def _sigmoid_one_over_n(min_length: int) -> Callable[[pd.DataFrame], Verdict]:
    def check(table: pd.DataFrame) -> Verdict:
        rows = table[(table["metric"] == "sigmoid_duplication_row_sum") & (table["size"] >= min_length)]
        if rows["size"].nunique() < 2:
            return _missing(["sigmoid_duplication_row_sum"])
        means = rows.groupby("size")["value"].mean()
        slope = theory.log_log_slope(means.index.tolist(), means.tolist())
        return Verdict(
            "pass" if abs(slope + 1) <= SLOPE_TOLERANCE else "fail",
            "slope −1 (change → E[e^{2s}]/(2n))",
            f"slope {slope:.3f} over n ≥ {min_length}",
            f"±{SLOPE_TOLERANCE}",
        )

    return check


def _softmax_jacobian(table: pd.DataFrame) -> Verdict:
    values = _values(table, "softmax_jacobian_max")
    if values.empty:
        return _missing(["softmax_jacobian_max"])
    verdict = at_most(values, 0.25, label="derived bound 1/4 on softmax Jacobian entries", digits=6)
    return replace(verdict, tolerance="none: the bound is exact")


def _monotonicity(table: pd.DataFrame) -> Verdict:
    softmax, elu = _values(table, "softmax_monotonicity"), _values(table, "elu1_monotonicity")
    if softmax.empty or elu.empty:
        return _missing(["softmax_monotonicity", "elu1_monotonicity"])
    passed = softmax.min() == 1.0 and elu.max() < 1.0
    return Verdict(
        "pass" if passed else "fail",
        "softmax 1 (exactly); 1+elu < 1",
        f"softmax min {softmax.min():.4f}; 1+elu {elu.mean():.3f} (range {elu.min():.3f}-{elu.max():.3f})",
        "exact; strict",
    )


def _entropy(table: pd.DataFrame) -> Verdict:
    softmax, elu, uniform = (_values(table, f"{name}_entropy") for name in ("softmax", "elu1", "uniform"))
    if softmax.empty or elu.empty:
        return _missing(["softmax_entropy", "elu1_entropy"])
    passed = bool((elu.to_numpy() > softmax.to_numpy()).all())
    return Verdict(
        "pass" if passed else "fail",
        "H(1+elu) > H(softmax) for every seed",
        f"H softmax {softmax.mean():.2f}, 1+elu {elu.mean():.2f}, uniform {uniform.mean():.2f} nats",
        "per seed",
    )


WANG = "Wang, Shi & Fox 2025 (abstract); identity derived"
CLAIMS = (
    Claim(
        "identities.softmax_nadaraya_watson",
        "Softmax attention is the Nadaraya–Watson (exp-kernel) weighted "
        "mean: the gradient of Σ e^{q·k_i}‖v_i − c‖² vanishes at c = output",
        WANG,
        errors_at_most("softmax_nw_gradient"),
        "errors.png",
    ),
    Claim(
        "identities.linear_attention_ignores_key_covariance",
        "Linear-attention memory Σ v kᵀ recalls exactly "
        "with orthonormal keys, not with correlated keys, where least squares (K⁺) still recalls exactly",
        WANG,
        identity_with_gap("linear_recall_orthonormal", "linear_recall_correlated"),
        "errors.png",
    ),
    Claim(
        "identities.least_squares_exact_recall",
        "The least-squares memory VᵀK⁺ recalls exactly with correlated keys (n ≤ d)",
        "derived",
        errors_at_most("least_squares_recall_correlated"),
        "errors.png",
    ),
    Claim(
        "identities.titans_linear_is_delta_rule",
        "Titans' linear memory with one SGD step per token (no momentum,"
        " no decay) is the delta rule with β = 2θ (online LMS)",
        "derived",
        errors_at_most("titans_delta_rule"),
        "errors.png",
    ),
    Claim(
        "identities.rls_is_ridge",
        "Recursive least squares (Sherman–Morrison) equals batch ridge at every prefix",
        "derived",
        errors_at_most("rls_ridge"),
        "errors.png",
    ),
    Claim(
        "identities.qk_norm_gaussian_smoother",
        "With equal key norms softmax(q·k/h) is the normalised Gaussian "
        "kernel exp(−‖q−k‖²/2h); with unequal norms it is not",
        WANG,
        identity_with_gap("qk_norm_gaussian_equal_norms", "qk_norm_gaussian_unequal_norms"),
        "errors.png",
    ),
    Claim(
        "identities.softmax_monoid",
        "The partial-result operator ⊕ is associative with identity (−∞, 0, 0), and "
        "the log-sum-exp merge of key blocks equals full attention",
        "derived (operator of Feng et al. 2024)",
        errors_at_most("monoid_associativity", "monoid_identity", "lse_merge"),
        "errors.png",
    ),
    Claim(
        "identities.aaren_scan",
        "The prefix scan with ⊕ equals causal softmax attention (n = 1, 64, 257; logit "
        "scale 1 and 50) in fp64",
        "derived (Feng et al. 2024)",
        errors_at_most("aaren_scan"),
        "errors.png",
    ),
    Claim(
        "identities.aaren_scan_fp32_no_overflow",
        "The scan stays finite and accurate in fp32 at logit scale 50 "
        "(no overflow thanks to the running max)",
        "derived",
        errors_at_most("aaren_scan_fp32", tolerance=FP32_TOLERANCE, predicted="finite; fp32 rounding only"),
        "errors.png",
    ),
    Claim(
        "identities.lightning_tiling",
        "Lightning Attention-2 intra/inter-block tiling with decay equals "
        "[(QKᵀ)⊙M]V, forward and gradients, incl. a partial last block",
        "Qin et al. 2024 (Lightning Attention-2, official kernel); identity derived",
        errors_at_most("lightning_forward", "lightning_gradient"),
        "errors.png",
    ),
    Claim(
        "identities.deltanet_chunked",
        "DeltaNet's chunked WY/UT form equals the delta-rule recurrence, forward "
        "and gradients, for β ∈ [0,1] and β ∈ [0,2]",
        "derived (WY form of Yang et al. 2024)",
        errors_at_most("deltanet_forward", "deltanet_gradient"),
        "errors.png",
    ),
    Claim(
        "identities.sigmoid_row_sum",
        "With b = −log n and zero logits each sigmoid-attention row sums to n/(n+1)",
        "derived",
        errors_at_most("sigmoid_row_sum"),
        "errors.png",
    ),
    Claim(
        "identities.sigmoid_tiling",
        "Tiled sigmoid attention (no running max) equals the untiled product",
        "derived",
        errors_at_most("sigmoid_tiling"),
        "errors.png",
    ),
    Claim(
        "identities.sigmoid_duplication_bound",
        "Duplicating the sequence changes sigmoid attention (b = −log n) by at most e^{s}/(2n) per weight",
        "derived",
        _sigmoid_bound,
        "sigmoid_duplication.png",
    ),
    Claim(
        "identities.sigmoid_duplication_one_over_n",
        "The duplication change shrinks like 1/n",
        "derived",
        _sigmoid_one_over_n(IdentitiesParams.slope_min_length),
        "sigmoid_duplication.png",
    ),
    Claim(
        "identities.relu_linear_not_injective",
        "ReLU-kernel linear attention gives identical weights for q and 2q; softmax does not",
        "derived",
        identity_with_gap("relu_q_vs_2q_gap", "softmax_q_vs_2q_gap"),
        "errors.png",
    ),
    Claim(
        "identities.mala_closed_form",
        "MALA weights equal c_j/C + (m/N)(c_j − C/N) in the query magnitude m and sum to 1",
        "derived (official MALA code form)",
        errors_at_most("mala_closed_form", "mala_sum_to_one"),
        "errors.png",
    ),
    Claim(
        "identities.homogeneous_gradient_scaling",
        "For a degree-1 homogeneous kernel, ‖∂p/∂q‖ scales exactly as 1/c when q is scaled by c",
        "derived",
        errors_at_most("homogeneous_gradient_scaling"),
        "errors.png",
    ),
    Claim(
        "identities.softmax_jacobian_bounded",
        "Softmax Jacobian entries are at most 1/4",
        "derived",
        _softmax_jacobian,
    ),
    Claim(
        "identities.normalized_kernel_tight_case",
        "For p = s/Σs at s = (ε, ε), ∂p_1/∂s_1 = 1/(4ε) (unbounded as ε → 0)",
        "derived",
        errors_at_most("tight_case_relative_error"),
        "errors.png",
    ),
    Claim(
        "identities.taylor2_kernel",
        "The Taylor-2 feature map gives φ(q)ᵀφ(k) = 1 + q·k + (q·k)²/2",
        "derived",
        errors_at_most("taylor2_kernel"),
        "errors.png",
    ),
    Claim(
        "identities.hedgehog_monotonicity",
        "Softmax weights are monotone in q·k (fraction 1); 1+elu weights are not",
        "derived (property named by Zhang et al. 2024)",
        _monotonicity,
    ),
    Claim(
        "identities.hedgehog_entropy",
        "Softmax weights have lower entropy than 1+elu weights",
        "derived (property named by Zhang et al. 2024)",
        _entropy,
    ),
    Claim(
        "identities.normalized_linear_attention_recurrence",
        "Normalised linear attention with η_i = Σ_{j≤i}"
        " 1ᵀψ(k_j) equals the gated recurrence h_i = (η_{i−1}/η_i)h_{i−1} + ψ(k_i)v_iᵀ/η_i",
        "derived (DSF view, Sieber et al. 2024)",
        errors_at_most("normalized_recurrence"),
        "errors.png",
    ),
    Claim(
        "identities.gated_recurrence_masked_attention",
        "A scalar-gated recurrence equals decay-masked (1-semiseparable) linear attention",
        "derived",
        errors_at_most("gated_recurrence"),
        "errors.png",
    ),
)


# Figures --------------------------------------------------------------------------------------------------


def draw(table: pd.DataFrame, out_dir: Path) -> list[Path]:
    """errors.png: max relative error per identity vs the fp64 tolerance; sigmoid_duplication.png: the
    duplication change vs n beside its bound and the E[e^{2s}]/(2n) limit."""
    paths = []
    exact = table[(table["predicted"] == 0.0) & (table["metric"] != "aaren_scan_fp32")]  # fp32: own tolerance
    worst = exact.groupby("metric")["value"].max().sort_values()
    fig, ax = plt.subplots(figsize=(7, 0.28 * len(worst) + 1.5))
    ax.barh(worst.index, worst.clip(lower=1e-18).to_numpy(), color="tab:blue")
    ax.axvline(FP64_TOLERANCE, color="tab:red", linestyle="--", label=f"tolerance {FP64_TOLERANCE:g}")
    ax.set_xscale("log")
    ax.set_xlabel("max relative error (fp64; 0 plotted at 1e-18)")
    ax.set_title("Exact identities: measured error (predicted 0)")
    ax.legend(loc="lower right")
    paths.append(save(fig, out_dir, "errors.png"))

    fig, ax = plt.subplots(figsize=(5.5, 4))
    for metric, label, style in (
        ("sigmoid_duplication", "max |Δo| (random V)", "o-"),
        ("sigmoid_duplication_row_sum", "mean row-sum change (V = 1)", "s-"),
    ):
        rows = table[table["metric"] == metric].groupby("size")[["value", "predicted"]].mean()
        if rows.empty:
            continue
        ax.loglog(rows.index, rows["value"], style, label=label)
        theory_label = "bound e^{2}/(2n)·Σσ|v|" if metric == "sigmoid_duplication" else "E[e^{2s}]/(2n)"
        ax.loglog(rows.index, rows["predicted"], "--", label=theory_label)
    ax.set_xlabel("sequence length n")
    ax.set_ylabel("change after duplicating the sequence")
    ax.set_title("Sigmoid attention, b = −log n")
    ax.legend(fontsize=8)
    paths.append(save(fig, out_dir, "sigmoid_duplication.png"))
    return paths


EXPERIMENT = Experiment(
    name="identities",
    description="Exact identities and bounds tying the mixer zoo together (regression view, softmax monoid, "
    "chunked recurrences, sigmoid attention, linear-attention pathologies, gradient scaling, Hedgehog, SSMs)",
    params=IdentitiesParams,
    run=run,
    claims=CLAIMS,
    draw=draw,
    paper={"seeds": 10, "sigmoid_lengths": [16, 64, 256, 1024, 4096, 8192]},
)
