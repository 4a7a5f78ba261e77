"""The six rf_attention studies and the run that computes them (Fu et al. 2023; notes D1).

Every claim is derived from the model's definition (`attnbench.models.random_feature_attention`) and its exact
infinite-head kernel (`attnbench.theory.random_features`), except the *direction* of the non-zero-mean and the
RF-MLP effects (the paper's abstract). The table's ``section`` column names the study:

* ``heads``: ridge on M heads at fixed n, test error and distance to the kernel-ridge (KRR) predictor.
* ``samples``: test error vs n at fixed M, KRR error beside it (the M -> infinity prediction).
* ``mean``: zero-mean vs non-zero-mean W (mean c * blockdiag(I, 0)) on an even correlation target (the claim)
  and, for contrast, on the odd one used elsewhere (where a non-zero mean does not help).
* ``keys``: RFA vs an RF-MLP on the concatenated input with the same feature count, as N grows; each model's
  ridge is chosen from ``ridge_grid`` on a validation batch.
* ``permutation``: max |f(X) - f(pi X)| / max |f(X)| over random permutations of the keys.
* ``gd``: the values trained by full-batch GD, train and test risk per step beside the closed-form trajectory.

Each study is a `Section` with its own nested params (`attnbench.sweeps.experiments.rf_attention.params`) and
its own run over seeds ctx.seed .. ctx.seed + seeds - 1; `run` computes the studies ``params.sections`` selects.

Errors are normalised: mean squared error on the test batch divided by the variance of the test targets.
Targets are centred by their training mean before the ridge fit (an intercept), the same for every predictor.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import Any

import pandas as pd
import torch

from attnbench.models.random_feature_attention import (
    rf_mlp_ridge_predict,
    rfa_features,
    ridge_fit,
    sample_head_weights,
)
from attnbench.sweeps.experiments.base import RunContext, Section, run_sections
from attnbench.sweeps.experiments.rf_attention.params import (
    GDParams,
    HeadsParams,
    KeysParams,
    MeanParams,
    PermutationParams,
    RFAttentionParams,
    SamplesParams,
)
from attnbench.sweeps.experiments.rf_attention.study_gd import gd_rows
from attnbench.sweeps.rows import Row, row
from attnbench.tasks.base import Batch
from attnbench.tasks.rf_targets import RFTargetConfig
from attnbench.theory.random_features import kernel_ridge_predict


def _normalised_error(prediction: torch.Tensor, batch: Batch) -> float:
    return float(((prediction - batch.targets) ** 2).mean() / batch.targets.var())


def _rfa_predict(train: Batch, test: Batch, ridge: float, *, weights: torch.Tensor) -> torch.Tensor:
    offset = train.targets.mean()
    values = ridge_fit(rfa_features(train.inputs, weights), train.targets - offset, ridge)
    return rfa_features(test.inputs, weights) @ values + offset


def _krr_predict(train: Batch, test: Batch, ridge: float) -> torch.Tensor:
    offset = train.targets.mean()
    return kernel_ridge_predict(train.inputs, train.targets - offset, test.inputs, ridge) + offset


def _mlp_predict(train: Batch, test: Batch, ridge: float, *, features: int, seed: int) -> torch.Tensor:
    offset = train.targets.mean()
    generator = torch.Generator().manual_seed(seed)
    return offset + rf_mlp_ridge_predict(
        train.inputs, train.targets - offset, test.inputs, features=features, ridge=ridge, generator=generator
    )


def _weights(dim: int, heads: int, mean: float, seed: int) -> torch.Tensor:
    generator = torch.Generator().manual_seed(seed)
    return sample_head_weights(dim, heads, mean=mean, std=1.0, generator=generator)


def _data(dim: int, power: int, size: int, split: str, seed: int, keys: int) -> Batch:
    config = RFTargetConfig(dim=dim, keys=keys, target="power", power=power, batch_size=size)
    return config.sample(split, seed)  # type: ignore[arg-type]


def _over_seeds(name: str, rows_of: Callable[[Any, int], list[Row]], params: Any, ctx: RunContext) -> pd.DataFrame:
    """The rows of study ``name`` (``rows_of(params, seed)``) for seeds ctx.seed .. ctx.seed + params.seeds - 1."""
    rows: list[Row] = []
    for seed in range(ctx.seed, ctx.seed + params.seeds):
        rows.extend(rows_of(params, seed))
        ctx.log(f"rf_attention.{name}: seed {seed} done")
    return pd.DataFrame(rows)


def heads_rows(params: HeadsParams, seed: int) -> list[Row]:
    """Test error (KRR error as ``predicted``) and the RMS distance to the KRR predictor, per M."""
    train = _data(params.dim, params.power, params.train_size, "train", seed, params.keys)
    test = _data(params.dim, params.power, params.test_size, "test", seed, params.keys)
    krr = _krr_predict(train, test, params.ridge)
    krr_error = _normalised_error(krr, test)
    rows: list[Row] = []
    for heads in params.grid:
        prediction = _rfa_predict(train, test, params.ridge, weights=_weights(params.dim, heads, 0.0, seed))
        gap = float(((prediction - krr) ** 2).mean().sqrt() / test.targets.std())
        common = {"model": "rfa", "heads": heads, "train_size": params.train_size}
        rows.append(
            row("test_error", _normalised_error(prediction, test), predicted=krr_error, step=0, seed=seed, **common)
        )
        rows.append(row("krr_gap", gap, step=0, seed=seed, **common, features=heads * (params.dim + 1)))
    return rows


def samples_rows(params: SamplesParams, seed: int) -> list[Row]:
    """Test error of RFA at fixed M and of KRR, per n."""
    test = _data(params.dim, params.power, params.test_size, "test", seed, params.keys)
    weights = _weights(params.dim, params.heads, 0.0, seed)
    rows: list[Row] = []
    for size in params.grid:
        train = _data(params.dim, params.power, size, "train", seed, params.keys)
        krr_error = _normalised_error(_krr_predict(train, test, params.ridge), test)
        rfa_error = _normalised_error(_rfa_predict(train, test, params.ridge, weights=weights), test)
        rows.append(
            row(
                "test_error",
                rfa_error,
                predicted=krr_error,
                step=0,
                seed=seed,
                model="rfa",
                heads=params.heads,
                train_size=size,
            )
        )
        rows.append(row("test_error", krr_error, step=0, seed=seed, model="krr", train_size=size))
    return rows


def permutation_rows(params: PermutationParams, seed: int) -> list[Row]:
    """The largest relative change of f(X) over random permutations of the keys (``predicted`` 0)."""
    test = _data(params.dim, params.power, params.test_size, "test", seed, params.keys)
    weights = _weights(params.dim, params.heads, 0.0, seed)
    values = torch.randn(
        weights.shape[0] * weights.shape[1], generator=torch.Generator().manual_seed(seed), dtype=torch.float64
    )
    reference = rfa_features(test.inputs, weights) @ values
    generator = torch.Generator().manual_seed(seed)
    worst = 0.0
    for _ in range(params.permutations):
        order = torch.cat([torch.zeros(1, dtype=torch.long), 1 + torch.randperm(params.keys, generator=generator)])
        permuted = rfa_features(test.inputs[:, order], weights) @ values
        worst = max(worst, float((permuted - reference).abs().max() / reference.abs().max()))
    return [row("max_relative_change", worst, predicted=0.0, step=0, seed=seed, model="rfa", heads=params.heads)]


def mean_rows(params: MeanParams, seed: int) -> list[Row]:
    """The mean sweep on the even target ``power`` (the claim) and, for contrast, on the odd ``contrast_power``."""
    rows: list[Row] = []
    for power in (params.power, params.contrast_power):
        train = _data(params.dim, power, params.train_size, "train", seed, params.keys)
        test = _data(params.dim, power, params.test_size, "test", seed, params.keys)
        for mean in params.grid:
            weights = _weights(params.dim, params.heads, mean, seed)
            error = _normalised_error(_rfa_predict(train, test, params.ridge, weights=weights), test)
            rows.append(
                row(
                    "test_error",
                    error,
                    step=0,
                    seed=seed,
                    model="rfa",
                    heads=params.heads,
                    train_size=params.train_size,
                    weight_mean=mean,
                    target_power=power,
                )
            )
    return rows


def _validated(predict: Callable[[Batch, float], torch.Tensor], validation: Batch, ridges: list[float]) -> float:
    """The ridge of ``ridges`` with the lowest error on the validation batch."""
    return min(ridges, key=lambda ridge: _normalised_error(predict(validation, ridge), validation))


def keys_rows(params: KeysParams, seed: int) -> list[Row]:
    """Test error of RFA and of an RF-MLP with the same feature count, per N (validated ridges)."""
    rows: list[Row] = []
    features = params.heads * (params.dim + 1)
    for keys in params.grid:
        train = _data(params.dim, params.power, params.train_size, "train", seed, keys)
        validation = _data(params.dim, params.power, params.test_size, "val", seed, keys)
        test = _data(params.dim, params.power, params.test_size, "test", seed, keys)
        weights = _weights(params.dim, params.heads, 0.0, seed)
        predictors = {
            "rfa": partial(_rfa_predict, train, weights=weights),
            "rf_mlp": partial(_mlp_predict, train, features=features, seed=seed),
        }
        for model, predict in predictors.items():
            ridge = _validated(predict, validation, params.ridges)
            rows.append(
                row(
                    "test_error",
                    _normalised_error(predict(test, ridge), test),
                    step=0,
                    seed=seed,
                    model=model,
                    keys=keys,
                    features=features,
                    train_size=params.train_size,
                    ridge=ridge,
                )
            )
    return rows


def run_heads(params: HeadsParams, ctx: RunContext) -> pd.DataFrame:
    """The heads study (`heads_rows`) over its seeds."""
    return _over_seeds("heads", heads_rows, params, ctx)


def run_samples(params: SamplesParams, ctx: RunContext) -> pd.DataFrame:
    """The samples study (`samples_rows`) over its seeds."""
    return _over_seeds("samples", samples_rows, params, ctx)


def run_permutation(params: PermutationParams, ctx: RunContext) -> pd.DataFrame:
    """The permutation study (`permutation_rows`) over its seeds."""
    return _over_seeds("permutation", permutation_rows, params, ctx)


def run_mean(params: MeanParams, ctx: RunContext) -> pd.DataFrame:
    """The mean study (`mean_rows`) over its seeds."""
    return _over_seeds("mean", mean_rows, params, ctx)


def run_keys(params: KeysParams, ctx: RunContext) -> pd.DataFrame:
    """The keys study (`keys_rows`) over its seeds."""
    return _over_seeds("keys", keys_rows, params, ctx)


def run_gd(params: GDParams, ctx: RunContext) -> pd.DataFrame:
    """The gd study (`study_gd.gd_rows`) over its seeds."""

    def rows_of(p: GDParams, seed: int) -> list[Row]:
        train = _data(p.dim, p.power, p.train_size, "train", seed, p.keys)
        test = _data(p.dim, p.power, p.test_size, "test", seed, p.keys)
        return gd_rows(p, train, test, _weights(p.dim, p.heads, 0.0, seed), seed)

    return _over_seeds("gd", rows_of, params, ctx)


SECTIONS = (
    Section("heads", run_heads, "ridge on M heads at fixed n: test error and distance to kernel ridge, per M"),
    Section("samples", run_samples, "test error of RFA at fixed M and of kernel ridge, per n"),
    Section("permutation", run_permutation, "largest relative change of f(X) over random key permutations"),
    Section("mean", run_mean, "zero vs non-zero mean of W on an even target and, for contrast, an odd one"),
    Section("keys", run_keys, "RFA vs an RF-MLP of equal feature count, per N, validated ridges"),
    Section("gd", run_gd, "the values trained by full-batch GD beside the closed-form trajectory"),
)


def run(params: RFAttentionParams, ctx: RunContext) -> pd.DataFrame:
    """The studies ``params.sections`` selects, each on its own params (fp64)."""
    return run_sections(SECTIONS, params, ctx)
