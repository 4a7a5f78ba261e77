"""The claims of the ``icl_linear`` experiment, each a function of its tidy table."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd

from attnbench.sweeps.experiments.base import Claim, Verdict, at_most, mean_spread, within

# Tolerances. Risks are Monte-Carlo means over 16384 test prompts: the standard error of a risk near 0.25
# is ≈ 0.25·√2/√16384 ≈ 0.003, so the 0.02 of the issue is > 6 standard errors away from a false failure.
RISK_TOLERANCE = 0.02
# Linear attention at L' ≫ L: its risk ∝ (step · L'/L)², so a 2% seed spread of the learned step
# (measured) becomes ≈ 4% in risk, plus Monte-Carlo error of heavy-tailed squared errors: 10% relative.
LENGTH_RISK_RELATIVE_TOLERANCE = 0.10
# Linear self-attention's learned preconditioner: Adam at a constant step (1e-2) on fresh batches of 256
# never settles exactly; its stationary error, measured over seeds in the quick profile, is 3.5–4.5% relative
# (Frobenius). 5% is that optimiser noise, not a property of the theory (whose optimum is exact).
LSA_RELATIVE_TOLERANCE = 0.05
# Oracle Monte-Carlo risks against closed forms: 4 standard errors (two-sided false-failure rate 6e-5).
ORACLE_STANDARD_ERRORS = 4.0


def _at_reference(table: pd.DataFrame, train_length: int = 40) -> pd.DataFrame:
    return table[table["train_length"] == train_length]


def two_signed(table: pd.DataFrame, heads: int = 2) -> pd.DataFrame:
    """The (train_length, seed) pairs whose softmax model has at least one positive and one negative head:
    the parameter space S̄ of He et al.'s Thm 1 (min(|H₊|, |H₋|) ≥ 1)."""
    omega = table[(table["metric"] == "omega") & (table["model"] == "softmax") & (table["heads"] == heads)]
    signs = omega.groupby(["train_length", "seed"])["value"].agg(lambda v: (v > 0).any() and (v < 0).any())
    return signs.rename("two_signed").reset_index()


def _on_two_signed(rows: pd.DataFrame, table: pd.DataFrame) -> pd.DataFrame:
    """``rows`` restricted to the seeds that reached S̄ (see `two_signed`)."""
    keep = two_signed(table)
    keep = keep[keep["two_signed"]][["train_length", "seed"]]
    return rows.merge(keep, on=["train_length", "seed"])


def _softmax(table: pd.DataFrame, metric: str, heads: int = 2) -> pd.DataFrame:
    rows = _at_reference(table)
    rows = rows[(rows["metric"] == metric) & (rows["model"] == "softmax") & (rows["heads"] == heads)]
    return _on_two_signed(rows, table) if heads >= 2 else rows


def _own_length_risk(table: pd.DataFrame, model: str, heads: int | None = None) -> pd.DataFrame:
    rows = table[(table["metric"] == "risk") & (table["model"] == model)
                 & (table["test_length"] == table["train_length"])]
    return rows if heads is None else rows[rows["heads"] == heads]


def two_signed_heads(table: pd.DataFrame) -> Verdict:
    """Every seed's 2-head model learns one positive and one negative head."""
    signs = two_signed(table)
    share = float(signs["two_signed"].mean())
    stalled = signs[~signs["two_signed"]]
    stalled_risk = _own_length_risk(table, "softmax", heads=2).merge(stalled, on=["train_length", "seed"])
    detail = f"; the others' risk {mean_spread(stalled_risk['value'])}" if len(stalled) else ""
    return Verdict("pass" if share == 1.0 else "fail", "all seeds",
                   f"{int(signs['two_signed'].sum())}/{len(signs)} seeds{detail}")


def dgd_risk(table: pd.DataFrame) -> Verdict:
    """At every stored training length, the mean 2-head risk of the ± seeds is within 0.02 of R_dGD(η*)."""
    rows = _on_two_signed(_own_length_risk(table, "softmax", heads=2), table)
    if rows.empty:
        raise ValueError("no 2-head softmax risks")
    verdicts = {length: within(group["value"], float(group["predicted"].iloc[0]), RISK_TOLERANCE)
                for length, group in rows.groupby("train_length")}
    ok = all(v.verdict == "pass" for v in verdicts.values())
    return Verdict("pass" if ok else "fail",
                   predicted="; ".join(f"L={n}: {v.predicted}" for n, v in verdicts.items()),
                   measured="; ".join(f"L={n}: {v.measured}" for n, v in verdicts.items()),
                   tolerance=f"±{RISK_TOLERANCE}")


