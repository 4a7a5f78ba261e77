"""Seed × learning-rate members of one token-task cell trained as one batched model (issue 16 §1).

README.md, "Ensembles": many small models are trained as one model with a leading member axis through
parameters, optimiser state and data. A member is a (seed, lr) pair: it is initialised from
``torch.manual_seed(seed)`` (`build_members`) and reads the data stream of its seed
(`attnbench.tasks.base.member_configs`, train batch index = step). The MQAR and state-tracking experiments
train every (seed, lr) member of a cell in one run (`attnbench.sweeps.token_training.select_learning_rate`).

- Data: the members' batches of a step are stacked on the member axis; batches of different lengths (state
  tracking pads each batch to its own longest example) are right-padded to the longest with unscored
  positions. Every mixer of the backbone is causal (`attnbench.models.zoo`), so the padding changes no
  output at a scored position and the loss is each member's own.
- Parameters: every member's parameters are one row of a flat (E, P) tensor (stacked by
  `torch.func.stack_module_state`); the forward is `torch.func.functional_call` of one template module under
  `torch.vmap` over the rows (``randomness="error"``: the backbone has no dropout and draws nothing once
  built). Buffers equal in every member (Lightning's decays) are passed once, unbatched; the others (the
  Performer's random projection, drawn per seed) keep their member axis.
- Optimiser: AdamW (Loshchilov & Hutter 2019, Alg. 2, decoupled weight decay) written on the flat tensors in
  the operation order of ``torch.optim.AdamW`` (single-tensor path), with a per-member learning rate
  ``lr_e · schedule(step)``; each member therefore follows the trajectory ``torch.optim.AdamW`` gives it alone
  (tests/sweeps/test_batched_members.py checks it in fp64). At weight decay 0 it is Adam (Kingma & Ba 2015).
- Divergence: a member whose loss, gradient or update stops being finite is frozen at that step (it keeps
  the parameters and moments it had before it) and the step is recorded; the others train on.
- Mixers that vmap cannot run take the loop fallback: the same flat parameters and update, the forward called
  once per member. `vmap_failure` finds them by tracing one forward; in the registry of
  `attnbench.models.zoo` these are "lla" (its kernel is a `torch.autograd.Function` without
  ``setup_context``) and "gated_linear" (`check_log_decay` branches on a tensor value in Python).
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

import torch
from torch import nn
from torch.func import functional_call, stack_module_state
from torch.nn import functional as F

from attnbench.errors import require
from attnbench.sweeps.training import progress
from attnbench.tasks.base import Batch, TaskConfig, member_configs


@dataclass(frozen=True)
class Member:
    """One member of a batched cell: its seed (initialisation and data stream) and its base learning rate."""

    seed: int
    lr: float


def build_members(factory: Callable[[], nn.Module], seeds: Sequence[int]) -> list[nn.Module]:
    """One model per seed, each initialised from ``torch.manual_seed(seed)``."""
    members = []
    for seed in seeds:
        torch.manual_seed(seed)
        members.append(factory())
    return members


def member_grid(seeds: Sequence[int], lrs: Sequence[float]) -> list[Member]:
    """Every (seed, lr) pair, lr-major: the members of ``lrs[0]`` first, in seed order."""
    return [Member(seed, lr) for lr in lrs for seed in seeds]


@dataclass(frozen=True)
class AdamW:
    """AdamW's hyper-parameters (defaults of ``torch.optim.AdamW``; Loshchilov & Hutter 2019, Alg. 2)."""

    weight_decay: float = 0.01
    beta1: float = 0.9
    beta2: float = 0.999
    eps: float = 1e-8


def stack_padded(batches: Sequence[Batch]) -> Batch:
    """``batches`` stacked on a new leading member axis, each right-padded to the longest with unscored
    positions (input and target id 0, mask False): exact for a causal model (module docstring, "Data")."""
    length = max(batch.inputs.shape[1] for batch in batches)

    def padded(field: str) -> torch.Tensor:
        return torch.stack([F.pad(getattr(b, field), (0, length - b.inputs.shape[1])) for b in batches])

    return Batch(padded("inputs"), padded("targets"), padded("loss_mask"))


