"""Random-feature attention: M heads with frozen random query-key matrices and trained values.

Fu, Guo, Bai & Mei (NeurIPS 2023), "What can a Single Attention Layer Learn? A Study Through the Random
Features Lens" (arXiv 2307.11353). The abstract fixes the architecture's shape (many heads, random frozen
query-key matrices W_m, trained value matrices, permutation invariance in the keys); the exact form below is
our restatement (notes D1, tagged [unverified] there), so every property we test is derived from it:

    f_M(x_{0:N}; V) = (1/sqrt(M)) sum_{m=1}^M (1/N) sum_{i=1}^N relu(x~_0^T W_m x~_i) <v_m, x~_i>,

with x~ = [x; 1] (a bias coordinate), W_m = mean * blockdiag(I_d, 0) + std * G_m and G_m i.i.d. standard
Gaussian (D x D, D = d + 1). The ReLU divided by the sequence length is the activation of the paper (also
named by Wortsman et al. 2023). The 1/sqrt(M) makes the feature Gram matrix converge to the kernel of
`attnbench.theory.random_features.rfa_kernel` as M grows. Token 0 of every input sequence is the query x_0,
tokens 1..N are the keys.

The values are fitted by ridge regression on the features in closed form (`ridge_fit`), the minimiser of
(1/n) ||Phi v - y||^2 + ridge ||v||^2; gradient descent on the same objective is trained (and its closed-form
trajectory predicted) in the rf_attention experiment's ``gd`` study, not here: a model never trains itself.

The RF-MLP baseline the paper compares against (its abstract; its exact form is ours) is a two-layer
random-feature ReLU network on the concatenated input z = [x_0; x_1; ...; x_N; 1] with ``features`` frozen
Gaussian first-layer features, its output layer fitted by the same `ridge_fit` (`rf_mlp_ridge_predict`).
"""

from __future__ import annotations

import math

import torch
from torch import nn


def augment(tokens: torch.Tensor) -> torch.Tensor:
    """x~ = [x; 1]: append a constant bias coordinate to the last axis."""
    return torch.cat([tokens, torch.ones_like(tokens[..., :1])], dim=-1)


def sample_head_weights(dim: int, heads: int, *, mean: float, std: float, generator: torch.Generator) -> torch.Tensor:
    """M frozen matrices W_m = mean * blockdiag(I_dim, 0) + std * G_m, shaped (heads, dim + 1, dim + 1), fp64.

    ``mean`` != 0 is the paper's non-zero-mean sampling (its exact W_0 is [not found]; we use a multiple of
    the identity on the x-block, as the notes recall).
    """
    if dim < 1 or heads < 1:
        raise ValueError(f"dim and heads must be >= 1, got dim={dim}, heads={heads}")
    if std < 0:
        raise ValueError(f"std must be >= 0, got {std}")
    width = dim + 1
    noise = torch.randn(heads, width, width, generator=generator, dtype=torch.float64)
    centre = torch.zeros(width, width, dtype=torch.float64)
    centre[:dim, :dim] = torch.eye(dim, dtype=torch.float64)
    return mean * centre + std * noise


def rfa_features(inputs: torch.Tensor, weights: torch.Tensor) -> torch.Tensor:
    """The random features Phi(X), shaped (batch, heads * (dim + 1)).

    ``inputs`` is (batch, 1 + N, dim): the query x_0 then the N keys. Head m contributes the (dim + 1)-vector
    (1/sqrt(M)) (1/N) sum_i relu(x~_0^T W_m x~_i) x~_i, so f_M = Phi(X) @ vec(V).
    """
    if inputs.ndim != 3 or inputs.shape[1] < 2:
        raise ValueError(f"inputs must be (batch, 1 + N, dim) with N >= 1, got {tuple(inputs.shape)}")
    heads, width, _ = weights.shape
    if inputs.shape[-1] + 1 != width:
        raise ValueError(f"inputs have dim {inputs.shape[-1]} but the weights expect dim {width - 1}")
    tokens = augment(inputs.to(weights.dtype))
    query, keys = tokens[:, 0], tokens[:, 1:]
    scores = torch.einsum("bp,mpq,bnq->bmn", query, weights, keys)
    activation = torch.relu(scores) / keys.shape[1]
    features = torch.einsum("bmn,bnq->bmq", activation, keys) / math.sqrt(heads)
    return features.reshape(inputs.shape[0], heads * width)


