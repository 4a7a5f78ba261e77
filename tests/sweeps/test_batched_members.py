"""Batched (seed, lr) members (`attnbench.sweeps.batched_members`): each member follows exactly the trajectory
``torch.optim.AdamW`` gives it alone, per-member learning rates, divergence isolation, the validation curve
and further named curves, the loop fallback for mixers vmap cannot run, and the padding of unequal batch
lengths."""

from __future__ import annotations

import pytest
import torch

from attnbench.models.backbone import Backbone
from attnbench.sweeps.batched_members import (
    AdamW,
    Member,
    masked_token_loss,
    member_grid,
    stack_padded,
    train_batched,
)
from attnbench.sweeps.token_training import token_accuracy, warmup_cosine
from attnbench.tasks.base import member_configs
from attnbench.tasks.mqar import MQARConfig
from attnbench.tasks.state_tracking import StateTrackingConfig, vocab_size

TASK = MQARConfig(vocab_size=16, seq_len=16, num_kv_pairs=2, batch_size=4)
CPU = torch.device("cpu")
STEPS = 4
SCHEDULE = warmup_cosine(STEPS)
HYPER = AdamW(weight_decay=0.1)


def factory(mixer: str) -> Backbone:
    """A tiny fp64 MQAR backbone (fp64 so that trajectories can be compared tightly)."""
    return Backbone(TASK.vocab_size, 8, 1, mixer, heads=1, mlp_ratio=0, max_len=TASK.seq_len).double()


def train(mixer: str, members: list[Member], **kwargs: object):
    return train_batched(
        lambda: factory(mixer), members, TASK, steps=STEPS, schedule=SCHEDULE, device=CPU, hyper=HYPER, **kwargs
    )


def alone(mixer: str, member: Member) -> list[torch.Tensor]:
    """The member trained by itself with torch.optim.AdamW at its own lr (the reference trajectory)."""
    torch.manual_seed(member.seed)
    model = factory(mixer)
    optimizer = torch.optim.AdamW(model.parameters(), lr=member.lr, weight_decay=HYPER.weight_decay)
    stream = member_configs(TASK, [member.seed])[0]
    for step in range(STEPS):
        optimizer.param_groups[0]["lr"] = member.lr * SCHEDULE(step)
        optimizer.zero_grad()
        batch = stream.sample("train", step)
        masked_token_loss(model(batch.inputs), batch.targets, batch.loss_mask).backward()
        optimizer.step()
    return [p.detach() for p in model.parameters()]


def gap(first: list[torch.Tensor], second: list[torch.Tensor]) -> float:
    return max(float((a - b).detach().abs().max()) for a, b in zip(first, second, strict=True))


@pytest.mark.parametrize(("mixer", "vmapped"), [("softmax", True), ("linear", True), ("gated_linear", False)])
def test_each_member_follows_its_own_adamw_trajectory(mixer: str, vmapped: bool) -> None:
    """fp64, 2 seeds x 2 lrs, weight decay and a warm-up-cosine schedule: every member ends where
    torch.optim.AdamW at its own lr takes it alone (gated_linear goes through the loop fallback)."""
    members = member_grid([0, 1], [1e-3, 3e-2])
    run = train(mixer, members)
    assert (run.fallback is None) == vmapped
    for e, member in enumerate(members):
        assert gap(list(run.stacked.module(e).parameters()), alone(mixer, member)) < 1e-12


def test_learning_rates_are_per_member() -> None:
    """A member at lr = 0 stays exactly at its initialisation while its seed twin at lr > 0 moves."""
    run = train("softmax", [Member(0, 0.0), Member(0, 1e-2)])
    torch.manual_seed(0)
    initial = [p.detach() for p in factory("softmax").parameters()]
    assert gap(list(run.stacked.module(0).parameters()), initial) == 0.0
    assert gap(list(run.stacked.module(1).parameters()), initial) > 1e-4