def masked_token_loss(logits: torch.Tensor, targets: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Mean cross-entropy over the scored positions (``mask``) only, with shapes fixed (no boolean indexing),
    so it runs under vmap."""
    losses = F.cross_entropy(logits.flatten(0, -2), torch.where(mask, targets, 0).flatten(), reduction="none")
    return (losses * mask.flatten()).sum() / mask.sum()


class StackedMembers:
    """E members of one architecture as a template module plus a flat (E, P) parameter tensor.

    ``template`` is never trained: `functional_call` runs it with each member's parameters and buffers.
    """

    def __init__(self, modules: Sequence[nn.Module]) -> None:
        params, buffers = stack_module_state(list(modules))
        self.template = copy.deepcopy(modules[0])
        self.shapes = {name: p.shape[1:] for name, p in params.items()}
        self.flat = torch.cat([p.flatten(1) for p in params.values()], dim=1).detach().requires_grad_(True)
        shared = {name: bool((b == b[:1]).all()) for name, b in buffers.items()}
        self.buffers = {name: b[0] if shared[name] else b for name, b in buffers.items()}
        self.buffer_dims = {name: None if shared[name] else 0 for name in buffers}
        self.vmapped = True

    def __len__(self) -> int:
        return self.flat.shape[0]

    def named(self, vector: torch.Tensor) -> dict[str, torch.Tensor]:
        """One member's parameters (P,) as named views shaped like the template's."""
        chunks = vector.split([shape.numel() for shape in self.shapes.values()])
        return {name: chunk.view(shape) for (name, shape), chunk in zip(self.shapes.items(), chunks, strict=True)}

    def member_buffers(self, e: int) -> dict[str, torch.Tensor]:
        """Member ``e``'s buffers (a shared buffer is every member's)."""
        return {name: b[e] if self.buffer_dims[name] == 0 else b for name, b in self.buffers.items()}

    def forward(self, vector: torch.Tensor, buffers: dict[str, torch.Tensor], inputs: torch.Tensor) -> torch.Tensor:
        """One member's output: the template called with the parameters in ``vector`` (P,)."""
        return functional_call(self.template, {**self.named(vector), **buffers}, (inputs,))

    def map(self, function: Callable[..., torch.Tensor], data: Sequence[torch.Tensor], batched: bool) -> torch.Tensor:
        """``function(vector, buffers, *data)`` for every member, stacked (E, ...): under vmap, or one member
        at a time when ``vmapped`` is off. ``batched``: the data carry the member axis (else shared)."""
        if self.vmapped:
            dims = (0, self.buffer_dims, *((0 if batched else None) for _ in data))
            return torch.vmap(function, in_dims=dims, randomness="error")(self.flat, self.buffers, *data)
        return torch.stack(
            [
                function(self.flat[e], self.member_buffers(e), *(d[e] if batched else d for d in data))
                for e in range(len(self))
            ]
        )

    def losses(self, batch: Batch) -> torch.Tensor:
        """(E,) masked cross-entropies of every member on its own slice of ``batch`` (fields (E, batch, ...))."""

        def loss(
            vector: torch.Tensor, buffers: dict, inputs: torch.Tensor, targets: torch.Tensor, mask: torch.Tensor
        ) -> torch.Tensor:
            return masked_token_loss(self.forward(vector, buffers, inputs), targets, mask)

        return self.map(loss, (batch.inputs, batch.targets, batch.loss_mask), batched=True)

    @torch.no_grad()
    def accuracy(self, batches: Sequence[Batch]) -> torch.Tensor:
        """(E,) per-token (micro) accuracy of every member over the scored positions of shared ``batches``: the
        exact ratio (fp64, on the CPU) `attnbench.sweeps.token_training.token_accuracy` gives one module."""
        correct = sum(
            self.map(lambda v, b, x: self.forward(v, b, x).argmax(-1), (batch.inputs,), batched=False)
            .eq(batch.targets)
            .logical_and(batch.loss_mask)
            .flatten(1)
            .sum(1)
            for batch in batches
        )
        return correct.cpu().double() / sum(int(batch.loss_mask.sum()) for batch in batches)

    def module(self, e: int) -> nn.Module:
        """Member ``e`` as a standalone module (a copy of the template holding its parameters and buffers)."""
        module = copy.deepcopy(self.template)
        module.load_state_dict(self.named(self.flat[e].detach()) | self.member_buffers(e))
        return module


def vmap_failure(stacked: StackedMembers, batch: Batch) -> str | None:
    """Why the members' forward cannot run under vmap (the error's first line), or None if it can.

    Traces one forward on the first example of every member's slice of ``batch``."""
    try:
        with torch.no_grad():
            stacked.map(stacked.forward, (batch.inputs[:, :1],), batched=True)
    except RuntimeError as error:
        return str(error).splitlines()[0]
    return None


@dataclass(frozen=True)
class BatchedRun:
    """What `train_batched` returns. ``diverged_step[e]``: the first (0-based) step whose loss, gradient or
    update of member e was not finite (None: never); ``val_accuracy[s, e]``: member e's validation accuracy after
    ``eval_steps[s]`` steps, and ``curve_accuracy[name][s, e]`` its accuracy on the named ``curve_batches`` set;
    ``fallback``: why the loop fallback ran (None: vmap)."""

    members: tuple[Member, ...]
    stacked: StackedMembers
    last_losses: torch.Tensor
    diverged_step: tuple[int | None, ...]
    eval_steps: tuple[int, ...]
    val_accuracy: torch.Tensor
    curve_accuracy: Mapping[str, torch.Tensor]
    fallback: str | None


