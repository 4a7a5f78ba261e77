"""In-context softmax regression vs one GD step, the computing part (Li, Song, Xia, Yu & Zhou 2023, arXiv
2304.13276; notes C). This module never imports the claims or the figures.

* Task (`attnbench.tasks.softmax_regression`): context document A with b = softmax(A x*), query document
  A_q; predict b_q = softmax(A_q x*). Both models of `attnbench.models.softmax_regression` are trained by Adam
  on fresh batches.
* ``icl`` rows, on a fixed test batch during training, named as in the paper: ``pred_diff`` = mean
  ||b_SA - b_GD||_2, ``model_diff`` = mean ||S_SA - S_GD||_F and ``model_cos`` = mean cosine of S_SA and
  S_GD (see `sensitivity`), beside both losses.
* ``bounds`` rows: the derived 1/2-Lipschitz shift bounds (notes C2) on random and adversarial
  (Adam-optimised, `adversarial`) perturbations, and the paper's factor M = n^{1.5} exp(10 R^2) beside the
  measured constant.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd
import torch
from torch import nn

from attnbench.models.softmax_regression import OneStepGD, SingleSoftmaxAttention
from attnbench.sweeps.experiments.base import RunContext
from attnbench.sweeps.experiments.softmax_regression.adversarial import (
    adversarial_data_shift_ratio,
    adversarial_weight_shift_ratio,
)
from attnbench.sweeps.rows import Row, row
from attnbench.sweeps.validation import Params, param
from attnbench.tasks.softmax_regression import (
    SoftmaxRegressionConfig,
    SoftmaxRegressionInstances,
    softmax_prediction,
)
from attnbench.theory.softmax_regression import data_shift_bound, log10_paper_constant, weight_shift_bound


@dataclass
class SoftmaxRegressionParams(Params):
    """Quick-profile sizes: ``rows_grid`` (n) x ``radius_grid`` (R) x ``seeds`` trainings of both models."""

    rows_grid: list[int] = param([10, 50], ge=2, help="document lengths n")
    radius_grid: list[float] = param([1.0, 4.0], gt=0, help="norm bounds R of A and x*")
    dim: int = param(5, ge=1, help="embedding dimension d")
    seeds: int = param(2, ge=1, help="seeds per (n, R)")
    steps: int = param(200, ge=1, help="Adam steps of both models")
    eval_every: int = param(25, ge=1, help="steps between evaluations on the test batch")
    batch_size: int = param(64, ge=1, help="fresh instances per training step")
    test_size: int = param(256, ge=1, help="instances of the fixed test batch")
    learning_rate: float = param(0.05, gt=0, help="Adam learning rate of both models")
    bound_trials: int = param(200, ge=1, help="random perturbations per (n, R, seed) for the shift bounds")
    adversarial_starts: int = param(2, ge=1, help="instances searched adversarially per (n, R, seed)")
    adversarial_steps: int = param(60, ge=1, help="Adam steps of each adversarial search")
    shift_radius: float = param(0.1, gt=0, help="norm of the weight / data perturbations")


def predict(model: nn.Module, data: SoftmaxRegressionInstances) -> torch.Tensor:
    """The model's predicted b_q for every instance, shaped (B, n)."""
    return model(data.matrix, data.target, data.inputs)


def loss(model: nn.Module, data: SoftmaxRegressionInstances) -> torch.Tensor:
    """1/2 ||b_hat_q - b_q||^2, averaged over the instances."""
    return 0.5 * ((predict(model, data) - data.targets) ** 2).sum(-1).mean()


def sensitivity(model: OneStepGD | SingleSoftmaxAttention, data: SoftmaxRegressionInstances) -> torch.Tensor:
    """S P: the model's closed-form d b_hat / d b per instance (B, n, n), restricted to the perturbations of b
    that keep sum(b) = 1 (P = I - 1 1^T / n)."""
    jacobian = model.sensitivity(data.matrix, data.target, data.inputs)
    rows = data.target.shape[-1]
    return jacobian @ (torch.eye(rows, dtype=jacobian.dtype) - 1.0 / rows)


@torch.no_grad()
def _comparison(
    attention: SingleSoftmaxAttention, descent: OneStepGD, test: SoftmaxRegressionInstances
) -> dict[str, float]:
    pred_diff = (predict(attention, test) - predict(descent, test)).norm(dim=-1).mean()
    loss_sa, loss_gd = loss(attention, test), loss(descent, test)
    left, right = sensitivity(attention, test).flatten(1), sensitivity(descent, test).flatten(1)
    cosine = (left * right).sum(-1) / (left.norm(dim=-1) * right.norm(dim=-1))
    return {
        "loss_sa": float(loss_sa),
        "loss_gd": float(loss_gd),
        "pred_diff": float(pred_diff),
        "model_diff": float((left - right).norm(dim=-1).mean()),
        "model_cos": float(cosine.mean()),
    }


