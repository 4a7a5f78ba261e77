"""Property tests of the generators over randomly drawn configs and indices (hypothesis): index-seeded
sampling is a pure function of (config, split, index), the splits are disjoint streams, token roles never
collide, and the labels equal an independent oracle. Hypothesis runs derandomised (its examples are a fixed
function of the test) with a bounded number of examples, so these tests never flake and never slow down."""

from __future__ import annotations

import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from test_mqar import reference_answers

from attnbench.tasks.mqar import IGNORE, MQARConfig
from attnbench.tasks.state_tracking import StateTrackingConfig, example_lengths

PROPERTY = settings(max_examples=25, deadline=None, derandomize=True)


@st.composite
def mqar_configs(draw: st.DrawFn) -> MQARConfig:
    pairs = draw(st.integers(1, 8))
    passes = draw(st.integers(1, 3))
    seq_len = 2 * draw(st.integers(pairs * (passes + 1) + pairs, pairs * (passes + 1) + pairs + 16))
    return MQARConfig(
        vocab_size=draw(st.integers(2 * pairs + 8, 96)),
        seq_len=seq_len,
        num_kv_pairs=pairs,
        num_passes=passes,
        power_a=draw(st.sampled_from([0.01, 0.5, 1.0])),
        batch_size=draw(st.integers(1, 8)),
    )


@PROPERTY
@given(config=mqar_configs(), index=st.integers(0, 10**6))
def test_mqar_labels_roles_and_seeding(config: MQARConfig, index: int) -> None:
    batch = config.sample("train", index)
    again = config.sample("train", index)
    assert torch.equal(batch.inputs, again.inputs) and torch.equal(batch.targets, again.targets)
    assert not torch.equal(batch.inputs, config.sample("test", index).inputs) or config.batch_size == 1
    keys = batch.inputs[:, 0 : config.context_len : 2]
    values = batch.inputs[:, 1 : config.context_len : 2]
    assert ((keys >= config.first_key) & (keys < config.first_value)).all()
    assert ((values >= config.first_value) & (values < config.vocab_size)).all()
    for row, answers in enumerate(reference_answers(config, batch.inputs)):
        scored = batch.loss_mask[row].nonzero().flatten().tolist()
        assert len(scored) == config.num_kv_pairs
        assert all(batch.targets[row, t].item() == answers[t] for t in scored)
    assert (batch.targets[~batch.loss_mask] == IGNORE).all()
    assert torch.equal(config.oracle(batch), batch.targets)


@PROPERTY
@given(
    low=st.integers(3, 20),
    extra=st.integers(0, 20),
    index=st.integers(0, 10**6),
    split=st.sampled_from(["train", "val", "test"]),
)
def test_parity_labels_and_lengths(low: int, extra: int, index: int, split: str) -> None:
    config = StateTrackingConfig(
        task="parity",
        train_min_len=low,
        train_max_len=low + extra,
        eval_min_len=low + extra,
        eval_max_len=low + 2 * extra + 1,
        batch_size=8,
    )
    batch = config.sample(split, index)
    assert torch.equal(batch.inputs, config.sample(split, index).inputs)
    shortest, longest = config.lengths(split)
    lengths = example_lengths(config, batch)
    assert ((lengths >= shortest) & (lengths <= longest)).all()
    for inputs, targets, mask in zip(batch.inputs, batch.targets, batch.loss_mask, strict=True):
        position = int(mask.nonzero())
        assert int(targets[position]) == inputs[: position + 1].tolist().count(2) % 2 + 1
    assert torch.equal(config.oracle(batch), batch.targets)
