"""In-context softmax regression vs one GD step (Li, Song, Xia, Yu & Zhou 2023, arXiv 2304.13276; notes C).

The paper compares a trained single softmax self-attention layer with a softmax-regression model trained
by one GD step, by their predictions and sensitivities; its protocol (architecture, sampling, learning
rates, steps, seeds) is [not found] (notes C3). This module is OUR protocol; its claims are qualitative.

* Task (`attnbench.tasks.softmax_regression`): context document A with b = softmax(A x*), query document
  A_q; predict b_q = softmax(A_q x*).
* GD model: x_1 = one gradient step on L(x) = 1/2||softmax(A x) - b||^2 from x_0 = 0 with a trained step
  eta (`attnbench.theory.softmax_regression.gradient_step`); prediction softmax(A_q x_1). Since b is in
  the simplex, x_1 = (eta/n) A^T (b - 1/n).
* SA model: one softmax attention whose keys are the rows of A_q and whose query is a learned linear
  read-out of the context tokens (a_j, b_j): q = nu (W_b A^T b + W_1 A^T 1/n); prediction
  softmax(A_q q). With W_b = -W_1 = (eta / (n nu)) I it equals the GD model. The shared scale
  nu = (sqrt(n) + sqrt(d))^2 / R^2 makes the optimal parameters O(1).
* Metrics on a fixed test batch during training, named as in the paper: ``pred_diff`` = mean
  ||b_SA - b_GD||_2, ``model_diff`` = mean ||S_SA - S_GD||_F and ``model_cos`` = mean cosine of S_SA
  and S_GD, where S = d b_hat / d b restricted to perturbations of b that keep sum(b) = 1 (S P with
  P = I - 1 1^T / n).

The ``bounds`` rows measure the derived 1/2-Lipschitz shift bounds on random and adversarial (Adam-optimised)
perturbations and report the paper's factor M = n^{1.5} exp(10 R^2) beside the measured constant.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path

import matplotlib
import pandas as pd
import torch
from torch import nn

from attnbench.sweeps.experiments.base import Claim, Experiment, RunContext, Verdict, require
from attnbench.sweeps.plotting import save
from attnbench.tasks.softmax_regression import SoftmaxRegressionConfig, SoftmaxRegressionInstances, sample
from attnbench.theory.softmax_regression import (
    adversarial_data_shift_ratio,
    adversarial_weight_shift_ratio,
    data_shift_bound,
    gradient_step,
    log10_paper_constant,
    softmax_jacobian,
    softmax_prediction,
    weight_shift_bound,
)

matplotlib.use("Agg")
from matplotlib import pyplot as plt  # noqa: E402

BOUND_SLACK = 1e-9  # fp64 round-off allowance on a ratio that the derived bound caps at exactly 1


@dataclass
class SoftmaxRegressionParams:
    """Quick-profile sizes: ``rows_grid`` (n) x ``radius_grid`` (R) x ``seeds`` trainings of both models."""

    rows_grid: list[int] = field(default_factory=lambda: [10, 50])
    radius_grid: list[float] = field(default_factory=lambda: [1.0, 4.0])
    dim: int = 5
    seeds: int = 2
    steps: int = 200
    eval_every: int = 25
    batch_size: int = 64
    test_size: int = 256
    learning_rate: float = 0.05
    bound_trials: int = 200
    adversarial_starts: int = 2
    adversarial_steps: int = 60
    shift_radius: float = 0.1

    def __post_init__(self) -> None:
        for key in (
            "dim",
            "seeds",
            "steps",
            "eval_every",
            "batch_size",
            "test_size",
            "bound_trials",
            "adversarial_starts",
            "adversarial_steps",
        ):
            require(int(getattr(self, key)) >= 1, key, "must be a positive integer")
        require(
            len(self.rows_grid) >= 1 and all(n >= 2 for n in self.rows_grid),
            "rows_grid",
            "must be a non-empty list of integers >= 2",
        )
        require(
            len(self.radius_grid) >= 1 and all(r > 0 for r in self.radius_grid),
            "radius_grid",
            "must be a non-empty list of positive radii",
        )
        require(
            self.learning_rate > 0 and self.shift_radius > 0,
            "learning_rate",
            "learning_rate and shift_radius must be > 0",
        )


def _scale(config: SoftmaxRegressionConfig) -> float:
    return (math.sqrt(config.rows) + math.sqrt(config.dim)) ** 2 / config.radius**2


class OneStepGD(nn.Module):
    """softmax(A_q x_1), x_1 = x_0 - eta grad L(x_0) on the context (A, b), x_0 = 0, eta = n nu gamma."""

    def __init__(self, config: SoftmaxRegressionConfig) -> None:
        super().__init__()
        self.unit = config.rows * _scale(config)
        self.gamma = nn.Parameter(torch.tensor(0.1, dtype=torch.float64))

    def forward(self, matrix: torch.Tensor, target: torch.Tensor, query_matrix: torch.Tensor) -> torch.Tensor:
        """Predicted b_q, shaped (B, n)."""
        start = torch.zeros(matrix.shape[0], matrix.shape[-1], dtype=matrix.dtype)
        return softmax_prediction(query_matrix, gradient_step(matrix, start, target, self.unit * self.gamma))

    def sensitivity(self, matrix: torch.Tensor, target: torch.Tensor, query_matrix: torch.Tensor) -> torch.Tensor:
        """d b_hat / d b = J(b_hat) A_q eta A^T J(f_0), f_0 = 1/n, shaped (B, n, n)."""
        uniform = torch.full_like(target, 1.0 / target.shape[-1])
        inner = self.unit * self.gamma * matrix.transpose(-1, -2) @ softmax_jacobian(uniform)
        prediction = self(matrix, target, query_matrix)
        return softmax_jacobian(prediction) @ query_matrix @ inner


class SingleSoftmaxAttention(nn.Module):
    """softmax over the rows of A_q of the scores A_q q, with query q = nu (W_b A^T b + W_1 A^T 1/n)."""

    def __init__(self, config: SoftmaxRegressionConfig, generator: torch.Generator) -> None:
        super().__init__()
        self.scale = _scale(config)
        shape = (config.dim, config.dim)
        init = 1.0 / math.sqrt(config.dim)
        self.weighted = nn.Parameter(init * torch.randn(shape, generator=generator, dtype=torch.float64))
        self.mean = nn.Parameter(init * torch.randn(shape, generator=generator, dtype=torch.float64))

    def forward(self, matrix: torch.Tensor, target: torch.Tensor, query_matrix: torch.Tensor) -> torch.Tensor:
        """Predicted b_q, shaped (B, n)."""
        weighted = (matrix.transpose(-1, -2) @ target.unsqueeze(-1)).squeeze(-1)
        average = matrix.mean(dim=-2)
        query = self.scale * (weighted @ self.weighted.T + average @ self.mean.T)
        return softmax_prediction(query_matrix, query)

    def sensitivity(self, matrix: torch.Tensor, target: torch.Tensor, query_matrix: torch.Tensor) -> torch.Tensor:
        """d b_hat / d b = J(b_hat) A_q nu W_b A^T, shaped (B, n, n)."""
        prediction = self(matrix, target, query_matrix)
        return softmax_jacobian(prediction) @ query_matrix @ (self.scale * self.weighted) @ matrix.transpose(-1, -2)


def _predict(model: nn.Module, data: SoftmaxRegressionInstances) -> torch.Tensor:
    return model(data.matrix, data.target, data.query_matrix)


def _loss(model: nn.Module, data: SoftmaxRegressionInstances) -> torch.Tensor:
    return 0.5 * ((_predict(model, data) - data.query_target) ** 2).sum(-1).mean()


def sensitivity(model: OneStepGD | SingleSoftmaxAttention, data: SoftmaxRegressionInstances) -> torch.Tensor:
    """S P: closed-form d b_hat / d b per instance (B, n, n), on sum-preserving shifts of b."""
    jacobian = model.sensitivity(data.matrix, data.target, data.query_matrix)
    rows = data.target.shape[-1]
    return jacobian @ (torch.eye(rows, dtype=jacobian.dtype) - 1.0 / rows)


@torch.no_grad()
def _comparison(
    attention: SingleSoftmaxAttention, descent: OneStepGD, test: SoftmaxRegressionInstances
) -> dict[str, float]:
    pred_diff = (_predict(attention, test) - _predict(descent, test)).norm(dim=-1).mean()
    loss_sa, loss_gd = _loss(attention, test), _loss(descent, test)
    left, right = sensitivity(attention, test).flatten(1), sensitivity(descent, test).flatten(1)
    cosine = (left * right).sum(-1) / (left.norm(dim=-1) * right.norm(dim=-1))
    return {
        "loss_sa": float(loss_sa),
        "loss_gd": float(loss_gd),
        "pred_diff": float(pred_diff),
        "model_diff": float((left - right).norm(dim=-1).mean()),
        "model_cos": float(cosine.mean()),
    }


def _training_rows(params: SoftmaxRegressionParams, rows: int, radius: float, seed: int) -> list[dict]:
    config = SoftmaxRegressionConfig(rows=rows, dim=params.dim, radius=radius, batch_size=params.batch_size)
    test = sample(
        SoftmaxRegressionConfig(rows=rows, dim=params.dim, radius=radius, batch_size=params.test_size),
        "test",
        seed,
    )
    attention = SingleSoftmaxAttention(config, torch.Generator().manual_seed(seed))
    descent = OneStepGD(config)
    optimisers = [torch.optim.Adam(m.parameters(), lr=params.learning_rate) for m in (attention, descent)]
    records = []
    for step in range(params.steps + 1):
        if step % params.eval_every == 0 or step == params.steps:
            for metric, value in _comparison(attention, descent, test).items():
                records.append(
                    {
                        "section": "icl",
                        "metric": metric,
                        "value": value,
                        "predicted": math.nan,
                        "step": step,
                        "seed": seed,
                        "rows": rows,
                        "radius": radius,
                    }
                )
        if step == params.steps:
            break
        batch = sample(config, "train", seed * params.steps + step)
        for model, optimiser in zip((attention, descent), optimisers, strict=True):
            optimiser.zero_grad()
            _loss(model, batch).backward()
            optimiser.step()
    return records


def _bound_rows(params: SoftmaxRegressionParams, rows: int, radius: float, seed: int) -> list[dict]:
    config = SoftmaxRegressionConfig(rows=rows, dim=params.dim, radius=radius, batch_size=params.bound_trials)
    data = sample(config, "val", seed)
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
            search(data.matrix[i], data.x_star[i], params.shift_radius, generator=generator,
                   steps=params.adversarial_steps)
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
    records = [
        {
            "section": "bounds",
            "metric": metric,
            "value": value,
            "predicted": predicted.get(metric, 1.0),
            "step": 0,
            "seed": seed,
            "rows": rows,
            "radius": radius,
        }
        for metric, value in values.items()
    ]
    records.append(
        {
            "section": "bounds",
            "metric": "log10_paper_constant",
            "value": log10_paper_constant(rows, radius),
            "predicted": math.nan,
            "step": 0,
            "seed": seed,
            "rows": rows,
            "radius": radius,
        }
    )
    return records


def run(params: SoftmaxRegressionParams, ctx: RunContext) -> pd.DataFrame:
    """Train both models on every (n, R, seed) and measure the shift bounds; fp64 throughout."""
    records: list[dict] = []
    for seed in range(ctx.seed, ctx.seed + params.seeds):
        for rows in params.rows_grid:
            for radius in params.radius_grid:
                records.extend(_training_rows(params, rows, radius, seed))
                records.extend(_bound_rows(params, rows, radius, seed))
        ctx.log(f"softmax_regression: seed {seed} done")
    return pd.DataFrame(records)


def _icl(table: pd.DataFrame, metric: str) -> pd.DataFrame:
    rows = table[(table.section == "icl") & (table.metric == metric)]
    return rows.groupby(["rows", "radius", "step"]).value.mean().unstack("step")


def check_icl_trend(table: pd.DataFrame) -> Verdict:
    """For every (n, R): model cosine rises, prediction / model differences fall (seed means)."""
    cosine, pred_diff, model_diff = (
        _icl(table, "model_cos"),
        _icl(table, "pred_diff"),
        _icl(table, "model_diff"),
    )
    first, last = cosine.columns[0], cosine.columns[-1]
    ok = bool(
        (cosine[last] > cosine[first]).all()
        and (pred_diff[last] < pred_diff[first]).all()
        and (model_diff[last] < model_diff[first]).all()
    )
    cells = "; ".join(
        f"n={int(n)},R={r:g}: cos {cosine.loc[(n, r), first]:.2f}->{cosine.loc[(n, r), last]:.3f}, "
        f"pred diff {pred_diff.loc[(n, r), first]:.2e}->{pred_diff.loc[(n, r), last]:.2e}"
        for n, r in cosine.index
    )
    return Verdict(
        "pass" if ok else "fail",
        "cos rises, diffs fall (qualitative; paper protocol [not found])",
        cells,
        "direction only, every (n, R)",
    )


def _bound_check(table: pd.DataFrame, metrics: tuple[str, ...]) -> Verdict:
    rows = table[(table.section == "bounds") & table.metric.isin(metrics)]
    worst = float(rows.value.max())
    ok = worst <= 1.0 + BOUND_SLACK
    by_metric = rows.groupby("metric").value.max()
    return Verdict(
        "pass" if ok else "fail",
        "ratio to the derived bound <= 1",
        ", ".join(f"{m}: {v:.3f}" for m, v in by_metric.items()),
        f"≤ 1 + {BOUND_SLACK:g}",
    )


def check_weight_shift(table: pd.DataFrame) -> Verdict:
    """||f(A x') - f(A x)|| <= 1/2 ||A|| ||x' - x|| on random and adversarial perturbations."""
    return _bound_check(table, ("weight_shift_ratio_random", "weight_shift_ratio_adversarial"))


def check_data_shift(table: pd.DataFrame) -> Verdict:
    """||f(A' x) - f(A x)|| <= 1/2 ||A' - A|| ||x|| on random and adversarial perturbations."""
    return _bound_check(table, ("data_shift_ratio_random", "data_shift_ratio_adversarial"))


def check_paper_constant(table: pd.DataFrame) -> Verdict:
    """The measured weight-shift constant sits far below the paper's M = n^{1.5} exp(10 R^2)."""
    rows = table[table.section == "bounds"]
    measured = rows[rows.metric == "weight_shift_constant"].groupby(["rows", "radius"]).value.max()
    paper = rows[rows.metric == "log10_paper_constant"].groupby(["rows", "radius"]).value.max()
    slack = paper - measured.apply(math.log10)
    ok = bool((slack > 0).all())
    return Verdict(
        "pass" if ok else "fail",
        "measured constant <= M (implied by the derived bound R/2 <= M)",
        "; ".join(f"n={int(n)},R={r:g}: {measured[(n, r)]:.3f} vs M=1e{paper[(n, r)]:.1f}" for n, r in measured.index),
        f"slack ≥ 10^{slack.min():.1f}",
    )


def draw(table: pd.DataFrame, out_dir: Path) -> list[Path]:
    """ICL metrics vs training step for every (n, R); measured shift constants beside R/2 and M."""
    metrics = ("loss_sa", "loss_gd", "pred_diff", "model_diff", "model_cos")
    figure, axes = plt.subplots(1, len(metrics) + 1, figsize=(4 * (len(metrics) + 1), 3.6))
    for axis, metric in zip(axes, metrics, strict=False):
        curves = _icl(table, metric)
        for (rows, radius), curve in curves.iterrows():
            axis.plot(curve.index, curve.values, label=f"n={int(rows)}, R={radius:g}")
        axis.set(xlabel="training step", title=metric, yscale="linear" if metric == "model_cos" else "log")
    axes[0].legend(fontsize=6)
    bounds = table[table.section == "bounds"]
    measured = bounds[bounds.metric == "weight_shift_constant"].groupby(["rows", "radius"])[["value", "predicted"]]
    summary = measured.max().reset_index()
    paper = bounds[bounds.metric == "log10_paper_constant"].groupby(["rows", "radius"]).value.max().values
    labels = [f"n={int(n)},R={r:g}" for n, r in zip(summary.rows, summary.radius, strict=True)]
    positions = range(len(labels))
    axes[-1].semilogy(positions, summary.value, "o", label="measured constant")
    axes[-1].semilogy(positions, summary.predicted, "k_", label="R/2 (derived bound)")
    axes[-1].semilogy(positions, 10.0**paper, "r^", label="n^1.5 e^{10R^2} (paper)")
    axes[-1].set_xticks(list(positions), labels, rotation=90, fontsize=6)
    axes[-1].legend(fontsize=6)
    axes[-1].set(title="weight-shift constant")
    return [save(figure, out_dir, "softmax_regression.png")]


FIGURE = "softmax_regression/softmax_regression.png"

EXPERIMENT = Experiment(
    name="softmax_regression",
    description="ICL vs one GD step for softmax regression (Li, Song et al. 2023): trends and shift bounds",
    params=SoftmaxRegressionParams,
    run=run,
    claims=(
        Claim(
            "softmax_regression.icl_vs_gd_trend",
            "trained softmax attention approaches one-step GD: model cos rises, pred/model diffs fall",
            "Li et al. 2023 (experiment captions, qualitative; our protocol)",
            check_icl_trend,
            FIGURE,
        ),
        Claim(
            "softmax_regression.weight_shift_bound",
            "||Δf|| <= 1/2 ||A|| ||Δx|| (random + adversarial)",
            "derived (implies Li et al. 2023 Thm 5.2-type bound)",
            check_weight_shift,
            FIGURE,
        ),
        Claim(
            "softmax_regression.data_shift_bound",
            "||Δf|| <= 1/2 ||ΔA|| ||x|| (random + adversarial)",
            "derived (implies Li et al. 2023 Thm 5.1-type bound)",
            check_data_shift,
        ),
        Claim(
            "softmax_regression.paper_constant_slack",
            "measured shift constant vs the paper's M = n^1.5 exp(10 R^2)",
            "Li et al. 2023 (M via secondary sources) vs measurement",
            check_paper_constant,
            FIGURE,
        ),
    ),
    draw=draw,
    paper={
        "rows_grid": [25, 200],
        "dim": 20,
        "seeds": 5,
        "steps": 2000,
        "test_size": 1024,
        "radius_grid": [1.0, 2.0, 4.0],
        "adversarial_starts": 10,
        "adversarial_steps": 300,
    },
)
