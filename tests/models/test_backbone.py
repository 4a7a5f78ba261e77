"""The token backbone: shapes, causality end to end, the no-MLP variant, the position embedding, the short
convolution, bad input."""

from __future__ import annotations

import pytest
import torch

from attnbench.models.backbone import Backbone, ShortConv
from attnbench.models.zoo import MIXERS

FAST_MIXERS = ["softmax", "linear", "deltanet_neg"]


@pytest.mark.parametrize("mixer", FAST_MIXERS)
@pytest.mark.parametrize("max_len", [0, 16])
@pytest.mark.parametrize("conv_kernel", [0, 3])
def test_logits_shape_and_causality(mixer: str, max_len: int, conv_kernel: int) -> None:
    """Changing token t changes no logit at positions < t (fp64, exact comparison up to 1e-12)."""
    torch.manual_seed(0)
    model = Backbone(11, 8, 2, mixer, heads=2, mlp_ratio=2, max_len=max_len, conv_kernel=conv_kernel).double()
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


def test_short_convolution_is_the_causal_depthwise_sum() -> None:
    """y_t = Σ_{s<k} c_s ⊙ x_{t−s} with x_{<0} = 0, checked term by term in fp64 against the module."""
    torch.manual_seed(2)
    conv = ShortConv(5, 3).double()
    x = torch.randn(2, 7, 5, dtype=torch.float64)
    taps = conv.conv.weight[:, 0, :]  # (width, kernel): tap kernel−1−s multiplies x_{t−s}
    expected = torch.zeros_like(x)
    for t in range(7):
        for s in range(min(3, t + 1)):
            expected[:, t] += taps[:, 2 - s] * x[:, t - s]
    torch.testing.assert_close(conv(x), expected, rtol=0, atol=1e-12)
    model = Backbone(7, 8, 2, "softmax", mlp_ratio=0, conv_kernel=3)
    assert all(isinstance(b.conv, ShortConv) and b.conv.kernel == 3 for b in model.blocks)
    assert all(b.conv is None for b in Backbone(7, 8, 2, "softmax", mlp_ratio=0).blocks)


def test_gradients_reach_every_parameter() -> None:
    torch.manual_seed(1)
    model = Backbone(9, 8, 2, "linear", mlp_ratio=2, max_len=10, conv_kernel=2)
    model(torch.randint(0, 9, (2, 10))).sum().backward()
    assert all(p.grad is not None and torch.isfinite(p.grad).all() for p in model.parameters())


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"mixer": "mamba"}, "unknown mixer"),
        ({"depth": 0}, "depth"),
        ({"mlp_ratio": -1}, "mlp_ratio"),
        ({"conv_kernel": -1}, "conv_kernel"),
    ],
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
