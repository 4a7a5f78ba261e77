"""Multi-query associative recall (MQAR), Arora et al. 2024 ("Zoology", ICLR 2024, Sec. 3.1).

An example of length ``seq_len`` is a context of ``num_kv_pairs`` key-value pairs ``k1 v1 ... kK vK``,
tiled ``num_passes`` times (Zoology's JRT-style repeats; length ``C = 2KP``), followed by a query region.
Every key is queried exactly once, at offset ``2 g_i`` of the query region, where the gaps ``g_i`` are
distinct and drawn with probability ``w_g ∝ a (g + 1)^(a - 1)``, ``g = 0 .. (seq_len - C)/2 - 1``
(Zoology's power law; ``a = 0.01`` puts queries near the context).
The target sits on the query key's own position ("predict the value when you see the key") and only
those positions are scored. The other query-region positions are fillers.

Two filler modes:

- ``"zoology"``: Zoology's exact semantics (``multiquery_ar`` with ``random_non_queries=True``): keys
  from ``[1, V/2)``, values from ``[V/2, V)``, fillers uniform over the whole vocabulary ``[0, V)``, so a
  filler can repeat one of the example's keys or values (an unscored distractor query, zoology#29).
- ``"disjoint"`` (default): fillers come from their own range ``[0, filler_tokens)``, keys from the
  lower half and values from the upper half of the rest, so no filler can collide with a key or value.
  With ``filler_tokens = 1`` the key and value ranges are Zoology's and the filler is the constant 0
  (Zoology's ``random_non_queries=False``).

Distinct gaps are drawn by sequential sampling without replacement (draw one gap with probability
∝ w, remove it, renormalise, repeat), as ``numpy.random.choice(replace=False, p=w)`` does. It is
implemented with the Gumbel top-k identity: the K largest of ``log w_g + Gumbel`` are such a sample.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from attnbench.errors import require
from attnbench.tasks.base import Batch, Split, TaskConfig, numpy_rng

IGNORE = -100  # target id at unscored positions
FILLER_MODES = ("disjoint", "zoology")


@dataclass(frozen=True)
class MQARConfig(TaskConfig):
    """One MQAR setting. ``batch_size`` examples per index; see the module docstring for the layout.
    ``stream`` selects one of many independent data streams (one per ensemble member)."""

    vocab_size: int = 8192
    seq_len: int = 64
    num_kv_pairs: int = 4
    power_a: float = 0.01
    fillers: str = "disjoint"
    filler_tokens: int = 1
    batch_size: int = 64
    num_passes: int = 1
    stream: int = 0

    def __post_init__(self) -> None:
        require(self.fillers in FILLER_MODES, "fillers", f"must be one of {FILLER_MODES}, got {self.fillers!r}")
        require(self.num_kv_pairs >= 1, "num_kv_pairs", f"must be >= 1, got {self.num_kv_pairs}")
        require(self.seq_len % 2 == 0, "seq_len", f"must be even (Zoology's layout), got {self.seq_len}")
        require(self.num_passes >= 1, "num_passes", f"must be >= 1, got {self.num_passes}")
        require(
            self.context_len + 2 * self.num_kv_pairs <= self.seq_len,
            "seq_len",
            f"need 2 * num_kv_pairs * (num_passes + 1) <= seq_len for K distinct query slots, got "
            f"K={self.num_kv_pairs}, num_passes={self.num_passes}, seq_len={self.seq_len}",
        )
        require(self.power_a > 0, "power_a", f"must be > 0, got {self.power_a}")
        require(self.batch_size >= 1, "batch_size", f"must be >= 1, got {self.batch_size}")
        require(
            self.fillers != "zoology" or self.filler_tokens == 1,
            "filler_tokens",
            "fillers='zoology' draws fillers from the whole vocabulary: filler_tokens = 1",
        )
        require(self.filler_tokens >= 1, "filler_tokens", f"must be >= 1, got {self.filler_tokens}")
        require(
            min(self.num_keys, self.num_values) >= self.num_kv_pairs,
            "vocab_size",
            f"vocab_size={self.vocab_size} leaves {self.num_keys} keys and {self.num_values} values, "
            f"fewer than num_kv_pairs={self.num_kv_pairs}",
        )

    @classmethod
    def zoology(cls, seq_len: int = 64, num_kv_pairs: int = 4, batch_size: int = 64, num_passes: int = 1) -> MQARConfig:
        """Zoology's preset: V = 8192, a = 0.01, random fillers over the whole vocabulary."""
        return cls(
            vocab_size=8192,
            seq_len=seq_len,
            num_kv_pairs=num_kv_pairs,
            power_a=0.01,
            fillers="zoology",
            filler_tokens=1,
            batch_size=batch_size,
            num_passes=num_passes,
        )

    @property
    def first_key(self) -> int:
        return self.filler_tokens

    @property
    def first_value(self) -> int:
        return self.filler_tokens + (self.vocab_size - self.filler_tokens) // 2

    @property
    def num_keys(self) -> int:
        return self.first_value - self.first_key

    @property
    def num_values(self) -> int:
        return self.vocab_size - self.first_value

    @property
    def context_len(self) -> int:
        """``C = 2 K P``: the K pairs, tiled ``num_passes`` times (Zoology's JRT-style repeats)."""
        return 2 * self.num_kv_pairs * self.num_passes

    @property
    def num_gaps(self) -> int:
        """Number of possible query slots, Zoology's ``space = (L - C) / 2``."""
        return (self.seq_len - self.context_len) // 2

    def sample(self, split: Split, index: int) -> Batch:
        """Batch ``index`` of ``split``: inputs/targets shaped (batch, seq_len); targets are IGNORE off-query."""
        rng = numpy_rng(self, split, index)
        b, k, c = self.batch_size, self.num_kv_pairs, self.context_len
        rows = np.arange(b)[:, None]
        keys = self.first_key + _distinct_draws(rng, b, self.num_keys, k)
        values = self.first_value + _distinct_draws(rng, b, self.num_values, k)
        gumbel = -np.log(-np.log(rng.random((b, self.num_gaps))))
        gaps = np.argsort(-(np.log(gap_weights(self)) + gumbel), axis=1)[:, :k]
        if self.fillers == "zoology":
            inputs = rng.integers(0, self.vocab_size, size=(b, self.seq_len))
        else:
            inputs = rng.integers(0, self.filler_tokens, size=(b, self.seq_len))
        inputs[:, 0:c:2] = np.tile(keys, self.num_passes)
        inputs[:, 1:c:2] = np.tile(values, self.num_passes)
        query_positions = c + 2 * gaps
        inputs[rows, query_positions] = keys
        targets = np.full((b, self.seq_len), IGNORE, dtype=np.int64)
        targets[rows, query_positions] = values
        inputs_t = torch.from_numpy(inputs.astype(np.int64))
        targets_t = torch.from_numpy(targets)
        return Batch(inputs=inputs_t, targets=targets_t, loss_mask=targets_t != IGNORE)

    def oracle(self, batch: Batch) -> torch.Tensor:
        """The exact answer: at each scored position, the value that follows that key in the context.

        Returns a tensor like ``batch.inputs`` holding the answer at scored positions and IGNORE elsewhere.
        """
        c = 2 * self.num_kv_pairs  # the first pass; later passes repeat it
        inputs = batch.inputs
        context_keys, context_values = inputs[:, 0:c:2], inputs[:, 1:c:2]
        matches = inputs.unsqueeze(-1) == context_keys.unsqueeze(1)  # (batch, length, K)
        answer = torch.gather(context_values, 1, matches.long().argmax(-1))
        return torch.where(batch.loss_mask, answer, torch.full_like(answer, IGNORE))


def gap_weights(config: MQARConfig) -> np.ndarray:
    """Zoology's query-gap law ``w_g ∝ a (g + 1)^(a - 1)`` for ``g = 0 .. num_gaps - 1``, normalised."""
    a = config.power_a
    w = a * np.arange(1, config.num_gaps + 1, dtype=np.float64) ** (a - 1)
    return w / w.sum()


def _distinct_draws(rng: np.random.Generator, rows: int, population: int, count: int) -> np.ndarray:
    """``count`` distinct uniform draws from ``range(population)`` per row, in random order."""
    return np.argsort(rng.random((rows, population)), axis=1)[:, :count]


def query_accuracy(predictions: torch.Tensor, targets: torch.Tensor, loss_mask: torch.Tensor) -> float:
    """Per-token (micro) accuracy over scored positions only; MQAR has K per example, so it equals Zoology's
    per-example mean."""
    return float((predictions[loss_mask] == targets[loss_mask]).double().mean())


def chance_accuracy(config: MQARConfig) -> float:
    """Guessing a value uniformly from the value vocabulary (no in-context information): 1 / num_values."""
    return 1.0 / config.num_values
