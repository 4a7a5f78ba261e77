"""LLA bias–variance: global linear vs Nadaraya–Watson (softmax) vs local linear (LLA) regression rates.

Zuo et al. 2025 (arXiv 2510.01450) §2, Props. 2.1-2.2, known only through paraphrases (notes papers/lla.md
§2); the predictions asserted are the classical IMSE theory in `attnbench.theory.lla` (derived). Set-up
(notes §2, "How to check this numerically"): x ~ U[0,1]^d, y = Σ_k sin(3x_k) + σε; test points uniform on
the cube (so they include the boundary layer); for each n the bandwidth h is tuned on a grid (oracle tuning,
as the rates are for the optimal h); IMSE is the mean squared error against the noise-free f.

Estimators on the same RBF-kernel weights w_j = exp(−‖x − x_j‖²/2h²) (the softmax kernel up to factors that
cancel when keys have constant norm; notes §1.2):
- ``nadaraya_watson``: Σ_j w_j y_j / Σ_j w_j (softmax attention's estimator);
- ``local_linear``: LLA's intercept, `attnbench.kernels.lla.reference.local_linear_fit` with a tiny λω ridge;
- ``global_linear``: ordinary least squares with intercept (linear attention / MesaNet-type).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import torch

from attnbench.kernels.lla.reference import local_linear_fit
from attnbench.sweeps.experiments.base import Claim, Experiment, RunContext, Verdict, mean_spread, require
from attnbench.theory import lla as theory

ESTIMATORS = ("global_linear", "nadaraya_watson", "local_linear")
SOURCE_RATES = "Zuo et al. 2025, Props 2.1-2.2 (paraphrased, second-hand); classical IMSE rates (derived)"


@dataclass
class LLABiasVarianceParams:
    """Quick profile: d = 1, n over two decades, 4 seeds (about 20 s on one core)."""

    dim: int = 1
    sample_sizes: list[int] = field(default_factory=lambda: [100, 316, 1000, 3162, 10000])
    n_test: int = 400
    noise: float = 0.5
    frequency: float = 3.0
    bandwidths: list[float] = field(default_factory=lambda: np.geomspace(0.01, 0.5, 18).round(5).tolist())
    seeds: int = 4
    ridge: float = 1e-6

    def __post_init__(self) -> None:
        require(self.dim >= 1, "dim", "must be an integer >= 1")
        require(len(self.sample_sizes) >= 3 and min(self.sample_sizes) > self.dim + 2, "sample_sizes",
                "needs at least 3 sizes, each > dim + 2")
        require(self.n_test >= 10, "n_test", "must be >= 10")
        require(self.noise >= 0, "noise", "must be >= 0")
        require(self.frequency > 0, "frequency", "must be > 0")
        require(len(self.bandwidths) >= 3 and min(self.bandwidths) > 0, "bandwidths", "needs >= 3 values > 0")
        require(self.seeds >= 2, "seeds", "must be >= 2 (tolerances come from seed-to-seed variation)")
        require(self.ridge > 0, "ridge", "must be > 0 (λ in the λω convention)")


def _kernel_predictions(x_train: np.ndarray, y_train: np.ndarray, x_test: np.ndarray, bandwidth: float,
                        ridge: float) -> tuple[np.ndarray, np.ndarray]:
    """(Nadaraya–Watson, local linear) predictions at ``x_test`` with RBF weights of width ``bandwidth``."""
    keys = torch.from_numpy(x_train)[None, None]
    queries = torch.from_numpy(x_test)[None, None]
    values = torch.from_numpy(y_train)[None, None, :, None]
    logits = -torch.cdist(queries, keys) ** 2 / (2 * bandwidth**2)
    weights = torch.exp(logits - logits.amax(-1, keepdim=True))
    nadaraya_watson = (weights @ values)[..., 0] / weights.sum(-1)
    local_linear = local_linear_fit(weights, queries, keys, values, ridge=ridge).output[..., 0]
    return nadaraya_watson[0, 0].numpy(), local_linear[0, 0].numpy()


def _global_linear(x_train: np.ndarray, y_train: np.ndarray, x_test: np.ndarray) -> np.ndarray:
    design = np.concatenate([np.ones((len(x_train), 1)), x_train], axis=1)
    coefficients, *_ = np.linalg.lstsq(design, y_train, rcond=None)
    return np.concatenate([np.ones((len(x_test), 1)), x_test], axis=1) @ coefficients


def run(params: LLABiasVarianceParams, ctx: RunContext) -> pd.DataFrame:
    """One row per (estimator, n, seed, bandwidth) with the test IMSE against the noise-free target."""
    rows = []
    for seed in range(params.seeds):
        for n in params.sample_sizes:
            rng = np.random.default_rng([ctx.seed, seed, n])
            x_train = rng.uniform(size=(n, params.dim))
            y_train = theory.sine_target(x_train, params.frequency) + params.noise * rng.standard_normal(n)
            x_test = rng.uniform(size=(params.n_test, params.dim))
            f_test = theory.sine_target(x_test, params.frequency)
            common = {"n": n, "seed": seed, "step": 0, "metric": "imse"}
            predicted = theory.global_linear_imse(params.dim, n, params.noise, params.frequency)
            linear_error = float(np.mean((_global_linear(x_train, y_train, x_test) - f_test) ** 2))
            rows.append({**common, "estimator": "global_linear", "bandwidth": np.nan, "value": linear_error,
                         "predicted": predicted})
            for bandwidth in params.bandwidths:
                nw, ll = _kernel_predictions(x_train, y_train, x_test, bandwidth, params.ridge)
                for name, prediction in (("nadaraya_watson", nw), ("local_linear", ll)):
                    rows.append({**common, "estimator": name, "bandwidth": bandwidth,
                                 "value": float(np.mean((prediction - f_test) ** 2)), "predicted": np.nan})
    table = pd.DataFrame(rows)
    table["dim"] = params.dim
    return table


def tuned_imse(table: pd.DataFrame, estimator: str) -> pd.DataFrame:
    """Per (seed, n): IMSE at the bandwidth that minimises the seed-averaged IMSE for that n."""
    subset = table[table.estimator == estimator]
    if estimator == "global_linear":
        return subset[["seed", "n", "value"]]
    mean_by_h = subset.groupby(["n", "bandwidth"]).value.mean()
    best = mean_by_h.groupby(level="n").idxmin().map(lambda index: index[1])
    chosen = subset[subset.bandwidth.to_numpy() == subset.n.map(best).to_numpy()]
    return chosen[["seed", "n", "value"]]


def fitted_slopes(table: pd.DataFrame, estimator: str) -> pd.Series:
    """Per seed, the least-squares slope of log IMSE* against log n."""
    tuned = tuned_imse(table, estimator)
    return tuned.groupby("seed").apply(lambda g: np.polyfit(np.log(g.n), np.log(g.value), 1)[0])


def _slope_claim(estimator: str, exponent: float) -> Claim:
    def check(table: pd.DataFrame) -> Verdict:
        slopes = fitted_slopes(table, estimator)
        predicted = exponent(int(table.dim.iloc[0]))
        tolerance = 3 * slopes.std(ddof=1) / np.sqrt(len(slopes))
        gap = abs(slopes.mean() - predicted)
        return Verdict("pass" if gap <= tolerance else "fail", predicted=f"{predicted:.3f}",
                       measured=f"{mean_spread(slopes, 3)}; gap {gap:.3f}",
                       tolerance=f"{tolerance:.3f} (3 standard errors over seeds)")

    name = "nw_rate" if estimator == "nadaraya_watson" else "ll_rate"
    return Claim(id=f"lla.{name}", source=SOURCE_RATES, check=check, figure="lla_bias_variance/rates.png",
                 statement=f"tuned-bandwidth IMSE of {estimator} decays like n^{{{exponent.__name__}}}")


def check_ordering(table: pd.DataFrame) -> Verdict:
    """At the largest n, every seed has IMSE(local linear) < IMSE(NW) < IMSE(global linear)."""
    largest = table.n.max()
    tuned = {name: tuned_imse(table, name).query("n == @largest").set_index("seed").value for name in ESTIMATORS}
    ordered = (tuned["local_linear"] < tuned["nadaraya_watson"]) & (tuned["nadaraya_watson"] < tuned["global_linear"])
    measured = ", ".join(f"{name} {mean_spread(values, 3)}" for name, values in tuned.items())
    return Verdict("pass" if bool(ordered.all()) else "fail", predicted="LL < NW < global linear",
                   measured=f"n={largest}: {measured}", tolerance="every seed")


def check_global_linear_floor(table: pd.DataFrame) -> Verdict:
    """Global-linear IMSE at the largest n matches floor + (σ²+floor)(d+1)/n within 3 seed standard errors."""
    largest = table.n.max()
    rows = table[(table.estimator == "global_linear") & (table.n == largest)]
    predicted = float(rows.predicted.iloc[0])
    tolerance = 3 * rows.value.std(ddof=1) / np.sqrt(len(rows))
    gap = abs(rows.value.mean() - predicted)
    return Verdict("pass" if gap <= tolerance else "fail", predicted=f"{predicted:.4g}",
                   measured=f"{mean_spread(rows.value, 4)}; gap {gap:.2g}",
                   tolerance=f"{tolerance:.2g} (3 standard errors over seeds)")


def draw(table: pd.DataFrame, out_dir: Path) -> list[Path]:
    """Tuned IMSE vs n per estimator, with the predicted slopes and the global-linear prediction."""
    out_dir.mkdir(parents=True, exist_ok=True)
    dim = int(table.dim.iloc[0])
    fig, ax = plt.subplots(figsize=(6, 4.5))
    exponents = {"nadaraya_watson": theory.nadaraya_watson_imse_exponent(dim),
                 "local_linear": theory.local_linear_imse_exponent(dim)}
    for name in ESTIMATORS:
        mean = tuned_imse(table, name).groupby("n").value.mean()
        line = ax.loglog(mean.index, mean.to_numpy(), marker="o", label=f"{name} (measured)")[0]
        if name in exponents:
            anchor = mean.iloc[0] * (mean.index / mean.index[0]) ** exponents[name]
            ax.loglog(mean.index, anchor, linestyle="--", color=line.get_color(),
                      label=f"n^{exponents[name]:.2f} (theory)")
    predicted = table[table.estimator == "global_linear"].groupby("n").predicted.first()
    ax.loglog(predicted.index, predicted.to_numpy(), linestyle=":", color="k", label="global linear (theory)")
    ax.set(xlabel="n (context length)", ylabel="tuned IMSE vs f", title=f"LLA bias–variance, d={dim}")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=7)
    fig.tight_layout()
    path = out_dir / "rates.png"
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return [path]


EXPERIMENT = Experiment(
    name="lla_bias_variance",
    description="Global linear vs Nadaraya–Watson (softmax) vs local linear (LLA) regression: IMSE rates",
    params=LLABiasVarianceParams,
    run=run,
    claims=(
        Claim(id="lla.ordering", source=SOURCE_RATES, check=check_ordering, figure="lla_bias_variance/rates.png",
              statement="at large n: IMSE(local linear) < IMSE(softmax / NW) < IMSE(global linear)"),
        Claim(id="lla.global_linear_floor", source="derived (misspecification floor + OLS excess risk)",
              check=check_global_linear_floor, figure="lla_bias_variance/rates.png",
              statement="global linear regression plateaus at the misspecification floor ∫(f − f_lin)² (Ω(1))"),
        _slope_claim("nadaraya_watson", theory.nadaraya_watson_imse_exponent),
        _slope_claim("local_linear", theory.local_linear_imse_exponent),
    ),
    draw=draw,
    paper={"dim": 2, "sample_sizes": [100, 316, 1000, 3162, 10000, 31623], "seeds": 8, "n_test": 2000},
)
