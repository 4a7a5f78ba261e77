"""The claims of the ``icl_linear`` experiment (He et al. 2025; Zhang, Frei & Bartlett 2023), scoped on every
training length and every seed of the grid (the checks are in `checks`).

The thresholds with basis ``cut-off`` are the reference notes' robust assertions for a trained He et al.
model (papers/icl_rf_softmaxreg.md, A4.3), not read off these runs, except the LSA's 5%, which an earlier
revision read off the L = 40 runs (issue 12): the ledger flags all of them.
"""

from __future__ import annotations

from attnbench.sweeps.experiments.base import Claim, KnownFailure, Scope, Tolerance
from attnbench.sweeps.experiments.icl_linear import checks as c
from attnbench.sweeps.experiments.icl_linear import dynamics_checks as d
from attnbench.sweeps.experiments.icl_linear.dynamics_claims import DYNAMICS_CLAIMS

HE = "He et al. 2025"
NOTES = "the reference notes' threshold (papers/icl_rf_softmaxreg.md, A4.3), not read off these runs"
TRAINED_AT = (
    "the tiny profile's 300 Adam steps at lr 1e-2 leave its one seed with ± heads (seed 1; seed 0 stalls "
    "one-signed) at γ ≈ 0.36, far from the γ → 0 limit of Thm 1(2): at L = 20 its risk is 0.032 above "
    "R_dGD(η*), Σμω 0.016 off η* and μ₊ 6.5% off μ_γ(γ̂) (measured); the quick profile trains 4000 steps at 1e-3"
)

PER_SEED = Scope(
    cells=("p.train_length", "seed"),
    where={"model": ("softmax",)},
    reason="a statement about one trained softmax model's circuits: the other models' rows carry none",
)
PER_LENGTH = Scope(cells=("p.train_length",))
AT_MANIFOLD = " (on the seeds that reached S̄, one positive and one negative head; count shown)"

OFF_MANIFOLD = KnownFailure(
    c.off_manifold,
    (
        "With PyTorch's default initialisation and 4000 Adam steps (quick profile; the paper trains 5e5), 5 of 21 "
        "(L, seed) runs have not reached ± heads: L = 20 seeds 2 and 4 and L = 80 seed 5 stall at the symmetric "
        "one-signed point (ω = (0.54, 0.58), (−0.68, −0.70), (−0.45, −0.48); risk 0.546, 0.544, 0.294 vs R_dGD(η*) "
        "= 0.355, 0.355, 0.176, about the single-head risk), and L = 20 seed 0 and L = 40 seed 1 are in transit "
        "with one head near ω = 0 (ω = (0.56, 0.001), μ = (1.21, −0.42), risk 0.503; ω = (−0.48, −0.084), "
        "μ = (−1.54, 0.25), risk 0.382 vs 0.243). Which seeds stall is not predicted beyond the no-information "
        "rate by the reduced flow from their initialisation (icl_linear.stall_predicted). The predicate: the "
        "cell's 2-head model is one-signed and its risk is above R_dGD(η*) + 0.02."
    ),
)
NONE_AT_MANIFOLD = KnownFailure(c.off_manifold, "No seed of the cell reached S̄: " + OFF_MANIFOLD.reason)
STILL_IN_STAGE_TWO = (
    "the paper trains 5e5 Adam steps, the quick profile 4000, and Stage II (the slow approach to homogeneous "
    "|ω_h| = γ) is unfinished there: icl_linear.omega_rise_fall measures mean |ω_h| still moving 2–10% over "
    "the last 1000 steps"
)
SPREAD_OFF_MANIFOLD = KnownFailure(
    lambda rows: c.off_manifold(rows) or d.still_moving(rows),
    (
        "L = 40 seed 6 reached ± heads but its |ω_h| still differ by 0.151 (cut-off 0.15) while its mean |ω_h| "
        f"moves 10% over the last 1000 steps: {STILL_IN_STAGE_TWO}. The others: {OFF_MANIFOLD.reason} The "
        "predicate: off S̄ as described, or the seed's mean |ω_h| moved by more than 5% over the last quarter."
    ),
)
STEP_STILL_MOVING = KnownFailure(
    lambda rows: c.off_manifold(rows) or d.effective_step_misses_still_moving(rows),
    (
        "At L = 20, 4 of 7 seeds reached S̄; seed 5's Σμω = 0.818 misses η* = 0.784 by 0.034 (the others by at "
        f"most 0.011) while its mean |ω_h| still moves 7.8% over the last 1000 steps: {STILL_IN_STAGE_TWO}. The "
        "predicate: every seed at S̄ that misses by more than 0.03 moved by more than 5% over the last quarter."
    ),
)
SIGN_OFF_MANIFOLD = KnownFailure(
    lambda rows: c.off_manifold(rows) and c.single_head_signs_match(rows),
    "Only the 2-head models in transit mismatch (L = 20 seed 0: head 2 has ω = 0.001, μ = −0.42; L = 40 seed 1: "
    "ω = −0.084, μ = 0.25, crossing over); every 1-head model matches. " + OFF_MANIFOLD.reason,
)
SHORT_CONTEXT = KnownFailure(
    lambda rows: c.beats_limit_at_short_contexts(rows) or c.off_manifold(rows),
    (
        "At test lengths L' < L/2 the trained 2-head model beats R_dGD(η*; L') by more than 0.02 (L = 40 at "
        "L' = 10: 0.572 ± 0.005 vs 0.596, worst gap 0.029; L = 80 at L' = 10: 0.605 ± 0.007 vs 0.637, worst gap "
        "0.042), while every L' ≥ L/2 agrees within 0.015: the heads sit at γ ≈ 0.2, not at the γ → 0 limit "
        "where the model is exactly dGD, and the large-L approximation behind that limit is weakest at short "
        "contexts (measured, quick profile). The predicate: every miss is at L' < L/2 and below the prediction "
        "(or no seed reached S̄)."
    ),
)
LSA_NOISE = KnownFailure(
    c.lsa_risk_on_prediction,
    (
        "The learned preconditioner misses B* by up to 7.7% at L = 20 (mean 5.5% over 7 seeds), 5.2% at L = 40 "
        "(mean 4.2%) and 5.1% at L = 80 (mean 4.5%) while the LSA's risk stays within 0.02 of its closed form: "
        "constant-step Adam (1e-2) on fresh batches of 256 jitters around B* in directions the risk barely sees, "
        "more at short contexts (noisier gradients); not measured further. The predicate: every seed's LSA risk "
        "at L is within 0.02 of the closed form."
    ),
)

