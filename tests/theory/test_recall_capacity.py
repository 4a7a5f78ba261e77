"""The exact-recall capacity of a linear state (`attnbench.theory.recall_capacity`): the derivation checked
numerically in fp64, the per-mixer table, and bad input."""

from __future__ import annotations

import math

import pytest
import torch

from attnbench.models.zoo import MIXERS
from attnbench.theory.recall_capacity import GROWING_CACHE, KEY_FEATURES_PER_HEAD_DIM, recall_capacity


@pytest.mark.parametrize("dim", [4, 8])
def test_a_linear_state_recalls_exactly_the_pairs_its_key_dimension_allows(dim: int) -> None:
    """The best state S = V K⁺ (least squares, what the delta rule converges to) reads every one of K ≤ d
    generic pairs back to 1e-9 and leaves an error of order one at K = d + 1: the system S k_i = v_i for all
    values has a solution iff the keys are linearly independent."""
    generator = torch.Generator().manual_seed(dim)
    for pairs, exact in ((dim - 1, True), (dim, True), (dim + 1, False), (2 * dim, False)):
        keys = torch.randn(dim, pairs, generator=generator, dtype=torch.float64)
        values = torch.randn(dim, pairs, generator=generator, dtype=torch.float64)
        state = values @ torch.linalg.pinv(keys)
        error = float((state @ keys - values).abs().max())
        assert (error < 1e-9) == exact, (pairs, error)


def test_capacity_per_mixer() -> None:
    assert recall_capacity("linear", 16) == 16.0 == recall_capacity("deltanet", 16)
    assert recall_capacity("linear", 16, heads=4) == 4.0
    assert recall_capacity("random_feature", 8) == 32.0 == MIXERS["random_feature"](8, 1).projection.shape[0]
    assert all(math.isinf(recall_capacity(m, 8)) for m in GROWING_CACHE)
    assert set(KEY_FEATURES_PER_HEAD_DIM) | set(GROWING_CACHE) <= set(MIXERS)


@pytest.mark.parametrize(
    ("mixer", "width", "heads", "message"),
    [("mamba", 8, 1, "no recall capacity"), ("linear", 0, 1, "positive multiple"), ("linear", 6, 4, "multiple")],
)
def test_bad_input(mixer: str, width: int, heads: int, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        recall_capacity(mixer, width, heads)
