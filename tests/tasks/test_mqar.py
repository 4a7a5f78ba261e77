"""MQAR generator vs an independent oracle, token roles, the power-law query placement, determinism."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from scipy import stats

from attnbench.errors import ConfigError
from attnbench.tasks.mqar import (
    IGNORE,
    MQARConfig,
    chance_accuracy,
    gap_weights,
    query_accuracy,
)

CONFIGS = [
    MQARConfig(vocab_size=64, seq_len=32, num_kv_pairs=4, batch_size=32),
    MQARConfig(vocab_size=40, seq_len=64, num_kv_pairs=16, batch_size=16, filler_tokens=6, power_a=1.0),
    MQARConfig.zoology(seq_len=64, num_kv_pairs=4, batch_size=32),
    MQARConfig.zoology(seq_len=256, num_kv_pairs=16, batch_size=8),
    MQARConfig(vocab_size=64, seq_len=48, num_kv_pairs=4, batch_size=16, num_passes=3),
    MQARConfig.zoology(seq_len=64, num_kv_pairs=8, batch_size=8, num_passes=2),
]


def reference_answers(config: MQARConfig, inputs: torch.Tensor) -> list[dict[int, int]]:
    """Per example, {position: value} for every position in the query region that repeats a context key,
    built with a plain dict from the first 2K tokens."""
    answers = []
    for row in inputs.tolist():
        lookup = {row[2 * i]: row[2 * i + 1] for i in range(config.num_kv_pairs)}
        queries = enumerate(row[config.context_len :], start=config.context_len)
        answers.append({t: lookup[tok] for t, tok in queries if tok in lookup})
    return answers


@pytest.mark.parametrize("config", CONFIGS, ids=str)
def test_labels_match_dictionary_oracle(config: MQARConfig) -> None:
    batch = config.sample("train", 3)
    for row, answers in enumerate(reference_answers(config, batch.inputs)):
        scored = batch.loss_mask[row].nonzero().flatten().tolist()
        # every scored label is the dict answer; each key is scored exactly once
        assert len(scored) == config.num_kv_pairs
        for t in scored:
            assert batch.targets[row, t].item() == answers[t]
        context_keys = batch.inputs[row, 0 : 2 * config.num_kv_pairs : 2].tolist()
        assert sorted(batch.inputs[row, scored].tolist()) == sorted(context_keys)
        if config.fillers == "disjoint":  # no unscored repeat of a key
            assert sorted(answers) == scored
    assert (batch.targets[~batch.loss_mask] == IGNORE).all()
    oracle = config.oracle(batch)
    assert torch.equal(oracle, batch.targets)
    assert query_accuracy(oracle, batch.targets, batch.loss_mask) == 1.0


@pytest.mark.parametrize("config", CONFIGS, ids=str)
def test_token_roles(config: MQARConfig) -> None:
    batch = config.sample("val", 0)
    keys = batch.inputs[:, 0 : config.context_len : 2]
    values = batch.inputs[:, 1 : config.context_len : 2]
    assert ((keys >= config.first_key) & (keys < config.first_value)).all()
    assert ((values >= config.first_value) & (values < config.vocab_size)).all()
    for row in range(config.batch_size):
        assert len(set(keys[row].tolist())) == config.num_kv_pairs
        assert len(set(values[row].tolist())) == config.num_kv_pairs
    queries = batch.inputs[:, config.context_len :]
    fillers = queries[~batch.loss_mask[:, config.context_len :]]
    assert ((fillers >= 0) & (fillers < config.vocab_size)).all()
    if config.fillers == "disjoint":
        assert (fillers < config.filler_tokens).all()


def test_passes_repeat_the_first_pass() -> None:
    """With ``num_passes = P`` the context is the first pass's ``k1 v1 ... kK vK`` tiled P times."""
    config = MQARConfig(vocab_size=64, seq_len=48, num_kv_pairs=4, batch_size=16, num_passes=3)
    context = config.sample("train", 0).inputs[:, : config.context_len]
    assert config.context_len == 24
    assert torch.equal(context, context[:, :8].repeat(1, 3))