CLAIMS = (
    Claim(
        "icl_linear.two_signed_heads",
        "with H = 2 each seed learns one positive and one negative head",
        f"{HE}, §3.1 (Fig. 2.1–2.2)",
        "reported",
        PER_SEED,
        Tolerance("signs", "derived", "no threshold: the two heads' ω have opposite signs"),
        c.two_signed_heads,
        "circuits.png",
        OFF_MANIFOLD,
    ),
    Claim(
        "icl_linear.sign_match",
        "sign ω_h = sign μ_h in every head, H = 1 and 2",
        f"{HE}, §3.1",
        "reported",
        PER_SEED,
        Tolerance("every head", "derived", "no threshold: a sign comparison"),
        c.sign_match,
        "circuits.png",
        SIGN_OFF_MANIFOLD,
    ),
    Claim(
        "icl_linear.zero_sum",
        "zero-sum OV with H = 2: |Σμ| / Σ|μ| ≤ 0.05",
        f"{HE}, §3.1",
        "reported",
        PER_SEED,
        Tolerance(f"{c.ZERO_SUM:g}", "cut-off", NOTES),
        c.bounded("zero_sum", c.ZERO_SUM, "|Σμ| / Σ|μ|"),
        "circuits.png",
        OFF_MANIFOLD,
    ),
    Claim(
        "icl_linear.homogeneous_kq",
        "homogeneous |ω_h| with H = 2: max_h ||ω_h| / mean|ω| − 1| ≤ 0.15",
        f"{HE}, §3.1",
        "reported",
        PER_SEED,
        Tolerance(f"{c.HOMOGENEOUS:g}", "cut-off", NOTES),
        c.bounded("omega_spread", c.HOMOGENEOUS, "max |ω| deviation"),
        "circuits.png",
        SPREAD_OFF_MANIFOLD,
    ),
    Claim(
        "icl_linear.multi_head_gain",
        "each seed's single head is worse than its two heads by > 0.1 in risk at L",
        f"{HE}, §3 (Fig. 2.4)",
        "reported",
        PER_SEED,
        Tolerance(f"{c.HEAD_GAIN:g}", "cut-off", NOTES),
        c.multi_head_gain,
        "risk_vs_context.png",
        OFF_MANIFOLD,
    ),
    Claim(
        "icl_linear.dgd_risk",
        "2-head softmax risk at L is within 0.02 of R_dGD(η*)" + AT_MANIFOLD,
        f"{HE}, Thm 1(2); risk derived",
        "theorem",
        PER_LENGTH,
        Tolerance(
            f"{c.RISK:g}",
            "cut-off",
            NOTES + "; ≥ 3.5 Monte-Carlo standard errors R·√(2/N) at R ≤ 0.5, N = 16384 prompts",
        ),
        c.on_manifold(c.dgd_risk),
        "risk_vs_context.png",
        NONE_AT_MANIFOLD,
        tiny=TRAINED_AT,
    ),
    Claim(
        "icl_linear.effective_step",
        "Σ_h μ_h ω_h is within 0.03 of η*" + AT_MANIFOLD,
        f"{HE}, Thm 1(2)",
        "theorem",
        PER_LENGTH,
        Tolerance(f"{c.EFFECTIVE_STEP:g}", "cut-off", NOTES),
        c.on_manifold(c.effective_step),
        "circuits.png",
        STEP_STILL_MOVING,
        tiny=TRAINED_AT,
    ),
    Claim(
        "icl_linear.solution_manifold",
        "μ₊ is within 5% of μ_γ(γ̂) on the manifold S_γ" + AT_MANIFOLD,
        f"{HE}, §3.2 (S_γ)",
        "theorem",
        PER_LENGTH,
        Tolerance(f"{c.MANIFOLD:g} relative", "cut-off", NOTES),
        c.on_manifold(c.solution_manifold),
        "circuits.png",
        NONE_AT_MANIFOLD,
        tiny=TRAINED_AT,
    ),
    Claim(
        "icl_linear.softmax_length_generalisation",
        "2-head softmax trained at L follows R_dGD(η*(L); L') at every test length L'" + AT_MANIFOLD,
        f"{HE}, §4; risk derived",
        "theorem",
        PER_LENGTH,
        Tolerance(f"{c.RISK:g}", "cut-off", NOTES),
        c.on_manifold(c.length_check(c.RISK)),
        "length_generalisation.png",
        SHORT_CONTEXT,
        tiny=TRAINED_AT,
    ),
    Claim(
        "icl_linear.lsa_optimum",
        "trained linear self-attention reaches B* = (Γ + σ²d/N I)⁻¹ (every seed)",
        "Zhang, Frei & Bartlett 2023 (noise term derived)",
        "theorem",
        PER_LENGTH,
        Tolerance(
            f"{c.LSA_ERROR:g} relative",
            "cut-off",
            "not derived: the optimum is exact and the stationary jitter of constant-step Adam on fresh "
            "batches is not derived here; an earlier revision chose 5% after measuring 3.5–4.5% at L = 40",
        ),
        c.lsa_optimum,
        "length_generalisation.png",
        LSA_NOISE,
    ),
    Claim(
        "icl_linear.lsa_risk",
        "linear self-attention risk at L is within 0.02 of its closed form (every seed)",
        "derived (Zhang, Frei & Bartlett 2023 optimum, He et al. scaling)",
        "theorem",
        PER_LENGTH,
        Tolerance(f"{c.RISK:g}", "cut-off", NOTES + ", for a trained model's risk, applied to the LSA"),
        c.lsa_risk,
        "length_generalisation.png",
    ),
    Claim(
        "icl_linear.linear_length_generalisation",
        "linear attention trained at L follows R_lin(L') at every L' (every seed) and explodes for L' > L",
        f"{HE}, §4; risk derived",
        "theorem",
        PER_LENGTH,
        Tolerance(
            "risk range of ‖B − B*‖_F ≤ 5%‖B*‖_F, ± 4 MC standard errors",
            "cut-off",
            "the exact risk range (derived: extremes at B = η_GD(1 ± 5%)I, see checks.lsa_band) of the "
            "preconditioners that the 5% lsa_optimum cut-off admits on the ZFB-invariant subspace (the other "
            "blocks of the full parameterisation are not measured), widened by 4·R·√(2/N)",
        ),
        c.linear_length_generalisation,
        "length_generalisation.png",
    ),
    Claim(
        "icl_linear.oracle_risks",
        "Monte-Carlo risks of the dGD, GD, OLS and Bayes oracles match their closed forms",
        "derived",
        "consistency",
        PER_LENGTH,
        Tolerance(
            f"{c.ORACLE_Z:g} standard errors",
            "derived",
            f"two-sided normal test on 16384 shared prompts, level {c.ORACLE_LEVEL:.1g} per oracle",
        ),
        c.oracle_risks,
        "risk_vs_context.png",
    ),
    Claim(
        "icl_linear.bayes_ratio_bound",
        "R_dGD(η*) / Bayes risk ≤ 1 + σ⁻²[(1+ξσ²)(1+σ²+ξ⁻¹)]⁻¹ as L → ∞",
        f"{HE}, Thm 1(3)",
        "theorem",
        Scope(),
        Tolerance(
            "0",
            "derived",
            "an exact inequality between closed-form limits, on every ξ of the run's grid "
            "(41 log-spaced in [0.01, 100]) where the theorem's conditions hold",
        ),
        c.bayes_ratio,
        "bayes_ratio.png",
    ),
) + DYNAMICS_CLAIMS
