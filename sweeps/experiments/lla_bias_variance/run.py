"""LLA bias–variance runs: global linear vs Nadaraya–Watson (softmax) vs local linear (LLA) regression IMSE.

Zuo et al. 2025 (arXiv 2510.01450) §2, Props. 2.1-2.2, known only through paraphrases (notes papers/lla.md
§2); the predictions are the classical IMSE theory in `attnbench.theory.lla` (derived). Set-up (notes §2, "How
to check this numerically"): x ~ U[0,1]^d, y = Σ_k sin(3x_k) + σε; test points uniform on the cube (so they
include the boundary layer) and, separately, in the boundary layer; IMSE is the mean squared error against
the noise-free f, at every bandwidth of a grid (the claims tune h per n: oracle tuning, as the rates are for
the optimal h).

Estimators on the same RBF-kernel weights w_j = exp(−‖x − x_j‖²/2h²) (the softmax kernel up to factors that
cancel when keys have constant norm; notes §1.2):
- ``nadaraya_watson``: Σ_j w_j y_j / Σ_j w_j (softmax attention's estimator);
- ``local_linear``: LLA's intercept, `attnbench.kernels.lla.reference.local_linear_fit` with a tiny λω ridge;
- ``global_linear``: ordinary least squares with intercept (linear attention / MesaNet-type).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import torch

from attnbench.kernels.lla.reference import local_linear_fit
from attnbench.sweeps.experiments.base import RunContext, require
from attnbench.sweeps.rows import Row, row
from attnbench.sweeps.validation import Params, param
from attnbench.theory import lla as theory

REGIONS = ("uniform", "boundary")


@dataclass
class LLABiasVarianceParams(Params):
    """Quick profile: d = 1, n over two decades, 6 seeds (about 3.5 minutes on one loaded core)."""

    dim: int = param(1, ge=1, help="input dimension d")
    sample_sizes: list[int] = param([100, 316, 1000, 3162, 10000], ge=1, help="the n values (context lengths)")
    n_test: int = param(400, ge=10, help="test points per region (uniform and boundary layer)")
    n_test_linear: int = param(50000, ge=10, help="Monte-Carlo test points of the global-linear IMSE")
    boundary_width: float = param(0.05, gt=0, lt=0.5, help="width w of the boundary layer [0, w) ∪ (1 − w, 1]")
    noise: float = param(0.5, ge=0, help="noise standard deviation σ")
    frequency: float = param(3.0, gt=0, help="frequency ω of f(x) = Σ_k sin(ω x_k)")
    bandwidths: list[float] = param(
        np.geomspace(0.01, 0.5, 18).round(5).tolist(), gt=0, help="the bandwidth grid h is tuned on"
    )
    seeds: int = param(6, ge=2, help="seeds (the replicates of every statistical check)")
    ridge: float = param(1e-6, gt=0, help="local-linear λ in the λω convention")

    def check(self) -> None:
        sizes = list(self.sample_sizes)
        require(
            len(sizes) >= 3 and sizes == sorted(set(sizes)) and sizes[0] > self.dim + 2,
            "sample_sizes",
            f"needs >= 3 increasing sizes, each > dim + 2, got {sizes}",
        )
        require(len(self.bandwidths) >= 3, "bandwidths", "needs >= 3 values")


def _kernel_predictions(
    x_train: np.ndarray, y_train: np.ndarray, x_test: np.ndarray, bandwidth: float, ridge: float
) -> tuple[np.ndarray, np.ndarray]:
    """(Nadaraya–Watson, local linear) predictions at ``x_test`` with RBF weights of width ``bandwidth``."""
    keys = torch.from_numpy(x_train)[None, None]
    queries = torch.from_numpy(x_test)[None, None]
    values = torch.from_numpy(y_train)[None, None, :, None]
    logits = -(torch.cdist(queries, keys) ** 2) / (2 * bandwidth**2)
    weights = torch.exp(logits - logits.amax(-1, keepdim=True))
    nadaraya_watson = (weights @ values)[..., 0] / weights.sum(-1)
    local_linear = local_linear_fit(weights, queries, keys, values, ridge=ridge).output[..., 0]
    return nadaraya_watson[0, 0].numpy(), local_linear[0, 0].numpy()


def _boundary_layer_points(rng: np.random.Generator, count: int, dim: int, width: float) -> np.ndarray:
    """Uniform points of the cube with one random coordinate moved into the layer [0, w) ∪ (1 − w, 1]."""
    points = rng.uniform(size=(count, dim))
    layer = rng.uniform(0, width, size=count)
    side = rng.integers(0, 2, size=count)
    points[np.arange(count), rng.integers(0, dim, size=count)] = np.where(side == 0, layer, 1 - layer)
    return points


def _global_linear(x_train: np.ndarray, y_train: np.ndarray, x_test: np.ndarray) -> np.ndarray:
    """Ordinary least squares with intercept fitted on (x_train, y_train), predicted at ``x_test``."""
    design = np.concatenate([np.ones((len(x_train), 1)), x_train], axis=1)
    coefficients, *_ = np.linalg.lstsq(design, y_train, rcond=None)
    return np.concatenate([np.ones((len(x_test), 1)), x_test], axis=1) @ coefficients


def run(params: LLABiasVarianceParams, ctx: RunContext) -> pd.DataFrame:
    """One row per (estimator, n, seed, bandwidth, region) with the test IMSE against the noise-free target;
    the global-linear row (uniform region, no bandwidth) carries its prediction
    `attnbench.theory.lla.global_linear_imse`."""
    rows: list[Row] = []
    for seed in range(params.seeds):
        for n in params.sample_sizes:
            rng = np.random.default_rng([ctx.seed, seed, n])
            x_train = rng.uniform(size=(n, params.dim))
            y_train = theory.sine_target(x_train, params.frequency) + params.noise * rng.standard_normal(n)
            test_sets = {
                "uniform": rng.uniform(size=(params.n_test, params.dim)),
                "boundary": _boundary_layer_points(rng, params.n_test, params.dim, params.boundary_width),
            }
            x_test = np.concatenate(list(test_sets.values()))
            f_test = theory.sine_target(x_test, params.frequency)
            region = np.repeat(list(test_sets), params.n_test)
            predicted = theory.global_linear_imse(params.dim, n, params.noise, params.frequency)
            x_linear = rng.uniform(size=(params.n_test_linear, params.dim))  # cheap: a large Monte-Carlo set
            linear_prediction = _global_linear(x_train, y_train, x_linear)
            linear_error = float(np.mean((linear_prediction - theory.sine_target(x_linear, params.frequency)) ** 2))
            rows.append(
                row(
                    "imse_uniform",
                    linear_error,
                    predicted=predicted,
                    step=0,
                    seed=seed,
                    n=n,
                    estimator="global_linear",
                    bandwidth=np.nan,
                )
            )
            for bandwidth in params.bandwidths:
                nw, ll = _kernel_predictions(x_train, y_train, x_test, bandwidth, params.ridge)
                for name, prediction in (("nadaraya_watson", nw), ("local_linear", ll)):
                    for region_name in REGIONS:
                        in_region = region == region_name
                        error = float(np.mean((prediction[in_region] - f_test[in_region]) ** 2))
                        rows.append(
                            row(
                                f"imse_{region_name}",
                                error,
                                predicted=np.nan,
                                step=0,
                                seed=seed,
                                n=n,
                                estimator=name,
                                bandwidth=bandwidth,
                            )
                        )
    table = pd.DataFrame(rows)
    table["dim"] = params.dim
    return table
