"""State-tracking generators vs independent oracles: group scans by permutation composition, parity by
counting, modular arithmetic by Python's eval; token roles, masks and the length split."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
import torch

from attnbench.errors import ConfigError
from attnbench.tasks.state_tracking import (
    GROUPS,
    IGNORE,
    StateTrackingConfig,
    chance_accuracy,
    example_lengths,
    group_table,
    vocab_size,
)


def cycle_parity(perm: tuple[int, ...]) -> int:
    """Parity of a permutation from its cycle decomposition: (n - number of cycles) mod 2."""
    seen, cycles = set(), 0
    for start in range(len(perm)):
        if start not in seen:
            cycles += 1
            while start not in seen:
                seen.add(start)
                start = perm[start]
    return (len(perm) - cycles) % 2


def reference_elements(group: str) -> list:
    """The group's elements in the generator's id order, built independently: integers for Z60, permutations
    in lexicographic order (even ones only for A5) otherwise."""
    if group == "Z60":
        return list(range(60))
    perms = sorted(itertools.permutations(range(int(group[1:]))))
    return [p for p in perms if group[0] == "S" or cycle_parity(p) == 0]


def reference_product(group: str, a: object, b: object) -> object:
    """a · b: addition mod 60, or the permutation 'apply a, then b'."""
    return (a + b) % 60 if group == "Z60" else tuple(b[a[i]] for i in range(len(a)))


@pytest.mark.parametrize("group, order", [("S3", 6), ("S5", 120), ("A5", 60), ("Z60", 60)])
def test_group_tables_are_groups(group: str, order: int) -> None:
    table = group_table(group)
    assert table.shape == (order, order)
    ids = np.arange(order)
    assert (table[0] == ids).all() and (table[:, 0] == ids).all()  # id 0 is the identity
    for row in (table, table.T):  # Latin square: inverses exist and are unique
        assert all(len(set(r)) == order for r in row)
    a, b, c = (
        np.meshgrid(ids, ids, ids, indexing="ij")
        if order <= 60
        else np.random.default_rng(0).integers(0, order, size=(3, 20_000))
    )
    assert (table[table[a, b], c] == table[a, table[b, c]]).all()
    abelian = (table == table.T).all()
    assert abelian == (group == "Z60")


@pytest.mark.parametrize("group", GROUPS)
def test_word_problem_labels_are_prefix_products(group: str) -> None:
    config = StateTrackingConfig(task="word_problem", group=group, train_min_len=1, train_max_len=30, batch_size=16)
    elements = reference_elements(group)
    index = {e: i for i, e in enumerate(elements)}
    batch = config.sample("train", 2)
    lengths = example_lengths(config, batch)
    for row in range(config.batch_size):
        n = int(lengths[row])
        word = batch.inputs[row, :n].tolist()
        state = elements[word[0]]
        expected = [index[state]]
        for token in word[1:]:
            state = reference_product(group, state, elements[token])
            expected.append(index[state])
        assert batch.targets[row, :n].tolist() == expected
        assert batch.loss_mask[row, :n].all() and not batch.loss_mask[row, n:].any()
        assert (batch.inputs[row, n:] == len(elements)).all()  # PAD id = |G|, never an element
    assert (batch.inputs[batch.loss_mask] < len(elements)).all()


def test_parity_labels_count_twos() -> None:
    config = StateTrackingConfig(task="parity", train_min_len=3, train_max_len=40, batch_size=64)
    batch = config.sample("train", 0)
    assert (batch.loss_mask.sum(dim=1) == 1).all()
    for inputs, targets, mask in zip(batch.inputs, batch.targets, batch.loss_mask, strict=True):
        position = int(mask.nonzero())
        observed = inputs[: position + 1].tolist()
        assert set(observed) <= {1, 2} and (inputs[position + 1 :] == 0).all()
        assert int(targets[position]) == observed.count(2) % 2 + 1
    assert (batch.targets[~batch.loss_mask] == IGNORE).all()


def test_mod_arith_labels_match_python_eval() -> None:
    config = StateTrackingConfig(task="mod_arith", train_min_len=3, train_max_len=41, batch_size=64)
    batch = config.sample("train", 0)
    symbols = {1: "+", 2: "-", 3: "*"} | {5 + i: str(i) for i in range(5)}
    for inputs, targets, mask in zip(batch.inputs, batch.targets, batch.loss_mask, strict=True):
        position = int(mask.nonzero())
        assert int(inputs[position]) == 4  # '=' is the scored input
        expression = "".join(symbols[t] for t in inputs[:position].tolist())
        assert int(targets[position]) - 5 == eval(expression) % 5  # noqa: S307 -- digits and + - * only
        assert (inputs[position + 1 :] == 0).all()


def test_bracketed_mod_arith_labels_match_python_eval() -> None:
    """Every example is a well-formed +/- expression of exactly n-2 tokens, ``=`` is the scored input and the
    label is Python's value of the expression mod 5; all four leaf shapes occur."""
    config = StateTrackingConfig(task="mod_arith_brackets", train_min_len=3, train_max_len=60, batch_size=64)
    batch = config.sample("train", 1)
    symbols = {1: "+", 2: "-", 10: "(", 11: ")"} | {5 + i: str(i) for i in range(5)}
    lengths = example_lengths(config, batch)
    texts = []
    for inputs, targets, mask, n in zip(batch.inputs, batch.targets, batch.loss_mask, lengths, strict=True):
        position = int(mask.nonzero())
        assert position == int(n) - 2 and int(inputs[position]) == 4
        expression = "".join(symbols[t] for t in inputs[:position].tolist())
        assert expression.count("(") == expression.count(")")
        assert int(targets[position]) - 5 == eval(expression) % 5  # noqa: S307 -- digits, brackets, + and -
        assert (inputs[position + 1 :] == 0).all()
        texts.append(expression)
    joined = " ".join(texts)
    assert all(shape in joined for shape in ("(-", "+-", "-(", "+("))
    assert vocab_size(config) == 12 and chance_accuracy(config) == 1 / 5