def ridge_fit(features: torch.Tensor, targets: torch.Tensor, ridge: float) -> torch.Tensor:
    """argmin_v (1/n)||Phi v - y||^2 + ridge ||v||^2 in closed form (primal or dual, whichever is smaller)."""
    if ridge <= 0:
        raise ValueError(f"ridge must be > 0, got {ridge}")
    count, width = features.shape
    if targets.shape != (count,):
        raise ValueError(f"targets must be ({count},), got {tuple(targets.shape)}")
    if width <= count:
        gram = features.T @ features + count * ridge * torch.eye(width, dtype=features.dtype)
        return torch.linalg.solve(gram, features.T @ targets)
    gram = features @ features.T + count * ridge * torch.eye(count, dtype=features.dtype)
    return features.T @ torch.linalg.solve(gram, targets)


class RandomFeatureAttention(nn.Module):
    """One attention layer: frozen random W_m (a buffer), trainable values V shaped (M, dim + 1)."""

    def __init__(
        self, dim: int, heads: int, *, mean: float = 0.0, std: float = 1.0, generator: torch.Generator
    ) -> None:
        super().__init__()
        self.register_buffer("weights", sample_head_weights(dim, heads, mean=mean, std=std, generator=generator))
        self.values = nn.Parameter(torch.zeros(heads, dim + 1, dtype=torch.float64))

    def features(self, inputs: torch.Tensor) -> torch.Tensor:
        """Phi(X) of `rfa_features` for this layer's frozen weights."""
        return rfa_features(inputs, self.weights)

    def forward(self, inputs: torch.Tensor) -> torch.Tensor:
        """f_M(X; V), shaped (batch,)."""
        return self.features(inputs) @ self.values.reshape(-1)

    def fit_ridge(self, inputs: torch.Tensor, targets: torch.Tensor, ridge: float) -> None:
        """Set V to the closed-form ridge solution on (inputs, targets)."""
        solution = ridge_fit(self.features(inputs), targets.to(torch.float64), ridge)
        with torch.no_grad():
            self.values.copy_(solution.reshape(self.values.shape))


# ------------------------------------------------------------------------------------- RF-MLP baseline


def sample_mlp_weights(input_width: int, features: int, *, std: float, generator: torch.Generator) -> torch.Tensor:
    """RF-MLP first-layer weights (input_width + 1, features), the last row the bias, fp64."""
    if features < 1:
        raise ValueError(f"features must be >= 1, got {features}")
    return std * torch.randn(input_width + 1, features, generator=generator, dtype=torch.float64)


def rf_mlp_features(inputs: torch.Tensor, weights: torch.Tensor) -> torch.Tensor:
    """relu(z~^T G) / sqrt(p) on the concatenated input z = vec(x_{0:N}), shaped (batch, p)."""
    flat = augment(inputs.to(torch.float64).reshape(inputs.shape[0], -1))
    if flat.shape[1] != weights.shape[0]:
        raise ValueError(f"concatenated input has width {flat.shape[1] - 1}, weights expect {weights.shape[0] - 1}")
    return torch.relu(flat @ weights) / math.sqrt(weights.shape[1])


def rf_mlp_ridge_predict(
    train_inputs: torch.Tensor,
    train_targets: torch.Tensor,
    test_inputs: torch.Tensor,
    *,
    features: int,
    ridge: float,
    generator: torch.Generator,
    std: float = 1.0,
) -> torch.Tensor:
    """Ridge predictor of the RF-MLP with ``features`` random ReLU features of the concatenated input."""
    width = train_inputs.shape[1] * train_inputs.shape[2]
    weights = sample_mlp_weights(width, features, std=std, generator=generator)
    values = ridge_fit(rf_mlp_features(train_inputs, weights), train_targets.to(torch.float64), ridge)
    return rf_mlp_features(test_inputs, weights) @ values