def _training_rows(params: SoftmaxRegressionParams, rows: int, radius: float, seed: int) -> list[Row]:
    config = SoftmaxRegressionConfig(
        rows=rows, dim=params.dim, radius=radius, batch_size=params.batch_size, stream=seed
    )
    test = SoftmaxRegressionConfig(rows=rows, dim=params.dim, radius=radius, batch_size=params.test_size).sample(
        "test", seed
    )
    attention = SingleSoftmaxAttention(rows, params.dim, radius, torch.Generator().manual_seed(seed))
    descent = OneStepGD(rows, params.dim, radius)
    optimisers = [torch.optim.Adam(m.parameters(), lr=params.learning_rate) for m in (attention, descent)]
    records: list[Row] = []
    for step in range(params.steps + 1):
        if step % params.eval_every == 0 or step == params.steps:
            records += [
                row(metric, value, step=step, seed=seed, section="icl", rows=rows, radius=radius)
                for metric, value in _comparison(attention, descent, test).items()
            ]
        if step == params.steps:
            break
        batch = config.sample("train", step)
        for model, optimiser in zip((attention, descent), optimisers, strict=True):
            optimiser.zero_grad()
            loss(model, batch).backward()
            optimiser.step()
    return records


def _bound_rows(params: SoftmaxRegressionParams, rows: int, radius: float, seed: int) -> list[Row]:
    config = SoftmaxRegressionConfig(rows=rows, dim=params.dim, radius=radius, batch_size=params.bound_trials)
    data = config.sample("val", seed)
    generator = torch.Generator().manual_seed(seed)
    x_shift = torch.randn(data.x_star.shape, generator=generator, dtype=torch.float64)
    x_shift = params.shift_radius * x_shift / x_shift.norm(dim=-1, keepdim=True)
    a_shift = params.shift_radius * torch.randn(data.matrix.shape, generator=generator, dtype=torch.float64)
    base = data.target
    weight_ratio = (softmax_prediction(data.matrix, data.x_star + x_shift) - base).norm(dim=-1) / weight_shift_bound(
        data.matrix, x_shift
    )
    data_ratio = (softmax_prediction(data.matrix + a_shift, data.x_star) - base).norm(dim=-1) / data_shift_bound(
        a_shift, data.x_star
    )
    starts = range(params.adversarial_starts)
    adversarial_weight, adversarial_data = (
        max(
            search(
                data.matrix[i], data.x_star[i], params.shift_radius, generator=generator, steps=params.adversarial_steps
            )
            for i in starts
        )
        for search in (adversarial_weight_shift_ratio, adversarial_data_shift_ratio)
    )
    # measured Lipschitz constant of x -> f(Ax) along the worst perturbation, next to 1/2 ||A|| = R / 2 and M
    measured_constant = max(float(weight_ratio.max()), adversarial_weight) * radius / 2
    values = {
        "weight_shift_ratio_random": float(weight_ratio.max()),
        "data_shift_ratio_random": float(data_ratio.max()),
        "weight_shift_ratio_adversarial": adversarial_weight,
        "data_shift_ratio_adversarial": adversarial_data,
        "weight_shift_constant": measured_constant,
    }
    predicted = {"weight_shift_constant": radius / 2}
    keys = {"step": 0, "seed": seed, "section": "bounds", "rows": rows, "radius": radius}
    return [
        *(row(metric, value, predicted=predicted.get(metric, 1.0), **keys) for metric, value in values.items()),
        row("log10_paper_constant", log10_paper_constant(rows, radius), **keys),
    ]


def run(params: SoftmaxRegressionParams, ctx: RunContext) -> pd.DataFrame:
    """Train both models on every (n, R, seed) and measure the shift bounds; fp64 throughout."""
    records: list[Row] = []
    for seed in range(ctx.seed, ctx.seed + params.seeds):
        for rows in params.rows_grid:
            for radius in params.radius_grid:
                records.extend(_training_rows(params, rows, radius, seed))
                records.extend(_bound_rows(params, rows, radius, seed))
        ctx.log(f"softmax_regression: seed {seed} done")
    return pd.DataFrame(records)
