"""Infinite-head limit of random-feature attention: its exact kernel and kernel ridge (derived; notes D2).

Fu, Guo, Bai & Mei (NeurIPS 2023, arXiv 2307.11353) study the layer of
`attnbench.models.random_feature_attention`. Its theorem constants are [not found]; what is computed here
follows from the model's definition alone:

* For zero-mean W with i.i.d. N(0, std^2) entries and ReLU, E_W[relu(<W, a>) relu(<W, b>)] is the degree-1
  arc-cosine kernel (Cho & Saul 2009): std^2 |a||b| (sin t + (pi - t) cos t) / (2 pi), cos t = <a,b>/(|a||b|).
  With a = vec(x~_0 x~_i^T), b = vec(x~'_0 x~'_j^T) one has <a, b> = <x~_0, x~'_0><x~_i, x~'_j>, so the
  infinite-head kernel of the layer is

      K(X, X') = (1/N^2) sum_{i,j} kappa(x~_0 x~_i^T, x~'_0 x~'_j^T) <x~_i, x~'_j>,

  and ridge on V with M heads converges to kernel ridge with K as M -> infinity.

The RF-MLP baseline the experiments compare it with is a model (`attnbench.models.random_feature_attention`).

With the heads frozen the layer is linear in its values, so full-batch gradient descent on the ridge objective has a
closed-form trajectory (`gradient_descent_trajectory`, derived).
"""

from __future__ import annotations

import math

import torch
from torch.nn import functional as F

KERNEL_CHUNK = 64


def arc_cosine(inner: torch.Tensor, norm_product: torch.Tensor, std: float) -> torch.Tensor:
    """E_{w ~ N(0, std^2 I)}[relu(<w,a>) relu(<w,b>)] from <a,b> and |a||b| (degree-1 arc-cosine kernel)."""
    cosine = (inner / norm_product).clamp(-1.0, 1.0)
    angle = torch.arccos(cosine)
    return std**2 * norm_product * (torch.sin(angle) + (math.pi - angle) * cosine) / (2.0 * math.pi)


def rfa_kernel(inputs: torch.Tensor, others: torch.Tensor, std: float = 1.0) -> torch.Tensor:
    """The exact infinite-head kernel K(X, X') of zero-mean random-feature attention, shaped (n, n'), fp64.

    ``inputs`` (n, 1 + N, d) and ``others`` (n', 1 + N', d) hold the query then the keys. Derived from the
    model definition (module docstring); this is lim_{M -> inf} Phi(X) Phi(X')^T for W_m with mean 0.
    """
    left, right = (F.pad(x.to(torch.float64), (0, 1), value=1.0) for x in (inputs, others))  # x~ = [x; 1]
    rows = []
    for start in range(0, left.shape[0], KERNEL_CHUNK):
        block = left[start : start + KERNEL_CHUNK]
        query_inner = block[:, 0] @ right[:, 0].T  # (b, n')
        key_inner = torch.einsum("aip,bjp->abij", block[:, 1:], right[:, 1:])  # (b, n', N, N')
        block_norms = block[:, 0].norm(dim=-1)[:, None, None] * block[:, 1:].norm(dim=-1)[:, :, None]
        right_norms = right[:, 0].norm(dim=-1)[:, None, None] * right[:, 1:].norm(dim=-1)[:, None, :]
        norm_product = block_norms[:, None, :, :] * right_norms[None, :, :, :]  # (b, n', N, N')
        kappa = arc_cosine(query_inner[:, :, None, None] * key_inner, norm_product, std)
        rows.append((kappa * key_inner).mean(dim=(-1, -2)))
    return torch.cat(rows)


def kernel_ridge_predict(
    train_inputs: torch.Tensor,
    train_targets: torch.Tensor,
    test_inputs: torch.Tensor,
    ridge: float,
    std: float = 1.0,
) -> torch.Tensor:
    """The M -> infinity limit of the layer's ridge predictor: K_test (K + n ridge I)^{-1} y."""
    if ridge <= 0:
        raise ValueError(f"ridge must be > 0, got {ridge}")
    count = train_inputs.shape[0]
    gram = rfa_kernel(train_inputs, train_inputs, std) + count * ridge * torch.eye(count, dtype=torch.float64)
    coefficients = torch.linalg.solve(gram, train_targets.to(torch.float64))
    return rfa_kernel(test_inputs, train_inputs, std) @ coefficients


def gradient_descent_trajectory(
    features: torch.Tensor, targets: torch.Tensor, ridge: float, step: float, steps: list[int]
) -> torch.Tensor:
    """The iterates v_t (t in ``steps``) of full-batch GD from v = 0 with step size ``step`` on the ridge objective
    (1/n) ||Phi v - y||^2 + ridge ||v||^2 of fixed features Phi (derived).

    The gradient 2(H v - b), H = Phi^T Phi / n + ridge I, b = Phi^T y / n, is linear in v, so v_{t+1} - v* =
    (I - 2 step H)(v_t - v*) with v* = H^{-1} b, and from v_0 = 0, in the eigenbasis H = Q diag(mu) Q^T,

        v_t = Q diag((1 - (1 - 2 step mu_i)^t) / mu_i) Q^T b.

    Shaped (len(steps), p).
    """
    count, width = features.shape
    hessian = features.T @ features / count + ridge * torch.eye(width, dtype=features.dtype)
    mu, basis = torch.linalg.eigh(hessian)
    along = basis.T @ (features.T @ targets / count)
    times = torch.tensor(steps, dtype=features.dtype)[:, None]
    factors = (1 - (1 - 2 * step * mu)[None, :] ** times) / mu[None, :]
    return (factors * along[None, :]) @ basis.T
