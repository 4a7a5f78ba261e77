"""The one backbone of every token task: embedding -> N pre-norm blocks (mixer + MLP) -> head.

A decoder in the style of GPT-2 / nanoGPT (Radford et al. 2019): token embedding, optionally plus a
learned absolute position embedding; then ``depth`` residual blocks ``x += mixer(norm(x))`` and
``x += mlp(norm(x))``; then a final norm and a linear head to vocabulary logits. The mixer is named by
its key in the registry `attnbench.models.zoo.MIXERS` and built as ``MIXERS[name](width, heads, **kw)``.
``mlp_ratio = 0`` drops the MLP (Zoology's MQAR models use an identity state mixer, Arora et al. 2024).
``conv_kernel > 0`` adds a short causal depthwise convolution sub-layer ``x += conv(norm(x))`` before each
mixer (`ShortConv`): the "short convolution" that recall architectures pair with their mixers (H3, Fu et al.
2023; Based, Arora et al. 2024). It gives every position its predecessors' tokens, so an associative lookup
needs no previous-token attention head to form first.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from attnbench.models.zoo import MIXERS


class MLP(nn.Module):
    """Two-layer GELU feed-forward network, width -> ratio * width -> width."""

    def __init__(self, width: int, ratio: int) -> None:
        super().__init__()
        self.up = nn.Linear(width, ratio * width)
        self.down = nn.Linear(ratio * width, width)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """GELU(x W_up) W_down."""
        return self.down(nn.functional.gelu(self.up(x)))


class ShortConv(nn.Module):
    """Causal depthwise convolution over the sequence: ``y_t = Σ_{s<kernel} c_s ⊙ x_{t-s}`` (zero before the
    start), one length-``kernel`` filter per channel (``nn.Conv1d``'s default initialisation)."""

    def __init__(self, width: int, kernel: int) -> None:
        super().__init__()
        self.kernel = kernel
        self.conv = nn.Conv1d(width, width, kernel, groups=width, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(batch, length, width) -> the same shape; output t reads inputs t-kernel+1 .. t."""
        padded = nn.functional.pad(x.transpose(1, 2), (self.kernel - 1, 0))
        return self.conv(padded).transpose(1, 2)


class Block(nn.Module):
    """Pre-norm residual block: x + conv(norm(x)) when a short convolution is kept, x + mixer(norm(x)), then
    x + mlp(norm(x)) unless the MLP is dropped."""

    def __init__(self, width: int, mixer: nn.Module, mlp_ratio: int, conv_kernel: int = 0) -> None:
        super().__init__()
        self.conv_norm = nn.LayerNorm(width) if conv_kernel else None
        self.conv = ShortConv(width, conv_kernel) if conv_kernel else None
        self.mixer_norm = nn.LayerNorm(width)
        self.mixer = mixer
        self.mlp_norm = nn.LayerNorm(width) if mlp_ratio else None
        self.mlp = MLP(width, mlp_ratio) if mlp_ratio else None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """One residual block on (batch, length, width)."""
        if self.conv is not None:
            x = x + self.conv(self.conv_norm(x))
        x = x + self.mixer(self.mixer_norm(x))
        if self.mlp is not None:
            x = x + self.mlp(self.mlp_norm(x))
        return x


class Backbone(nn.Module):
    """Token ids (batch, length) -> logits (batch, length, vocab_size).

    ``max_len > 0`` adds a learned position embedding for lengths up to ``max_len``; ``max_len = 0`` uses
    none (the mixer's causal structure is then the only source of order, as needed for length
    generalisation). ``mixer_kwargs`` are passed to the mixer's constructor.
    """

    def __init__(
        self,
        vocab_size: int,
        width: int,
        depth: int,
        mixer: str,
        *,
        heads: int = 1,
        mlp_ratio: int = 4,
        max_len: int = 0,
        conv_kernel: int = 0,
        mixer_kwargs: dict[str, Any] | None = None,
    ) -> None:
        super().__init__()
        if mixer not in MIXERS:
            raise ValueError(f"unknown mixer {mixer!r}; the registry holds {sorted(MIXERS)}")
        for name, value, low in (
            ("vocab_size", vocab_size, 1),
            ("width", width, 1),
            ("depth", depth, 1),
            ("mlp_ratio", mlp_ratio, 0),
            ("max_len", max_len, 0),
            ("conv_kernel", conv_kernel, 0),
        ):
            if value < low:
                raise ValueError(f"{name} must be >= {low}, got {value}")
        self.vocab_size, self.max_len = vocab_size, max_len
        self.token_embedding = nn.Embedding(vocab_size, width)
        self.position_embedding = nn.Embedding(max_len, width) if max_len else None
        self.blocks = nn.ModuleList(
            Block(width, MIXERS[mixer](width, heads, **(mixer_kwargs or {})), mlp_ratio, conv_kernel)
            for _ in range(depth)
        )
        self.final_norm = nn.LayerNorm(width)
        self.head = nn.Linear(width, vocab_size, bias=False)

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        """Logits for every position of ``tokens`` (batch, length)."""
        if tokens.dim() != 2:
            raise ValueError(f"tokens must be (batch, length), got shape {tuple(tokens.shape)}")
        length = tokens.shape[1]
        x = self.token_embedding(tokens)
        if self.position_embedding is not None:
            if length > self.max_len:
                raise ValueError(f"sequence length {length} exceeds the position embedding's max_len {self.max_len}")
            x = x + self.position_embedding(torch.arange(length, device=tokens.device))
        for block in self.blocks:
            x = block(x)
        return self.head(self.final_norm(x))