def test_zoology_layout_and_filler_collisions() -> None:
    """Zoology: keys in [1, V/2), values in [V/2, V), fillers uniform over [0, V): with a small vocabulary
    some fillers repeat a key (the unscored distractors of zoology#29); the default mode forbids this."""
    config = MQARConfig.zoology(seq_len=64, num_kv_pairs=4)
    assert (config.vocab_size, config.first_key, config.first_value) == (8192, 1, 4096)
    small = MQARConfig(vocab_size=24, seq_len=64, num_kv_pairs=4, fillers="zoology", batch_size=64)
    batch = small.sample("train", 0)
    answers = reference_answers(small, batch.inputs)
    assert sum(len(a) for a in answers) > small.num_kv_pairs * small.batch_size


def test_query_gaps_follow_power_law_single_pair() -> None:
    """With K = 1 the query gap g has exactly the law w_g ∝ a (g+1)^(a-1). Pearson chi-square goodness-of-fit
    over 20,000 draws (every expected count >= 5) at level 1e-3: a correct generator fails
    with probability 1e-3 over seeds; the seed is fixed, so the test is deterministic."""
    config = MQARConfig(vocab_size=64, seq_len=64, num_kv_pairs=1, batch_size=20_000)
    batch = config.sample("train", 0)
    gaps = (batch.loss_mask.float().argmax(dim=1) - config.context_len) // 2
    observed = np.bincount(gaps.numpy(), minlength=config.num_gaps).astype(float)
    expected = gap_weights(config) * config.batch_size
    assert expected.min() >= 5  # no pooling needed at this size
    assert stats.chisquare(observed, expected).pvalue > 1e-3


def test_query_gaps_match_zoology_sampler_many_pairs() -> None:
    """With K = 8, per-gap inclusion counts match those of Zoology's own call,
    ``RandomState.choice(space, K, replace=False, p=w)``, by a chi-square homogeneity test at level 1e-3
    (8,000 examples each; the K gaps of one example are negatively correlated, which only lowers the
    variance, so the stated false-failure rate is an upper bound). Seeds are fixed: deterministic."""
    config = MQARConfig(vocab_size=128, seq_len=96, num_kv_pairs=8, batch_size=8_000)
    batch = config.sample("train", 1)
    gaps = (batch.loss_mask[:, config.context_len :].nonzero()[:, 1]) // 2
    ours = np.bincount(gaps.numpy(), minlength=config.num_gaps)
    legacy = np.random.RandomState(0)
    w = gap_weights(config)
    theirs = np.bincount(
        np.concatenate(
            [legacy.choice(config.num_gaps, config.num_kv_pairs, replace=False, p=w) for _ in range(config.batch_size)]
        ),
        minlength=config.num_gaps,
    )
    table = np.stack([ours, theirs])
    table = table[:, table.sum(axis=0) >= 10]
    assert stats.chi2_contingency(table).pvalue > 1e-3


def test_uniform_gaps_when_power_is_one() -> None:
    config = MQARConfig(vocab_size=64, seq_len=64, num_kv_pairs=1, power_a=1.0)
    np.testing.assert_allclose(gap_weights(config), np.full(config.num_gaps, 1 / config.num_gaps))


def test_index_seeding_is_deterministic_and_splits_differ() -> None:
    config = CONFIGS[0]
    a, b = config.sample("train", 5), config.sample("train", 5)
    assert torch.equal(a.inputs, b.inputs) and torch.equal(a.targets, b.targets)
    assert not torch.equal(a.inputs, config.sample("test", 5).inputs)
    assert not torch.equal(a.inputs, config.sample("train", 6).inputs)


def test_chance_level() -> None:
    config = MQARConfig(vocab_size=64, seq_len=32, num_kv_pairs=4)
    assert config.num_values == 32 and chance_accuracy(config) == 1 / 32


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"seq_len": 33}, "even"),
        ({"seq_len": 32, "num_kv_pairs": 9}, "num_kv_pairs \\* \\(num_passes \\+ 1\\)"),
        ({"seq_len": 32, "num_kv_pairs": 4, "num_passes": 4}, "num_passes=4"),
        ({"num_passes": 0}, "num_passes: must be"),
        ({"fillers": "random"}, "fillers: must be one of"),
        ({"vocab_size": 8, "num_kv_pairs": 4, "seq_len": 16}, "fewer than num_kv_pairs"),
        ({"fillers": "zoology", "filler_tokens": 3}, "filler_tokens"),
        ({"power_a": 0.0}, "power_a"),
    ],
)
def test_bad_config_is_rejected(kwargs: dict, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        MQARConfig(**kwargs)
