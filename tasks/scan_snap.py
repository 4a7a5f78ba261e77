"""Scan and Snap sequence classes (Tian, Wang, Chen, Du 2023, Sec 3.2).

Each class n has a query ("last") token ψ(n) and a label ("next") token y(n). The T−1 contextual tokens of
a class-n sequence are drawn iid from P(l|n); the query is appended last and the model predicts y(n).
Tokens shared by several classes are *common* (CT), tokens seen by one class only are *distinct* (DT).

Vocabulary layout (the same as the authors' ``Dataset2``, re-derived from the paper's description):
``[common | distinct of class 0 | distinct of class 1 | ... | queries | labels]``, so
M = C + K·D + Q + K with K = Q · classes_per_query. Unnormalised probabilities: each common token
``common_weight``, the D distinct tokens of a class ``linspace(distinct_min, distinct_max, D)``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from attnbench.errors import require
from attnbench.tasks.base import Batch, Split, TaskConfig, torch_generator


@dataclass(frozen=True)
class ScanSnapConfig(TaskConfig):
    """The sequence-class data model. ``stream`` separates independent streams (one per ensemble member)."""

    num_common: int = 10
    distinct_per_class: int = 10
    num_queries: int = 1
    classes_per_query: int = 2
    seq_len: int = 128
    batch_size: int = 128
    common_weight: float = 1.0
    distinct_min: float = 0.1
    distinct_max: float = 1.0
    stream: int = 0

    def __post_init__(self) -> None:
        checks = {
            "num_common": self.num_common >= 0,
            "distinct_per_class": self.distinct_per_class >= 1,
            "num_queries": self.num_queries >= 1,
            "classes_per_query": self.classes_per_query >= 1,
            "seq_len": self.seq_len >= 2,
            "batch_size": self.batch_size >= 1,
            "common_weight": self.common_weight > 0,
            "distinct_min": 0 < self.distinct_min <= self.distinct_max,
        }
        for key, ok in checks.items():
            require(
                ok,
                key,
                "is invalid: counts must be >= 1 (num_common >= 0, seq_len >= 2), weights > 0 and"
                f" 0 < distinct_min <= distinct_max; got {getattr(self, key)!r}",
            )

    @property
    def num_classes(self) -> int:
        """K = number of (query, label) classes."""
        return self.num_queries * self.classes_per_query

    @property
    def vocab_size(self) -> int:
        """M = common + distinct + query + label tokens."""
        return self.num_common + self.num_classes * self.distinct_per_class + self.num_queries + self.num_classes

    def sample(self, split: Split, index: int) -> Batch:
        """Batch ``index`` of ``split``: classes uniform, contextual tokens iid from P(·|n), query appended.

        ``inputs`` (B, T) int64: T−1 contextual tokens then the query ψ(n); ``targets`` (B,) = y(n);
        ``loss_mask`` (B,) all True (only the next token after the query is scored).
        """
        gen = torch_generator(self, split, index)
        classes = torch.randint(self.num_classes, (self.batch_size,), generator=gen)
        probs = torch.as_tensor(context_probs(self))[classes]
        context = torch.multinomial(probs, self.seq_len - 1, replacement=True, generator=gen)
        queries = torch.as_tensor(query_of_class(self))[classes]
        inputs = torch.cat([context, queries[:, None]], dim=1)
        targets = torch.as_tensor(label_of_class(self))[classes]
        return Batch(inputs=inputs, targets=targets, loss_mask=torch.ones_like(targets, dtype=torch.bool))

    def oracle(self, batch: Batch) -> torch.Tensor:
        """The Bayes-optimal next token y(argmax_n P(n | context, query)) for each sequence."""
        best = bayes_log_posterior(self, batch.inputs).argmax(dim=1)
        return torch.as_tensor(label_of_class(self))[best]


def common_tokens(config: ScanSnapConfig) -> np.ndarray:
    """Ids of the common tokens G_CT."""
    return np.arange(config.num_common)


def distinct_tokens(config: ScanSnapConfig, n: int) -> np.ndarray:
    """Ids of the distinct tokens G_DT(n) of class n, in increasing order of P(l|n)."""
    start = config.num_common + n * config.distinct_per_class
    return np.arange(start, start + config.distinct_per_class)


def query_of_class(config: ScanSnapConfig) -> np.ndarray:
    """ψ(n) for every class n: the id of its query token (classes grouped by query)."""
    first = config.num_common + config.num_classes * config.distinct_per_class
    return first + np.arange(config.num_classes) // config.classes_per_query


def label_of_class(config: ScanSnapConfig) -> np.ndarray:
    """y(n) for every class n: the id of its next token."""
    first = config.num_common + config.num_classes * config.distinct_per_class + config.num_queries
    return first + np.arange(config.num_classes)


def context_probs(config: ScanSnapConfig) -> np.ndarray:
    """P(l|n) as a (K, M) float64 array; each row sums to 1 and vanishes off CT ∪ G_DT(n)."""
    probs = np.zeros((config.num_classes, config.vocab_size))
    weights = np.linspace(config.distinct_min, config.distinct_max, config.distinct_per_class)
    for n in range(config.num_classes):
        probs[n, common_tokens(config)] = config.common_weight
        probs[n, distinct_tokens(config, n)] = weights
    return probs / probs.sum(axis=1, keepdims=True)


def bayes_log_posterior(config: ScanSnapConfig, inputs: torch.Tensor) -> torch.Tensor:
    """log P(n | context, query) for every class (B, K), uniform prior over classes (`ScanSnapConfig.oracle`).

    Bayes' rule with iid contextual tokens: log P(n|x) = Σ_t log P(x_t|n) + const over {n: ψ(n) = query};
    classes with another query, or that cannot emit some contextual token, get −inf.
    """
    log_probs = torch.log(torch.as_tensor(context_probs(config)))  # (K, M), −inf off support
    context, query = inputs[:, :-1], inputs[:, -1]
    per_class = log_probs[:, context].sum(dim=-1).T  # (B, K)
    same_query = query[:, None] == torch.as_tensor(query_of_class(config))[None, :]
    scores = torch.where(same_query, per_class, torch.full_like(per_class, -torch.inf))
    return scores - torch.logsumexp(scores, dim=1, keepdim=True)
