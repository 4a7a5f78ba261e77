"""Causality of every zoo mixer: perturbing token t leaves outputs before t unchanged (exactly, in fp64),
and changes the output at t (so the test would catch a mixer that ignores its input)."""

from __future__ import annotations

import pytest
import torch

from attnbench.models.zoo import MIXERS, build_mixer

LENGTH, WIDTH, HEADS = 19, 16, 4


@pytest.mark.parametrize("name", sorted(MIXERS))
@pytest.mark.parametrize("position", [0, 7, LENGTH - 1])
def test_perturbing_a_token_leaves_earlier_outputs_unchanged(name, position):
    torch.manual_seed(0)
    mixer = build_mixer(name, WIDTH, HEADS).double()
    generator = torch.Generator().manual_seed(position)
    x = torch.randn(2, LENGTH, WIDTH, generator=generator, dtype=torch.float64)
    perturbed = x.clone()
    perturbed[:, position] += torch.randn(2, WIDTH, generator=generator, dtype=torch.float64)
    with torch.no_grad():
        before, after = mixer(x), mixer(perturbed)
    assert torch.equal(before[:, :position], after[:, :position])
    assert float((before[:, position] - after[:, position]).abs().max()) > 1e-6
