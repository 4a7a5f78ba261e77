"""LLA test-time regression runs on a non-stationary piecewise-linear stream (Zuo et al. 2025, arXiv 2510.01450,
§5, Fig. 2; notes papers/lla.md §4).

The paper's set-up as far as it is known: a single layer with **no trained projections**, L = 1024, sweeps of the
segment length S and the dimension d; baselines MesaNet and softmax attention (others [not found]). Nothing is
trained here either: every estimator is applied in context to the raw stream, with the query x_t, keys
x_{<t} and values y_{<t} (`attnbench.tasks.piecewise_linear`; its generator is our reconstruction, the
paper's is [not found]). Estimators of y_t:

- ``lla``: `attnbench.kernels.lla.lla` (λ = 0.1 in the λω convention, logit scale 1/√d, fp64);
- ``softmax``: `attnbench.models.attention.softmax_attention` (scale 1/√d);
- ``linear``: identity-feature linear attention ``(1/t) Σ_{j<t} y_j x_jᵀ x_t`` (unnormalised
  `linear_attention` divided by the number of keys; without the 1/t it grows with t, and nothing is trained to
  fix its scale);
- ``ridge`` (MesaNet readout, no intercept) and ``ridge_intercept``: ridge regression on the whole prefix with
  λ = σ²/τ², the Bayes ridge of one segment;
- ``bayes``: the segment-aware oracle (ridge restarted at every boundary): a lower reference, not a competitor.

The ``drifting`` stream (keys move to a new region at every boundary: the regression function is piecewise
linear in x) carries the claims; the ``stationary`` control (keys N(0, I_d), the notes' literal proposal, where
y_t is not a function of x_t) runs beside it at the first d, for the figures only.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import torch

from attnbench.kernels.lla import lla
from attnbench.kernels.lla.common import DEFAULT_RIDGE
from attnbench.models.attention import linear_attention, softmax_attention
from attnbench.sweeps.experiments.base import RunContext, require
from attnbench.sweeps.validation import Params, param
from attnbench.tasks import piecewise_linear as task

COMPETITORS = ("lla", "softmax", "linear", "ridge", "ridge_intercept")
ESTIMATORS = (*COMPETITORS, "bayes")
HALVES = ("early", "late")


@dataclass
class LLATestTimeRegressionParams(Params):
    """Quick profile: L = 1024, S ∈ {64, 256}, d ∈ {4, 16}, 8 seeds x 8 streams, plus the stationary control at
    the first d (about 55 s on one core). With 4 seeds the per-segment tests lacked power (38/40 and 25/36
    comparisons significant, every point estimate in the predicted direction); 8 seeds is the smallest profile
    we ran."""

    length: int = param(1024, ge=4, help="stream length L")
    segment_lengths: list[int] = param([64, 256], ge=2, help="segment lengths S (each <= L/2: two segments)")
    dims: list[int] = param([4, 16], ge=1, help="dimensions d")
    noise_var: float = param(0.1, gt=0, help="noise variance σ² (sets the Bayes ridge σ²/τ²)")
    key_shift: float = param(1.0, gt=0, help="scale of the drifting stream's per-segment key centres")
    key_spread: float = param(0.5, gt=0, help="drifting stream: key spread around the segment's centre")
    stationary_control: bool = param(True, help="also run the stationary-key control at the first d")
    ridge: float = param(DEFAULT_RIDGE, gt=0, help="LLA's λ in the λω convention")
    seeds: int = param(8, ge=2, help="seeds (the replicates of every statistical check)")
    streams: int = param(8, ge=1, help="streams per seed (averaged)")

    def check(self) -> None:
        require(
            all(s <= self.length // 2 for s in self.segment_lengths),
            "segment_lengths",
            f"each must be in [2, length/2 = {self.length // 2}] (at least two segments)",
        )


def predictions(batch: task.Batch, config: task.PiecewiseLinearConfig, lla_ridge: float) -> dict[str, torch.Tensor]:
    """Every estimator's prediction of y_t for t = 1..L−1, each (B, L−1, d)."""
    x, y = task.split_tokens(batch.inputs)
    q, k, v = x[:, None, 1:], x[:, None, :-1], y[:, None, :-1]  # query x_t, keys/values up to t−1
    keys_seen = torch.arange(1, x.shape[1], dtype=x.dtype)[:, None]
    ridge = config.bayes_ridge
    return {
        "lla": lla(q, k, v, causal=True, ridge=lla_ridge)[:, 0],
        "softmax": softmax_attention(q, k, v, causal=True)[:, 0],
        "linear": linear_attention(q, k, v, causal=True, normalize=False)[:, 0] / keys_seen,
        "ridge": task.prefix_ridge_predict(x, y, ridge, intercept=False)[:, 1:],
        "ridge_intercept": task.prefix_ridge_predict(x, y, ridge, intercept=True)[:, 1:],
        "bayes": config.oracle(batch)[:, 1:],
    }


