"""Shared machinery of every task: the `Batch` every generator returns and index-seeded randomness.

DESIGN.md, "The five nouns" (1): sampling is a pure function of (config, split, index). The random
stream for batch ``index`` of ``split`` comes from a seed derived from (config hash, split, index), so
data never depends on batch order, worker count or earlier calls, and the train / validation / test
streams are disjoint by construction (their seeds are hashed from different split names).
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import torch

Split = Literal["train", "val", "test"]
SPLITS: tuple[Split, ...] = ("train", "val", "test")


@dataclass(frozen=True)
class Batch:
    """What every task returns.

    ``inputs`` and ``targets`` have a leading batch axis; ``loss_mask`` is a boolean tensor shaped like
    the scored positions of ``targets`` (True where a position is scored). Padding and prompts are never
    scored.
    """

    inputs: torch.Tensor
    targets: torch.Tensor
    loss_mask: torch.Tensor


def config_hash(config: Any) -> str:
    """A stable hex digest of a dataclass config (its class name and every field)."""
    payload = {"class": type(config).__name__, "fields": dataclasses.asdict(config)}
    text = json.dumps(payload, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()


def derive_seed(config: Any, split: Split, index: int) -> int:
    """The 63-bit seed of batch ``index`` of ``split`` for ``config``."""
    if split not in SPLITS:
        raise ValueError(f"split must be one of {SPLITS}, got {split!r}")
    if index < 0:
        raise ValueError(f"batch index must be >= 0, got {index}")
    digest = hashlib.sha256(f"{config_hash(config)}:{split}:{index}".encode()).digest()
    return int.from_bytes(digest[:8], "little") >> 1


def torch_generator(config: Any, split: Split, index: int) -> torch.Generator:
    """A CPU torch generator seeded for (config, split, index)."""
    return torch.Generator().manual_seed(derive_seed(config, split, index))


def numpy_rng(config: Any, split: Split, index: int) -> np.random.Generator:
    """A numpy generator seeded for (config, split, index)."""
    return np.random.default_rng(derive_seed(config, split, index))