@pytest.mark.parametrize(("lr", "step"), [(1e300, 1), (float("inf"), 0)])
def test_a_diverging_member_is_frozen_and_the_others_train_on(lr: float, step: int) -> None:
    """lr = 1e300 makes the loss of step 1 non-finite, lr = inf the update of step 0: that member is frozen
    at its last finite parameters and its step recorded; the other member ends where it would alone."""
    run = train("softmax", [Member(0, 1e-2), Member(1, lr)])
    assert run.diverged_step == (None, step)
    assert bool(torch.isfinite(run.stacked.flat).all())
    assert gap(list(run.stacked.module(0).parameters()), alone("softmax", Member(0, 1e-2))) < 1e-12
    if step == 0:
        torch.manual_seed(1)
        assert gap(list(run.stacked.module(1).parameters()), list(factory("softmax").parameters())) == 0.0


def test_validation_curve_matches_token_accuracy() -> None:
    """The member-batched validation accuracy equals `token_accuracy` of every member's own module."""
    val = [TASK.sample("val", i) for i in range(2)]
    run = train("softmax", member_grid([0, 1], [1e-2]), val_batches=val, eval_steps=[2, STEPS])
    assert run.eval_steps == (2, STEPS) and run.val_accuracy.shape == (2, 2)
    for e in range(2):
        assert float(run.val_accuracy[-1, e]) == pytest.approx(token_accuracy(run.stacked.module(e), val))


def test_named_curve_sets_are_measured_and_leave_training_unchanged() -> None:
    """A further named set (``curve_batches``) gets its own curve, equal to `token_accuracy` of each member's
    module, at the same steps; the parameters and the validation curve are bit-identical to a run without it.
    An unnamed set is refused before any training."""
    val, extra = [TASK.sample("val", 0)], [TASK.sample("test", i) for i in range(2)]
    members = member_grid([0, 1], [1e-2])
    plain = train("softmax", members, val_batches=val, eval_steps=[2, STEPS])
    both = train("softmax", members, val_batches=val, eval_steps=[2, STEPS], curve_batches={"extra": extra})
    assert set(both.curve_accuracy) == {"extra"} and both.curve_accuracy["extra"].shape == (2, 2)
    assert torch.equal(both.stacked.flat, plain.stacked.flat) and torch.equal(both.val_accuracy, plain.val_accuracy)
    for e in range(2):
        expected = token_accuracy(both.stacked.module(e), extra)
        assert float(both.curve_accuracy["extra"][-1, e]) == pytest.approx(expected)
    with pytest.raises(ValueError, match="curve_batches"):
        train("softmax", members, val_batches=val, eval_steps=[STEPS], curve_batches={"": extra})


def test_loop_fallback_equals_vmap_and_serves_lla() -> None:
    """The loop fallback computes what vmap computes; LLA (a custom autograd Function) is routed to it."""
    members = member_grid([0, 1], [1e-2])
    vmapped, looped = train("softmax", members), train("softmax", members, use_vmap=False)
    assert looped.fallback == "use_vmap=False"
    assert float((vmapped.stacked.flat - looped.stacked.flat).abs().max()) < 1e-12
    lla = train("lla", members)
    assert "autograd.Function" in lla.fallback and bool(torch.isfinite(lla.last_losses).all())


@torch.no_grad()
def test_padding_to_a_common_length_changes_no_member_loss() -> None:
    """State-tracking batches differ in length across streams; right-padded to the longest with unscored
    positions, each member's loss under a causal backbone is the one of its own batch."""
    task = StateTrackingConfig(task="parity", train_max_len=20, batch_size=4)
    batches = [stream.sample("train", 0) for stream in member_configs(task, [0, 1, 2])]
    assert len({batch.inputs.shape[1] for batch in batches}) > 1
    padded = stack_padded(batches)
    torch.manual_seed(0)
    model = Backbone(vocab_size(task), 8, 1, "softmax", heads=1, mlp_ratio=0).double()
    for e, batch in enumerate(batches):
        own = masked_token_loss(model(batch.inputs), batch.targets, batch.loss_mask)
        stacked = masked_token_loss(model(padded.inputs[e]), padded.targets[e], padded.loss_mask[e])
        assert float(stacked) == pytest.approx(float(own), abs=1e-12)
