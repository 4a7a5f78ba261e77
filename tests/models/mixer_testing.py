"""The named check of the mixer tests (the `assert_close(prefix, ref, tri, ratio)` pattern of
flash-linear-attention's tests): one error per quantity, with a message naming what was compared."""

from __future__ import annotations

import torch

# Every comparison in these tests is an exact algebraic identity between two ways of computing one map, in
# fp64 on O(1) inputs: round-off measures 1e-16 to 1e-13 and an algebraic mistake gives 1e-2 or more, so the
# threshold sits between them, three orders above the round-off. It is relative to the reference's largest
# entry, and absolute below 1: a gradient that is exactly 0 (dq at length 1 of a normalised form, where the
# output is v) is computed as round-off by one form and as 0 by another.
TOLERANCE = 1e-10


def assert_close(quantity: str, reference: torch.Tensor, other: torch.Tensor, *, context: str) -> None:
    """max |other − reference| ≤ `TOLERANCE`·max(1, max |reference|), else fail naming ``context`` and
    ``quantity``."""
    assert reference.shape == other.shape, f"{context}: {quantity} shapes {reference.shape} vs {other.shape}"
    error = float((other - reference).abs().max()) / max(1.0, float(reference.abs().max()))
    assert error <= TOLERANCE, f"{context}: {quantity} error {error:.2e} > {TOLERANCE:g} (relative above 1)"
