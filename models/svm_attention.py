"""A single attention layer with a fixed head, trained as a batched ensemble (Tarzanagh et al. 2023).

f(X, z) = v^T X^T softmax(X W z)                       (linear head, "Transformers as SVMs", notes A1)
f(X, z) = 1^T ReLU(V^T X^T softmax(X W z))             (nonlinear head, notes A5 ``multi_token_converge``)
f(X)    = <X v, softmax(K p)>,  K = X key_map^T        (prompt attention, Max-Margin paper, notes A1)

W is trained either directly or as W = K Q^T (K, Q in R^{d x m}). Every tensor carries a leading run
axis R, so an ensemble of R independent runs is trained with one autograd call per step: the summed loss
of all runs has, for each run's parameters, exactly that run's gradient (``sweeps.training``).

Optimiser (notes A5): normalised GD (`NormalisedGD`: each parameter tensor of each run normalised
separately, eta = 0.1, float64), or plain GD (``torch.optim.SGD``). For (K, Q) the loss adds
lambda(||K||^2 + ||Q||^2) with lambda = float64 eps, as the official code does.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import torch
import torch.nn.functional as F

FP64_EPS = float(torch.finfo(torch.float64).eps)


def logistic_loss(u: torch.Tensor) -> torch.Tensor:
    """l(u) = log(1 + e^{-u}), the loss of the papers' experiments."""
    return F.softplus(-u)


def exponential_loss(u: torch.Tensor) -> torch.Tensor:
    """l(u) = e^{-u}."""
    return torch.exp(-u)


def correlation_loss(u: torch.Tensor) -> torch.Tensor:
    """l(u) = -u (compared with the logistic loss in the Max-Margin code ``diff_loss_function``)."""
    return -u


LOSSES: dict[str, Callable[[torch.Tensor], torch.Tensor]] = {
    "logistic": logistic_loss,
    "exponential": exponential_loss,
    "correlation": correlation_loss,
}


def attention_logits(X: torch.Tensor, W: torch.Tensor, z: torch.Tensor) -> torch.Tensor:
    """s-logits x_it^T W z_i: X (R,n,T,d), W (R,d,d), z (R,n,d) -> (R,n,T)."""
    return torch.einsum("rntd,rde,rne->rnt", X, W, z)


def attention_probs(X: torch.Tensor, W: torch.Tensor, z: torch.Tensor) -> torch.Tensor:
    """softmax over tokens of x_it^T W z_i, shape (R, n, T)."""
    return torch.softmax(attention_logits(X, W, z), dim=-1)