def _errors(
    params: LLATestTimeRegressionParams, shift: float, segment_length: int, dim: int, stream: int
) -> dict[str, np.ndarray]:
    """Per estimator, the MSE of ŷ_t against y_t at t = 1..L−1, averaged over the streams and the d values."""
    config = task.PiecewiseLinearConfig(
        dim=dim,
        length=params.length,
        segment_length=segment_length,
        noise_var=params.noise_var,
        key_shift=shift,
        key_spread=params.key_spread if shift > 0 else 1.0,
        batch_size=params.streams,
        stream=stream,
    )
    batch = config.sample("test", 0)
    with torch.no_grad():
        return {
            name: ((prediction - batch.targets[:, 1:]) ** 2).mean((0, 2)).numpy()
            for name, prediction in predictions(batch, config, params.ridge).items()
        }


def _halves(errors: dict[str, np.ndarray], segment_length: int) -> pd.DataFrame:
    """Per estimator, segment and half (offset < S/2: early): the mean MSE over the half's positions, the
    oracle's mean over the same positions (``predicted``), the number of positions and the first one."""
    positions = np.arange(1, len(errors["bayes"]) + 1)
    segment = positions // segment_length
    half = np.where(positions - segment * segment_length < segment_length / 2, *HALVES)
    frames = [
        pd.DataFrame(
            {
                "value": error,
                "predicted": errors["bayes"],
                "step": positions,
                "estimator": name,
                "segment": segment,
                "half": half,
            }
        )
        for name, error in errors.items()
    ]
    return (
        pd.concat(frames)
        .groupby(["estimator", "segment", "half"], sort=False)
        .agg(value=("value", "mean"), predicted=("predicted", "mean"), step=("step", "min"), positions=("step", "size"))
        .reset_index()
    )


def run(params: LLATestTimeRegressionParams, ctx: RunContext) -> pd.DataFrame:
    """Two kinds of rows per (stream kind, S, d): ``mse_half``, one per (seed, estimator, segment, half) with the
    mean MSE over the half's positions (what the claims test: seeds are their replicates), and ``mse_curve``, one
    per (estimator, position t >= 1) with the MSE averaged over the seeds (the figure; ``seed`` is empty).
    ``predicted`` holds the segment-aware Bayes oracle's MSE over the same positions."""
    runs = [("drifting", params.key_shift, params.dims)]
    runs += [("stationary", 0.0, params.dims[:1])] if params.stationary_control else []
    frames = []
    for kind, shift, dims in runs:
        for segment_length in params.segment_lengths:
            for dim in dims:
                common = {"stream": kind, "key_shift": shift, "segment_length": segment_length, "dim": dim}
                curves = []
                for seed in range(params.seeds):
                    errors = _errors(params, shift, segment_length, dim, 1000 * ctx.seed + seed)
                    frames.append(_halves(errors, segment_length).assign(metric="mse_half", seed=seed, **common))
                    curves.append(errors)
                positions = np.arange(1, params.length)
                mean = {name: np.mean([curve[name] for curve in curves], axis=0) for name in ESTIMATORS}
                frames += [
                    pd.DataFrame(
                        {
                            "metric": "mse_curve",
                            "value": mean[name],
                            "predicted": mean["bayes"],
                            "step": positions,
                            "seed": np.nan,
                            "estimator": name,
                            "segment": positions // segment_length,
                            **common,
                        }
                    )
                    for name in ESTIMATORS
                ]
    ctx.log(f"lla_test_time_regression: {len(frames)} frames")
    return pd.concat(frames, ignore_index=True)
