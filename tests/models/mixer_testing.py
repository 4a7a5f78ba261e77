"""Shared test helpers for the mixer tests: fp64 random inputs and forward+gradient comparison."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import torch


def random_tensors(*shapes: Sequence[int], seed: int) -> list[torch.Tensor]:
    """Independent standard-normal fp64 tensors that require grad, from a fixed seed."""
    generator = torch.Generator().manual_seed(seed)
    return [
        torch.randn(*shape, generator=generator, dtype=torch.float64).requires_grad_() for shape in shapes
    ]


def forward_and_grad_errors(
    first: Callable[..., torch.Tensor], second: Callable[..., torch.Tensor], inputs: Sequence[torch.Tensor]
) -> tuple[float, float]:
    """Max |Δ| of the outputs and of all input gradients (for one random cotangent) of two equal maps."""
    out_first, out_second = first(*inputs), second(*inputs)
    cotangent = torch.randn(
        out_first.shape, generator=torch.Generator().manual_seed(99), dtype=out_first.dtype
    )
    grads_first = torch.autograd.grad(out_first, inputs, cotangent)
    grads_second = torch.autograd.grad(out_second, inputs, cotangent)
    grad_error = max(float((a - b).abs().max()) for a, b in zip(grads_first, grads_second, strict=True))
    return float((out_first - out_second).detach().abs().max()), grad_error