def _summary(metric: str, bound: float) -> Callable[[pd.DataFrame], Verdict]:
    def check(table: pd.DataFrame) -> Verdict:
        return at_most(_softmax(table, metric)["value"], bound, label="issue threshold")
    return check


def sign_match(table: pd.DataFrame) -> Verdict:
    values = _softmax(table, "sign_match")["value"]
    ok = bool((values == 1.0).all()) and not values.empty
    return Verdict("pass" if ok else "fail", "1 (every head)", f"min {values.min():.3g} over {len(values)} seeds")


def effective_step(table: pd.DataFrame) -> Verdict:
    rows = _softmax(table, "effective_step")
    return within(rows["value"], float(rows["predicted"].iloc[0]), 0.03)


def solution_manifold(table: pd.DataFrame) -> Verdict:
    rows = _softmax(table, "mu_plus")
    gaps = (rows["value"] - rows["predicted"]).abs() / rows["predicted"]
    ok = bool((gaps <= 0.05).all()) and not rows.empty
    return Verdict("pass" if ok else "fail", f"μ_γ(γ̂) = {mean_spread(rows['predicted'])}",
                   f"μ₊ = {mean_spread(rows['value'])}; worst relative gap {gaps.max():.3g}", "5% relative")


def multi_head_gain(table: pd.DataFrame) -> Verdict:
    one = _own_length_risk(_at_reference(table), "softmax", heads=1)["value"]
    two = _own_length_risk(_at_reference(table), "softmax", heads=2)["value"]
    gap = one.mean() - two.mean()
    return Verdict("pass" if gap > 0.1 else "fail", "> 0.1",
                   f"{gap:.4g} (H=1: {mean_spread(one)}; H=2: {mean_spread(two)})")


def lsa_optimum(table: pd.DataFrame) -> Verdict:
    rows = _at_reference(table)
    errors = rows[rows["metric"] == "preconditioner_error"]["value"]
    return at_most(errors, LSA_RELATIVE_TOLERANCE, label="relative Frobenius error of uAᵀ against (Γ + σ²d/N I)⁻¹")


def lsa_risk(table: pd.DataFrame) -> Verdict:
    rows = _own_length_risk(_at_reference(table), "linear_attention")
    return within(rows["value"], float(rows["predicted"].iloc[0]), RISK_TOLERANCE)


def _length_check(
    model: str, heads: int | None, tolerance: float, relative: bool
) -> Callable[[pd.DataFrame], Verdict]:
    def check(table: pd.DataFrame) -> Verdict:
        rows = _at_reference(table)
        rows = rows[(rows["metric"] == "risk") & (rows["model"] == model)]
        if heads is not None:
            rows = _on_two_signed(rows[rows["heads"] == heads], table)
        verdicts = {n: within(g["value"], float(g["predicted"].iloc[0]), tolerance, relative=relative)
                    for n, g in rows.groupby("test_length")}
        if not verdicts:
            raise ValueError(f"no {model} risks")
        ok = all(v.verdict == "pass" for v in verdicts.values())
        return Verdict("pass" if ok else "fail",
                       "; ".join(f"L'={int(n)}: {v.predicted}" for n, v in verdicts.items()),
                       "; ".join(f"L'={int(n)}: {v.measured.split(';')[0]}" for n, v in verdicts.items()),
                       f"{tolerance:g}{' relative' if relative else ''}")
    return check


def oracle_risks(table: pd.DataFrame) -> Verdict:
    rows = table[(table["metric"] == "risk") & table["model"].isin(["dgd", "gd", "ols", "bayes"])]
    z = ((rows["value"] - rows["predicted"]).abs() / rows["std_error"]).to_numpy()
    worst = rows.iloc[int(np.argmax(z))]
    ok = bool((z <= ORACLE_STANDARD_ERRORS).all()) and len(z) > 0
    return Verdict("pass" if ok else "fail", "closed forms (dGD, GD, OLS) and MC Bayes risk",
                   f"worst |MC − formula| = {z.max():.2f} standard errors ({worst['model']}, L={worst['test_length']})",
                   f"{ORACLE_STANDARD_ERRORS:g} standard errors")


def bayes_ratio(table: pd.DataFrame) -> Verdict:
    rows = table[table["metric"] == "bayes_ratio"].drop_duplicates("xi")
    margin = (rows["predicted"] - rows["value"]).min()
    return Verdict("pass" if margin >= 0 and not rows.empty else "fail", "ratio ≤ bound on every ξ",
                   f"min(bound − ratio) = {margin:.4g} over {len(rows)} values of ξ")


