"""The five rf_attention studies and the run that computes them (Fu et al. 2023; notes D1).

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

Errors are normalised: mean squared error on the test batch divided by the variance of the test targets.
Targets are centred by their training mean before the ridge fit (an intercept), the same for every predictor.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from functools import partial

import pandas as pd
import torch

from attnbench.models.random_feature_attention import rfa_features, ridge_fit, sample_head_weights
from attnbench.sweeps.experiments.base import RunContext
from attnbench.sweeps.experiments.rf_attention.params import RFAttentionParams
from attnbench.tasks.base import Batch
from attnbench.tasks.rf_targets import RFTargetConfig, sample
from attnbench.theory.random_features import kernel_ridge_predict, rf_mlp_ridge_predict


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
        train.inputs, train.targets - offset, test.inputs, features=features, ridge=ridge, generator=generator)


def _weights(params: RFAttentionParams, heads: int, mean: float, seed: int) -> torch.Tensor:
    generator = torch.Generator().manual_seed(seed)
    return sample_head_weights(params.dim, heads, mean=mean, std=1.0, generator=generator)


def _data(params: RFAttentionParams, power: int, size: int, split: str, seed: int, keys: int) -> Batch:
    config = RFTargetConfig(dim=params.dim, keys=keys, target="power", power=power, batch_size=size)
    return sample(config, split, seed)  # type: ignore[arg-type]


def _row(section: str, metric: str, value: float, seed: int, predicted: float = math.nan, **extra: object) -> dict:
    return {"section": section, "metric": metric, "value": value, "predicted": predicted, "step": 0, "seed": seed,
            **extra}


def heads_rows(params: RFAttentionParams, seed: int) -> list[dict]:
    """Test error (KRR error as ``predicted``) and the RMS distance to the KRR predictor, per M."""
    train = _data(params, params.power, params.train_size, "train", seed, params.keys)
    test = _data(params, params.power, params.test_size, "test", seed, params.keys)
    krr = _krr_predict(train, test, params.ridge)
    krr_error = _normalised_error(krr, test)
    rows = []
    for heads in params.heads_grid:
        prediction = _rfa_predict(train, test, params.ridge, weights=_weights(params, heads, 0.0, seed))
        gap = float(((prediction - krr) ** 2).mean().sqrt() / test.targets.std())
        common = {"model": "rfa", "heads": heads, "train_size": params.train_size}
        rows.append(_row("heads", "test_error", _normalised_error(prediction, test), seed, krr_error, **common))
        rows.append(_row("heads", "krr_gap", gap, seed, **common, features=heads * (params.dim + 1)))
    return rows


def samples_rows(params: RFAttentionParams, seed: int) -> list[dict]:
    """Test error of RFA at fixed M and of KRR, per n."""
    test = _data(params, params.power, params.test_size, "test", seed, params.keys)
    weights = _weights(params, params.samples_heads, 0.0, seed)
    rows = []
    for size in params.samples_grid:
        train = _data(params, params.power, size, "train", seed, params.keys)
        krr_error = _normalised_error(_krr_predict(train, test, params.ridge), test)
        rfa_error = _normalised_error(_rfa_predict(train, test, params.ridge, weights=weights), test)
        rows.append(_row("samples", "test_error", rfa_error, seed, krr_error, model="rfa",
                         heads=params.samples_heads, train_size=size))
        rows.append(_row("samples", "test_error", krr_error, seed, model="krr", train_size=size))
    return rows


def mean_rows(params: RFAttentionParams, seed: int) -> list[dict]:
    """The mean sweep on the even target (the claim) and, for contrast, on the odd target ``power``."""
    rows = []
    for power in (params.mean_power, params.power):
        train = _data(params, power, params.train_size, "train", seed, params.keys)
        test = _data(params, power, params.test_size, "test", seed, params.keys)
        for mean in params.mean_grid:
            weights = _weights(params, params.mean_heads, mean, seed)
            error = _normalised_error(_rfa_predict(train, test, params.mean_ridge, weights=weights), test)
            rows.append(_row("mean", "test_error", error, seed, model="rfa", heads=params.mean_heads,
                             train_size=params.train_size, weight_mean=mean, target_power=power))
    return rows


def _validated(predict: Callable[[Batch, float], torch.Tensor], validation: Batch, ridges: list[float]) -> float:
    """The ridge of ``ridges`` with the lowest error on the validation batch."""
    return min(ridges, key=lambda ridge: _normalised_error(predict(validation, ridge), validation))


def keys_rows(params: RFAttentionParams, seed: int) -> list[dict]:
    """Test error of RFA and of an RF-MLP with the same feature count, per N (validated ridges)."""
    rows = []
    features = params.keys_heads * (params.dim + 1)
    for keys in params.keys_grid:
        train = _data(params, params.power, params.train_size, "train", seed, keys)
        validation = _data(params, params.power, params.test_size, "val", seed, keys)
        test = _data(params, params.power, params.test_size, "test", seed, keys)
        weights = _weights(params, params.keys_heads, 0.0, seed)
        predictors = {"rfa": partial(_rfa_predict, train, weights=weights),
                      "rf_mlp": partial(_mlp_predict, train, features=features, seed=seed)}
        for model, predict in predictors.items():
            ridge = _validated(predict, validation, params.ridge_grid)
            rows.append(_row("keys", "test_error", _normalised_error(predict(test, ridge), test), seed, model=model,
                             keys=keys, features=features, train_size=params.train_size, ridge=ridge))
    return rows


def permutation_rows(params: RFAttentionParams, seed: int) -> list[dict]:
    """The largest relative change of f(X) over random permutations of the keys (``predicted`` 0)."""
    test = _data(params, params.power, params.test_size, "test", seed, params.keys)
    weights = _weights(params, params.samples_heads, 0.0, seed)
    values = torch.randn(weights.shape[0] * weights.shape[1], generator=torch.Generator().manual_seed(seed),
                         dtype=torch.float64)
    reference = rfa_features(test.inputs, weights) @ values
    generator = torch.Generator().manual_seed(seed)
    worst = 0.0
    for _ in range(params.permutations):
        order = torch.cat([torch.zeros(1, dtype=torch.long), 1 + torch.randperm(params.keys, generator=generator)])
        permuted = rfa_features(test.inputs[:, order], weights) @ values
        worst = max(worst, float((permuted - reference).abs().max() / reference.abs().max()))
    return [_row("permutation", "max_relative_change", worst, seed, 0.0, model="rfa", heads=params.samples_heads)]


STUDIES = (heads_rows, samples_rows, mean_rows, keys_rows, permutation_rows)


def run(params: RFAttentionParams, ctx: RunContext) -> pd.DataFrame:
    """All five studies for seeds ctx.seed .. ctx.seed + params.seeds - 1 (fp64, closed-form ridge)."""
    rows: list[dict] = []
    for seed in range(ctx.seed, ctx.seed + params.seeds):
        for study in STUDIES:
            rows.extend(study(params, seed))
        ctx.log(f"rf_attention: seed {seed} done")
    return pd.DataFrame(rows)
