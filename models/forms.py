"""The exact forms of a mixer: one map computed several ways (parallel, recurrent, chunked, tiled, scanned).

Each mixer module with several forms declares ``FORMS: dict[str, Forms]`` (mixer name -> its forms);
`attnbench.models.zoo.all_forms` collects them. Every `Form` of a mixer is called alike,
``form(q, k, v, causal=..., chunk=..., **inputs)``: ``chunk`` is the block or chunk size of the forms that
have one (ignored by the others), ``causal`` is refused by a form that computes only the causal map. Forms of
one mixer are equal as functions of their inputs (the identities are cited in each module), so their outputs
and gradients agree to round-off; tests/models/test_forms.py and the identities experiment compare them.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from itertools import combinations
from typing import Any, Protocol

import torch

Shape = tuple[int, int, int, int]  # (batch, heads, length, dim)
Inputs = dict[str, Any]  # "q", "k", "v" and the other keyword inputs of the forms (tensors or settings)


class Sampler(Protocol):
    """Draws the inputs a mixer's forms are compared on, from ``generator``, at one ``setting``."""

    def __call__(self, generator: torch.Generator, shape: Shape, dtype: torch.dtype, **setting: Any) -> Inputs: ...


@dataclass(frozen=True)
class Form:
    """One way of computing a mixer: ``compute(q, k, v, **options)``.

    ``chunk`` names the block/chunk-size keyword of ``compute`` (None: it has none), ``default_chunk`` its
    value when the caller gives none; ``masks`` are the ``causal`` values it computes: (True,) for a form that
    is causal by construction (a recurrence; ``compute`` then takes no ``causal`` keyword).
    """

    compute: Callable[..., torch.Tensor]
    chunk: str | None = None
    default_chunk: int = 64
    masks: tuple[bool, ...] = (True,)

    def __call__(
        self,
        q: torch.Tensor,
        k: torch.Tensor,
        v: torch.Tensor,
        /,
        *,
        causal: bool = True,
        chunk: int | None = None,
        **options: Any,
    ) -> torch.Tensor:
        """The form's output; ``chunk`` overrides ``default_chunk`` (forms without a chunk ignore it)."""
        if causal not in self.masks:
            raise ValueError(f"{self.compute.__name__} computes only causal in {self.masks}, got causal={causal}")
        if len(self.masks) > 1:
            options["causal"] = causal
        if self.chunk is not None:
            options[self.chunk] = self.default_chunk if chunk is None else chunk
        return self.compute(q, k, v, **options)


@dataclass(frozen=True)
class Forms:
    """The exact forms of one mixer (at least two), the sampler of their inputs, and the ``settings`` (keyword
    arguments of ``sample``) at which the forms are compared: each setting is a different map."""

    forms: Mapping[str, Form]
    sample: Sampler
    settings: tuple[dict[str, Any], ...] = field(default=({},))

    def pairs(self) -> Iterator[tuple[str, str, tuple[bool, ...]]]:
        """Every pair of forms with the ``causal`` values both compute (pairs with none are left out)."""
        for first, second in combinations(self.forms, 2):
            masks = tuple(m for m in self.forms[first].masks if m in self.forms[second].masks)
            if masks:
                yield first, second, masks

    @property
    def chunked(self) -> bool:
        """Whether any form has a block/chunk size."""
        return any(form.chunk is not None for form in self.forms.values())


def normal_qkv(generator: torch.Generator, shape: Shape, dtype: torch.dtype) -> Inputs:
    """q, k, v ~ N(0, 1) of ``shape``, drawn in that order."""
    return {name: torch.randn(*shape, generator=generator, dtype=dtype) for name in ("q", "k", "v")}


def apply(form: Callable[..., torch.Tensor], inputs: Inputs, **options: Any) -> torch.Tensor:
    """``form(q, k, v, **the other inputs, **options)``."""
    rest = {name: x for name, x in inputs.items() if name not in ("q", "k", "v")}
    return form(inputs["q"], inputs["k"], inputs["v"], **rest, **options)


def evaluate(
    form: Callable[..., torch.Tensor], inputs: Inputs, *, cotangent_seed: int = 99, **options: Any
) -> dict[str, torch.Tensor]:
    """The output of ``form(q, k, v, **rest of inputs, **options)`` ("output") and the gradient of ⟨c, output⟩
    for a fixed random cotangent c with respect to every floating-point tensor input ("d" + its name; zeros for
    an input the output does not depend on, e.g. the query of a one-token scan)."""
    leaves = {
        name: x.detach().requires_grad_()
        for name, x in inputs.items()
        if isinstance(x, torch.Tensor) and x.is_floating_point()
    }
    output = apply(form, {**inputs, **leaves}, **options)
    cotangent = torch.randn(output.shape, generator=torch.Generator().manual_seed(cotangent_seed), dtype=output.dtype)
    gradients = torch.autograd.grad(output, list(leaves.values()), cotangent, allow_unused=True, materialize_grads=True)
    return {"output": output.detach(), **{f"d{name}": g for name, g in zip(leaves, gradients, strict=True)}}


def relative_error(measured: torch.Tensor, reference: torch.Tensor) -> float:
    """max |measured − reference| / max(max |reference|, tiny)."""
    scale = max(float(reference.detach().abs().max()), torch.finfo(reference.dtype).tiny)
    return float((measured.detach() - reference.detach()).abs().max()) / scale