def linear_head_output(X: torch.Tensor, W: torch.Tensor, z: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
    """f_i = v^T X_i^T softmax(X_i W z_i), shape (R, n)."""
    return torch.einsum("rnt,rnt->rn", attention_probs(X, W, z), torch.einsum("rntd,rd->rnt", X, v))


def relu_head_output(X: torch.Tensor, W: torch.Tensor, z: torch.Tensor, V: torch.Tensor) -> torch.Tensor:
    """f_i = 1^T ReLU(V^T X_i^T softmax(X_i W z_i)) with V (R, d, h), shape (R, n)."""
    pooled = torch.einsum("rnt,rntd->rnd", attention_probs(X, W, z), X)
    return torch.relu(torch.einsum("rnd,rdh->rnh", pooled, V)).sum(-1)


def prompt_output(keys: torch.Tensor, X: torch.Tensor, p: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
    """f_i = <X_i v, softmax(K_i p)>: keys, X (R,n,T,d), p, v (R,d) -> (R, n)."""
    probs = torch.softmax(torch.einsum("rntd,rd->rnt", keys, p), dim=-1)
    return torch.einsum("rnt,rnt->rn", probs, torch.einsum("rntd,rd->rnt", X, v))


def default_linear_init(runs: int, rows: int, cols: int, fan_in: int, generator: torch.Generator) -> torch.Tensor:
    """U(-1/sqrt(fan_in), 1/sqrt(fan_in)) per entry, as torch's default ``nn.Linear`` init (notes A5)."""
    bound = 1.0 / math.sqrt(fan_in)
    return (torch.rand(runs, rows, cols, generator=generator, dtype=torch.float64) * 2 - 1) * bound


def key_query_product(K: torch.Tensor, Q: torch.Tensor) -> torch.Tensor:
    """W = K Q^T per run: (R,d,m) x (R,d,m) -> (R,d,d)."""
    return K @ Q.transpose(-1, -2)


class NormalisedGD(torch.optim.Optimizer):
    """P <- P - lr grad / (||grad||_F + eps), the norm taken per run over each tensor's non-leading axes.

    Every parameter carries a leading run axis, so each run of an ensemble is normalised on its own, exactly
    as the official code rescales ``.grad`` of a single run (notes A5). The eps matters: once the true
    gradient underflows far below eps the step shrinks to nothing, so the direction reached is kept instead
    of being driven by rounding noise of the softmax Jacobian.
    """

    def __init__(self, params: list[torch.Tensor], lr: float = 0.1, eps: float = FP64_EPS) -> None:
        if lr <= 0 or eps < 0:
            raise ValueError(f"need lr > 0 and eps >= 0, got lr={lr}, eps={eps}")
        super().__init__(params, {"lr": lr, "eps": eps})

    @torch.no_grad()
    def step(self, closure: None = None) -> None:
        for group in self.param_groups:
            for p in group["params"]:
                if p.grad is None:
                    continue
                norm = p.grad.flatten(1).norm(dim=1).view(-1, *([1] * (p.dim() - 1)))
                p.sub_(group["lr"] * p.grad / (norm + group["eps"]))


def mean_loss(outputs: torch.Tensor, Y: torch.Tensor, loss: str) -> torch.Tensor:
    """(1/n) sum_i l(Y_i f_i) per run, shape (R,)."""
    if loss not in LOSSES:
        raise ValueError(f"loss must be one of {sorted(LOSSES)}, got {loss!r}")
    return LOSSES[loss](Y * outputs).mean(-1)


def attention_run_losses(
    X: torch.Tensor,
    z: torch.Tensor,
    Y: torch.Tensor,
    v: torch.Tensor | None = None,
    V: torch.Tensor | None = None,
    loss: str = "logistic",
    kq_penalty: float = FP64_EPS,
) -> Callable[[dict[str, torch.Tensor]], torch.Tensor]:
    """The per-run empirical risk of the attention layer as a function of its parameters.

    Parameters are ``{"W"}`` or ``{"K", "Q"}`` (then W = K Q^T and lambda(||K||^2 + ||Q||^2) is added with
    lambda = ``kq_penalty``). Exactly one head: the linear ``v`` (R, d) or the ReLU head ``V`` (R, d, h).
    """
    if (v is None) == (V is None):
        raise ValueError("give exactly one head: the linear head v or the ReLU head V")

    def run_losses(params: dict[str, torch.Tensor]) -> torch.Tensor:
        if set(params) == {"W"}:
            W, penalty = params["W"], 0.0
        elif set(params) == {"K", "Q"}:
            K, Q = params["K"], params["Q"]
            W = key_query_product(K, Q)
            penalty = kq_penalty * (K.pow(2).sum((1, 2)) + Q.pow(2).sum((1, 2)))
        else:
            raise ValueError(f"parameters must be {{'W'}} or {{'K', 'Q'}}, got {sorted(params)}")
        out = linear_head_output(X, W, z, v) if v is not None else relu_head_output(X, W, z, V)
        return mean_loss(out, Y, loss) + penalty

    return run_losses


def prompt_run_losses(
    keys: torch.Tensor,
    X: torch.Tensor,
    Y: torch.Tensor,
    v: torch.Tensor | None = None,
    loss: str = "logistic",
) -> Callable[[dict[str, torch.Tensor]], torch.Tensor]:
    """Per-run risk of prompt attention; parameters ``{"p"}`` (head ``v`` fixed) or ``{"p", "v"}`` (joint)."""

    def run_losses(params: dict[str, torch.Tensor]) -> torch.Tensor:
        head = params["v"] if "v" in params else v
        if head is None:
            raise ValueError("the head v must be given or trained")
        return mean_loss(prompt_output(keys, X, params["p"], head), Y, loss)

    return run_losses


def correlation(A: torch.Tensor, B: torch.Tensor) -> torch.Tensor:
    """corr(A, B) = <A, B>_F / (||A||_F ||B||_F) over the last two axes (notes A3)."""
    num = (A * B).sum((-1, -2))
    return num / (A.norm(dim=(-1, -2)) * B.norm(dim=(-1, -2)))
