"""The token backbone: shapes, causality end to end, the no-MLP variant, the position embedding, bad input."""

from __future__ import annotations

import pytest
import torch

from attnbench.models.backbone import Backbone
from attnbench.models.zoo import MIXERS

FAST_MIXERS = ["softmax", "linear", "deltanet_neg"]


@pytest.mark.parametrize("mixer", FAST_MIXERS)
@pytest.mark.parametrize("max_len", [0, 16])
def test_logits_shape_and_causality(mixer: str, max_len: int) -> None:
    """Changing token t changes no logit at positions < t (fp64, exact comparison up to 1e-12)."""
    torch.manual_seed(0)
    model = Backbone(11, 8, 2, mixer, heads=2, mlp_ratio=2, max_len=max_len).double()
    tokens = torch.randint(0, 11, (3, 12))
    logits = model(tokens)
    assert logits.shape == (3, 12, 11) and logits.dtype == torch.float64
    for t in (0, 5, 11):
        changed = tokens.clone()
        changed[:, t] = (changed[:, t] + 1) % 11
        other = model(changed)
        torch.testing.assert_close(other[:, :t], logits[:, :t], rtol=0, atol=1e-12)
        assert not torch.allclose(other[:, t], logits[:, t])


def test_blocks_use_the_named_mixer_and_optional_mlp() -> None:
    with_mlp = Backbone(7, 8, 3, "softmax", mlp_ratio=4)
    without = Backbone(7, 8, 3, "softmax", mlp_ratio=0)
    assert len(with_mlp.blocks) == 3
    assert all(type(b.mixer) is type(MIXERS["softmax"](8, 1)) for b in with_mlp.blocks)
    assert all(b.mlp is None and b.mlp_norm is None for b in without.blocks)
    mlp_params = 3 * ((8 * 32 + 32) + (32 * 8 + 8) + 2 * 8)  # up, down and one LayerNorm per block
    count = lambda model: sum(p.numel() for p in model.parameters())  # noqa: E731
    assert count(with_mlp) - count(without) == mlp_params


def test_gradients_reach_every_parameter() -> None:
    torch.manual_seed(1)
    model = Backbone(9, 8, 2, "linear", mlp_ratio=2, max_len=10)
    model(torch.randint(0, 9, (2, 10))).sum().backward()
    assert all(p.grad is not None and torch.isfinite(p.grad).all() for p in model.parameters())


@pytest.mark.parametrize(
    "kwargs, message",
    [({"mixer": "mamba"}, "unknown mixer"), ({"depth": 0}, "depth"), ({"mlp_ratio": -1}, "mlp_ratio")],
)
def test_bad_arguments(kwargs: dict, message: str) -> None:
    arguments = {"vocab_size": 5, "width": 8, "depth": 1, "mixer": "softmax"} | kwargs
    with pytest.raises(ValueError, match=message):
        Backbone(**arguments)


def test_bad_inputs() -> None:
    model = Backbone(5, 8, 1, "softmax", max_len=4)
    with pytest.raises(ValueError, match="max_len"):
        model(torch.zeros(1, 5, dtype=torch.long))
    with pytest.raises(ValueError, match="batch, length"):
        model(torch.zeros(5, dtype=torch.long))
