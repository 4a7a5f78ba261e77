"""The ``gd`` study of rf_attention (Fu et al. 2023; notes D1): the values trained by full-batch gradient descent,
beside the closed-form trajectory of `attnbench.theory.random_features.gradient_descent_trajectory`.

With the heads frozen the layer is linear in its values, so its GD trajectory is known exactly: the train and test
risk of the iterates at every recorded step are measured by running the loop and predicted in closed form (one
eigendecomposition of the feature Gram matrix). Targets are centred by their training mean (an intercept), and risks
are normalised by the targets' variance, as in the other studies.
"""

from __future__ import annotations

import torch

from attnbench.models.random_feature_attention import rfa_features
from attnbench.sweeps.experiments.rf_attention.params import GDParams
from attnbench.sweeps.rows import Row, row
from attnbench.tasks.base import Batch
from attnbench.theory.random_features import gradient_descent_trajectory


def gradient_descent(
    features: torch.Tensor, targets: torch.Tensor, ridge: float, step: float, steps: list[int]
) -> torch.Tensor:
    """The iterates at ``steps`` of full-batch GD from v = 0 on (1/n) ||Phi v - y||^2 + ridge ||v||^2."""
    count = features.shape[0]
    values = torch.zeros(features.shape[1], dtype=features.dtype)
    recorded = []
    for t in range(max(steps) + 1):
        if t in steps:
            recorded.append(values.clone())
        gradient = 2.0 * features.T @ (features @ values - targets) / count + 2.0 * ridge * values
        values = values - step * gradient
    return torch.stack(recorded)


def _risks(values: torch.Tensor, features: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    """Normalised mean squared error of every iterate (a row of ``values``) on (features, targets)."""
    return ((values @ features.T - targets) ** 2).mean(dim=1) / targets.var()


def gd_rows(params: GDParams, train: Batch, test: Batch, weights: torch.Tensor, seed: int) -> list[Row]:
    """Measured and closed-form train and test risk of GD on the values, at every recorded step (one seed)."""
    features, test_features = rfa_features(train.inputs, weights), rfa_features(test.inputs, weights)
    offset = train.targets.mean()
    centred, test_centred = train.targets - offset, test.targets - offset
    top = torch.linalg.matrix_norm(features, ord=2) ** 2 / features.shape[0]
    step = float(params.step_fraction / (2.0 * (top + params.ridge)))  # a fraction of 1/L, L the gradient's Lipschitz
    steps = list(range(0, params.steps + 1, params.record_every))
    measured = gradient_descent(features, centred, params.ridge, step, steps)
    predicted = gradient_descent_trajectory(features, centred, params.ridge, step, steps)
    rows: list[Row] = []
    for name, x, y in (("gd_train_risk", features, centred), ("gd_test_risk", test_features, test_centred)):
        for t, value, expected in zip(steps, _risks(measured, x, y), _risks(predicted, x, y), strict=True):
            rows.append(row(name, value, predicted=expected, step=t, seed=seed, heads=params.heads))
    return rows
