"""The task protocol: `TaskConfig`, the `Batch` every task returns, index-seeded randomness and `stack`.

ARCHITECTURE.md, "The nouns" (1): sampling is a pure function of (config, split, index). The random
stream for batch ``index`` of ``split`` comes from a seed derived from (config hash, split, index), so
data never depends on batch order, worker count or earlier calls, and the train / validation / test
streams are disjoint by construction (their seeds are hashed from different split names).

Two kinds of independence, one mechanism each:
- a *stream* is a sequence of training batches (one per step) for one seed or ensemble member: members are
  configs that differ only in their ``stream`` field, batch ``index`` = step (`member_configs` makes them,
  `stack` samples them onto a leading member axis);
- an *instance* is one fixed problem (a theory check on R independent problems, an evaluation set): instance
  r is batch ``index`` r of a split (`stack_batches` of indices 0..R-1 gives the member axis).
No index arithmetic (offsets, strides) makes streams.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from abc import ABC, abstractmethod
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Literal, TypeVar

import numpy as np
import torch

from attnbench.errors import ConfigError, require

Split = Literal["train", "val", "test"]
SPLITS: tuple[Split, ...] = ("train", "val", "test")
Config = TypeVar("Config", bound="TaskConfig")


@dataclass(frozen=True)
class Batch:
    """What every task returns; task-specific payloads subclass it and add their own tensor fields.

    ``inputs`` and ``targets`` have a leading batch axis; ``loss_mask`` is a boolean tensor shaped like
    the scored positions of ``targets`` (True where a position is scored). Padding and prompts are never
    scored.
    """

    inputs: torch.Tensor
    targets: torch.Tensor
    loss_mask: torch.Tensor


@dataclass(frozen=True)
class TaskConfig(ABC):
    """A task: a frozen config (its fields are the task's parameters, hashed by `config_hash`) with a
    sampler and an oracle. It declares no field, so a subclass hashes exactly as a plain dataclass would."""

    @abstractmethod
    def sample(self, split: Split, index: int) -> Batch:
        """Batch ``index`` of ``split``: a pure function of (config, split, index), drawing its randomness
        from `torch_generator` or `numpy_rng` of (self, split, index) only."""

    @abstractmethod
    def oracle(self, batch: Batch) -> torch.Tensor:
        """The Bayes-optimal or ground-truth prediction for ``batch``, computed from the batch's inputs (and a
        payload's latent fields), never from its stored targets. The one exception is documented where it is:
        token selection, whose labels define the problem and whose answer (the selected token) is not stored."""


def config_hash(config: Any) -> str:
    """A stable hex digest of a dataclass config (its class name and every field)."""
    payload = {"class": type(config).__name__, "fields": dataclasses.asdict(config)}
    text = json.dumps(payload, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()


def derive_seed(config: Any, split: Split, index: int) -> int:
    """The 63-bit seed of batch ``index`` of ``split`` for ``config``."""
    require(split in SPLITS, "split", f"must be one of {SPLITS}, got {split!r}")
    require(index >= 0, "index", f"a batch index must be >= 0, got {index}")
    digest = hashlib.sha256(f"{config_hash(config)}:{split}:{index}".encode()).digest()
    return int.from_bytes(digest[:8], "little") >> 1


def torch_generator(config: Any, split: Split, index: int) -> torch.Generator:
    """A CPU torch generator seeded for (config, split, index)."""
    return torch.Generator().manual_seed(derive_seed(config, split, index))


def numpy_rng(config: Any, split: Split, index: int) -> np.random.Generator:
    """A numpy generator seeded for (config, split, index)."""
    return np.random.default_rng(derive_seed(config, split, index))


def member_configs(config: Config, streams: Iterable[int]) -> list[Config]:
    """``config`` once per stream in ``streams``: the independent data streams of an ensemble's members."""
    require(
        any(f.name == "stream" for f in dataclasses.fields(config)),
        "stream",
        f"{type(config).__name__} has no stream field",
    )
    return [dataclasses.replace(config, stream=stream) for stream in streams]


def stack(configs: Sequence[TaskConfig], split: Split, index: int) -> Batch:
    """Batch ``index`` of ``split`` of every config, stacked on a new leading member axis (every field).

    The configs must be of one class, and their batches' fields of one shape (member configs usually
    differ only in ``stream``). The result has the class of the members' batches (a `Batch` subclass).
    """
    require(len(configs) > 0, "configs", "stack needs at least one config")
    require(len({type(c) for c in configs}) == 1, "configs", "stack needs configs of one class")
    return stack_batches([config.sample(split, index) for config in configs])


def stack_batches(batches: Sequence[Batch]) -> Batch:
    """``batches`` (of one class and shape) stacked on a new leading member axis, every field."""
    try:
        fields = {f.name: torch.stack([getattr(b, f.name) for b in batches]) for f in dataclasses.fields(batches[0])}
    except RuntimeError as error:
        raise ConfigError(f"configs: their batches cannot be stacked ({error})") from None
    return type(batches[0])(**fields)