@pytest.mark.parametrize("task", ["word_problem", "parity", "mod_arith", "mod_arith_brackets"])
def test_length_split(task: str) -> None:
    config = StateTrackingConfig(
        task=task, group="A5", train_min_len=3, train_max_len=12, eval_min_len=40, eval_max_len=64, batch_size=256
    )
    train = example_lengths(config, config.sample("train", 0))
    test = example_lengths(config, config.sample("test", 0))
    assert train.min() >= 3 and train.max() <= 12 and test.min() >= 40 and test.max() <= 64
    if task == "mod_arith":
        assert (train % 2 == 1).all() and (test % 2 == 1).all()
    val = config.sample("val", 0)
    assert example_lengths(config, val).min() >= 40
    assert not torch.equal(val.inputs, config.sample("test", 0).inputs)


def test_vocab_and_chance() -> None:
    assert vocab_size(StateTrackingConfig(task="word_problem", group="A5")) == 61
    assert vocab_size(StateTrackingConfig(task="parity")) == 3
    assert vocab_size(StateTrackingConfig(task="mod_arith")) == 10
    assert chance_accuracy(StateTrackingConfig(task="word_problem", group="S5")) == 1 / 120
    assert chance_accuracy(StateTrackingConfig(task="parity")) == 0.5


@pytest.mark.parametrize(
    "task, group",
    [
        ("word_problem", "A5"),
        ("word_problem", "Z60"),
        ("parity", "S3"),
        ("mod_arith", "S3"),
        ("mod_arith_brackets", "S3"),
    ],
)
def test_oracle_recomputes_every_scored_label_from_the_inputs(task: str, group: str) -> None:
    """The oracle re-derives the labels (prefix products, parity, the bracket-aware evaluator) on both length
    ranges; the labels themselves are checked against independent implementations above."""
    config = StateTrackingConfig(task=task, group=group, batch_size=16, eval_max_len=96)
    for split in ("train", "test"):
        batch = config.sample(split, 4)
        assert torch.equal(config.oracle(batch), batch.targets)


def test_deterministic() -> None:
    config = StateTrackingConfig(task="word_problem", group="S5", batch_size=4)
    a, b = config.sample("test", 9), config.sample("test", 9)
    assert torch.equal(a.inputs, b.inputs) and torch.equal(a.targets, b.targets)


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"task": "copy"}, "task: must be"),
        ({"group": "D4"}, "group: must be"),
        ({"train_min_len": 10, "train_max_len": 5}, "min <= max"),
        ({"eval_min_len": 2}, "eval lengths"),
        ({"task": "mod_arith", "train_min_len": 4, "train_max_len": 4}, "odd"),
    ],
)
def test_bad_config_is_rejected(kwargs: dict, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        StateTrackingConfig(**kwargs)