@torch.no_grad()
def adamw_step(
    flat: torch.Tensor,
    moments: tuple[torch.Tensor, torch.Tensor],
    lr: torch.Tensor,
    step: int,
    alive: torch.Tensor,
    hyper: AdamW,
) -> torch.Tensor:
    """One AdamW update of the rows ``alive`` of ``flat`` (E, P) in place, ``lr`` (E, 1), ``step`` 1-based,
    in the operation order of ``torch.optim.AdamW``'s single-tensor path. Returns the rows updated: ``alive``
    less those whose update is not finite; the others keep their parameters and moments."""
    exp_avg, exp_avg_sq = moments
    grad = flat.grad
    decayed = flat * (1 - lr * hyper.weight_decay)
    new_avg = exp_avg.lerp(grad, 1 - hyper.beta1)
    new_avg_sq = exp_avg_sq * hyper.beta2 + (1 - hyper.beta2) * grad * grad
    step_size = lr / (1 - hyper.beta1**step)
    denom = new_avg_sq.sqrt() / (1 - hyper.beta2**step) ** 0.5 + hyper.eps
    updated = decayed - step_size * (new_avg / denom)
    keep = alive & torch.isfinite(updated).all(1)
    flat.copy_(torch.where(keep[:, None], updated, flat))
    exp_avg.copy_(torch.where(keep[:, None], new_avg, exp_avg))
    exp_avg_sq.copy_(torch.where(keep[:, None], new_avg_sq, exp_avg_sq))
    return keep


def train_batched(
    factory: Callable[[], nn.Module],
    members: Sequence[Member],
    task: TaskConfig,
    *,
    steps: int,
    schedule: Callable[[int], float],
    device: torch.device,
    hyper: AdamW = AdamW(),
    val_batches: Sequence[Batch] = (),
    eval_steps: Sequence[int] = (),
    curve_batches: Mapping[str, Sequence[Batch]] | None = None,
    use_vmap: bool | None = None,
    show_progress: bool = False,
    desc: str = "members",
) -> BatchedRun:
    """Train ``members`` of ``factory()`` on ``task`` for ``steps`` AdamW steps as one batched model.

    ``eval_steps`` (each in 1..steps) are the step counts after which every member's accuracy on the shared
    ``val_batches`` (already on ``device``) is measured, and on each named set of ``curve_batches`` (further
    learning curves, such as the in-distribution one where validation is out of distribution; measuring them
    leaves training unchanged). ``use_vmap``: None probes (`vmap_failure`), False
    forces the loop fallback. Training stops early once every member has diverged.
    """
    require(len(members) > 0, "members", "needs at least one member")
    require(steps >= 1, "steps", f"must be >= 1, got {steps}")
    require(all(1 <= s <= steps for s in eval_steps), "eval_steps", f"must lie in 1..{steps}, got {eval_steps}")
    require(all(curve_batches or {}), "curve_batches", "every set needs a non-empty name")
    seeds = sorted({m.seed for m in members})
    streams = member_configs(task, seeds)
    built = dict(zip(seeds, (module.to(device) for module in build_members(factory, seeds)), strict=True))
    stacked = StackedMembers([built[m.seed] for m in members])
    rows = torch.tensor([seeds.index(m.seed) for m in members], device=device)
    dtype = stacked.flat.dtype
    base_lr = torch.tensor([m.lr for m in members], dtype=dtype, device=device)[:, None]

    def batch_of(step: int) -> Batch:
        batch = stack_padded([stream.sample("train", step) for stream in streams])
        return Batch(*(field.to(device)[rows] for field in (batch.inputs, batch.targets, batch.loss_mask)))

    first = batch_of(0)
    fallback = vmap_failure(stacked, first) if use_vmap is None else (None if use_vmap else "use_vmap=False")
    stacked.vmapped = fallback is None
    moments = (torch.zeros_like(stacked.flat), torch.zeros_like(stacked.flat))
    alive = torch.ones(len(members), dtype=torch.bool, device=device)
    diverged = torch.full((len(members),), -1, dtype=torch.long, device=device)
    sets = {"": val_batches, **(curve_batches or {})}  # "": the validation split
    curve: dict[str, list[torch.Tensor]] = {name: [] for name in sets}
    for step in progress(range(steps), enabled=show_progress, desc=desc, total=steps):
        stacked.flat.grad = None
        losses = stacked.losses(first if step == 0 else batch_of(step))
        losses.sum().backward()
        finite = torch.isfinite(losses.detach()) & torch.isfinite(stacked.flat.grad).all(1)
        updated = adamw_step(stacked.flat, moments, base_lr * schedule(step), step + 1, alive & finite, hyper)
        diverged = torch.where(alive & ~updated, step, diverged)
        alive = updated
        if step + 1 in eval_steps:
            for name, batches in sets.items():
                curve[name].append(stacked.accuracy(batches))
        if not bool(alive.any()):
            break
    stacked.flat.grad = None
    stacked.flat.requires_grad_(False)
    accuracy = {
        name: torch.stack(points) if points else torch.empty(0, len(members), dtype=torch.float64)
        for name, points in curve.items()
    }
    return BatchedRun(
        members=tuple(members),
        stacked=stacked,
        last_losses=losses.detach(),
        diverged_step=tuple(None if s < 0 else s for s in diverged.tolist()),
        eval_steps=tuple(s for s in sorted(set(eval_steps)) if s <= step + 1),
        val_accuracy=accuracy.pop(""),
        curve_accuracy=accuracy,
        fallback=fallback,
    )
