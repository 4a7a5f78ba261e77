"""Max-margin token selection data (Tarzanagh et al. 2023, "Transformers as SVMs", arXiv 2308.16898).

Each example i holds T unit-norm tokens ``X_i`` (rows x_it in R^d), a query ``z_i`` and a label Y_i = +-1;
one fixed head ``v`` is shared by all examples. The token score is gamma_it = Y_i v^T x_it and the
globally optimal token of example i is opt_i = argmax_t gamma_it (the oracle of this task).

The random instance follows the official code's generator (v, x_it, z_i Gaussian then normalised to unit
norm, Y uniform on +-1; notes A5); the sampling here is index-seeded (`tasks.base`), one index per run, so
an ensemble of R runs is the stack of indices 0..R-1 of a split (`sample_ensemble`).

Also the small hand-built instances of the Max-Margin paper's code (Tarzanagh et al. 2023a, arXiv
2306.13596, notebooks ``single_input_converge`` and ``joint_training``), expressed as prompt-attention
instances: attention logits k_it^T p with fixed keys k_it = key_map x_it, output <X_i v, softmax>.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import cast

import torch

from attnbench.errors import require
from attnbench.tasks.base import Batch, Split, TaskConfig, stack_batches, torch_generator


@dataclass(frozen=True)
class TokenSelectionData(Batch):
    """Tokens ``inputs`` = X (..., n, T, d), labels ``targets`` = Y (..., n) (every example scored), queries
    ``z`` (..., n, d) and head ``v`` (..., d).

    Leading axes (a run axis for ensembles) are shared by all the tensors.
    """

    z: torch.Tensor
    v: torch.Tensor


@dataclass(frozen=True)
class TokenSelectionConfig(TaskConfig):
    """Sizes of one instance: ``n`` examples of ``T`` tokens in R^``d``.

    ``self_attention``: the query is the first token (z_i = x_i1) instead of a separate random unit vector.
    """

    n: int = 6
    T: int = 8
    d: int = 10
    self_attention: bool = False

    def __post_init__(self) -> None:
        for key in ("n", "T", "d"):
            require(int(getattr(self, key)) >= 1, key, f"must be a positive integer, got {getattr(self, key)}")
        require(self.T >= 2, "T", f"must be >= 2 (a token must be selected among several), got {self.T}")

    def sample(self, split: Split, index: int) -> TokenSelectionData:
        """One random instance (float64), a pure function of (config, split, index)."""
        gen = torch_generator(self, split, index)
        n, T, d = self.n, self.T, self.d
        v = _unit_rows(torch.randn(d, generator=gen, dtype=torch.float64))
        Y = torch.randint(0, 2, (n,), generator=gen).to(torch.float64) * 2 - 1
        X = _unit_rows(torch.randn(n, T, d, generator=gen, dtype=torch.float64))
        z = _unit_rows(torch.randn(n, d, generator=gen, dtype=torch.float64))
        if self.self_attention:
            z = X[:, 0, :].clone()
        return TokenSelectionData(inputs=X, targets=Y, loss_mask=torch.ones_like(Y, dtype=torch.bool), z=z, v=v)

    def oracle(self, batch: Batch) -> torch.Tensor:
        """The optimal token selection opt_i = argmax_t Y_i v^T x_it, shaped (..., n) (`optimal_tokens`).

        The labels Y are part of the selection problem (the scores are defined by them); the answer, the
        selected token, is not stored in the batch. Raises where a maximum is tied.
        """
        if not isinstance(batch, TokenSelectionData):
            raise TypeError(f"the oracle needs TokenSelectionData (it reads the head v), got {type(batch).__name__}")
        return optimal_tokens(batch.inputs, batch.targets, batch.v)


def _unit_rows(x: torch.Tensor) -> torch.Tensor:
    return x / x.norm(dim=-1, keepdim=True)


def sample_ensemble(config: TokenSelectionConfig, split: Split, runs: int, first: int = 0) -> TokenSelectionData:
    """Instances ``first .. first+runs-1`` stacked on a leading run axis."""
    require(runs >= 1, "runs", f"must be >= 1, got {runs}")
    return cast(TokenSelectionData, stack_batches([config.sample(split, first + r) for r in range(runs)]))


def token_scores(X: torch.Tensor, Y: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
    """gamma_it = Y_i v^T x_it, shape (..., n, T) (notes A2)."""
    return Y.unsqueeze(-1) * torch.einsum("...ntd,...d->...nt", X, v)


def unique_optimum(X: torch.Tensor, Y: torch.Tensor, v: torch.Tensor, gap: float = 1e-12) -> torch.Tensor:
    """Boolean (...,): True where every example's top score beats its runner-up by more than ``gap``.

    Ties happen, e.g., at d = 1, where unit-norm tokens are +-1.
    """
    top2 = token_scores(X, Y, v).topk(2, dim=-1).values
    return (top2[..., 0] - top2[..., 1] > gap).all(dim=-1)


def optimal_tokens(X: torch.Tensor, Y: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
    """opt_i = argmax_t gamma_it, shape (..., n). Raises if a maximum is tied (opt not unique)."""
    if not bool(unique_optimum(X, Y, v).all()):
        raise ValueError("the optimal token is not unique for some example (tied top scores)")
    return token_scores(X, Y, v).argmax(dim=-1)


@dataclass(frozen=True)
class PromptInstance:
    """A prompt-attention instance f_i = <X_i v, softmax(K_i p)> with keys K_i = X_i key_map^T.

    ``X`` (n, T, d), ``Y`` (n,), ``v`` (d,) the head (initial value when it is trained jointly),
    ``key_map`` (d, d) the fixed key-query matrix, ``p0`` optional initial prompts (m, d).
    """

    X: torch.Tensor
    Y: torch.Tensor
    v: torch.Tensor
    key_map: torch.Tensor

    @property
    def keys(self) -> torch.Tensor:
        return self.X @ self.key_map.T


def _t(rows: list) -> torch.Tensor:
    return torch.tensor(rows, dtype=torch.float64)


def single_input_instance(third_token_score: float) -> PromptInstance:
    """The single-input global/local example (Max-Margin code ``single_input_converge``; notes A2).

    Attention sees coordinates 1-2 (key_map = diag(1,1,0)); the head v = e_3 reads coordinate 3, the score.
    Tokens (-0.1, 1 | 1), (1, 0 | 0.9), (0, 0 | ``third_token_score``). With score 0 token 2 is a locally
    optimal selection (its only support token, (0,0), scores lower); with 0.9 it is not.
    """
    X = _t([[[-0.1, 1.0, 1.0], [1.0, 0.0, 0.9], [0.0, 0.0, third_token_score]]])
    return PromptInstance(X=X, Y=_t([1.0]), v=_t([0.0, 0.0, 1.0]), key_map=torch.diag(_t([1.0, 1.0, 0.0])))


def joint_training_instance(relaxed: bool) -> PromptInstance:
    """The joint (v, p) example (Max-Margin code ``joint_training``; notes A4).

    n=3, T=2, d=2, key_map = I, Y = (1, -1, 1); tokens {(0,0),(1,1)}, {(0,0),(1,-1)}, {(0,0),(0.5,1)}
    (``relaxed``: (0.5, 1.5), which makes input 3 a non-support vector of the v-SVM). ``v`` holds the
    initial head v(0) = (-1, 0).
    """
    third = [0.5, 1.5] if relaxed else [0.5, 1.0]
    X = _t([[[0.0, 0.0], [1.0, 1.0]], [[0.0, 0.0], [1.0, -1.0]], [[0.0, 0.0], third]])
    return PromptInstance(X=X, Y=_t([1.0, -1.0, 1.0]), v=_t([-1.0, 0.0]), key_map=torch.eye(2, dtype=torch.float64))