HE = "He et al. 2025"
PM = " (seeds with ± heads)"
STALLED = ("With PyTorch's default initialisation and the quick profile's 4k Adam steps, 4 of 9 (L, seed) runs "
           "stay at a one-signed solution (± heads in 2/3 seeds at L = 20 and 40, 1/3 at L = 80; at L = 40 also "
           "seen after 12k steps): both heads ω ≈ 0.54, μ ≈ 0.75, risk ≈ the single-head risk. The paper trains "
           "5e5 steps; whether such seeds escape later is not measured here.")
SHORT_CONTEXT = ("At L' = 10 the trained 2-head model beats R_dGD(η*; L') by ≈ 0.021 (tolerance 0.02), while "
                 "L' = 20 … 320 agree within 0.005: the trained heads sit at γ ≈ 0.17–0.2, not at the γ → 0 limit "
                 "where the model is exactly dGD, and the large-L approximation behind that limit is weakest at short "
                 "contexts (measured, quick profile).")
CLAIMS = (
    Claim("icl_linear.two_signed_heads", "with H = 2 every seed learns one positive and one negative head",
          f"{HE}, §3.1", two_signed_heads, "circuits.png", known_failure=STALLED),
    Claim("icl_linear.dgd_risk", "2-head softmax risk reaches the debiased-GD risk R_dGD(η*)" + PM,
          f"{HE}, Thm 1(2); risk derived", dgd_risk, "risk_vs_context.png"),
    Claim("icl_linear.sign_match", "sign ω_h = sign μ_h in every head (H = 2)" + PM, f"{HE}, §3.1", sign_match,
          "circuits.png"),
    Claim("icl_linear.zero_sum", "zero-sum OV: |Σμ| / Σ|μ| < 0.05 (H = 2)" + PM, f"{HE}, §3.1",
          _summary("zero_sum", 0.05), "circuits.png"),
    Claim("icl_linear.homogeneous_kq", "homogeneous |ω_h| across heads: max deviation < 0.15 (H = 2)" + PM,
          f"{HE}, §3.1", _summary("omega_spread", 0.15), "circuits.png"),
    Claim("icl_linear.effective_step", "Σ_h μ_h ω_h is within 0.03 of η*" + PM, f"{HE}, Thm 1(2)", effective_step,
          "circuits.png"),
    Claim("icl_linear.solution_manifold", "μ₊ is within 5% of μ_γ(γ̂) on the manifold S_γ" + PM,
          f"{HE}, §3.2 (S_γ)", solution_manifold, "circuits.png"),
    Claim("icl_linear.multi_head_gain", "one head is worse than two by more than 0.1 in risk", f"{HE}, §3",
          multi_head_gain, "risk_vs_context.png"),
    Claim("icl_linear.lsa_optimum", "trained linear self-attention reaches B* = (Γ + σ²d/N I)⁻¹",
          "Zhang, Frei & Bartlett 2023 (noise term derived)", lsa_optimum, "length_generalisation.png"),
    Claim("icl_linear.lsa_risk", "linear self-attention risk equals its closed form at the training length",
          "derived", lsa_risk, "length_generalisation.png"),
    Claim("icl_linear.softmax_length_generalisation",
          "softmax trained at L = 40 follows R_dGD(η*; L') at every test length L'" + PM, f"{HE}, §4; risk derived",
          _length_check("softmax", 2, RISK_TOLERANCE, relative=False), "length_generalisation.png",
          known_failure=SHORT_CONTEXT),
    Claim("icl_linear.linear_length_generalisation",
          "linear attention trained at L = 40 follows R_lin(L') and explodes for L' > L", f"{HE}, §4; risk derived",
          _length_check("linear_attention", None, LENGTH_RISK_RELATIVE_TOLERANCE, relative=True),
          "length_generalisation.png"),
    Claim("icl_linear.oracle_risks", "Monte-Carlo risks of the oracles match their closed forms", "derived",
          oracle_risks, "risk_vs_context.png"),
    Claim("icl_linear.bayes_ratio_bound", "R_dGD(η*) / Bayes risk ≤ 1 + σ⁻²[(1+ξσ²)(1+σ²+ξ⁻¹)]⁻¹ as L → ∞",
          f"{HE}, Thm 1(3)", bayes_ratio, "bayes_ratio.png"),
)
