"""Scan and Snap data model (Tian et al. 2023, Sec 3.2): token roles, probabilities, sampling, oracle."""

import math

import numpy as np
import pytest
import torch

from attnbench.errors import ConfigError
from attnbench.tasks.scan_snap import (
    ScanSnapConfig,
    bayes_log_posterior,
    common_tokens,
    context_probs,
    distinct_tokens,
    label_of_class,
    query_of_class,
)

SMALL = ScanSnapConfig(num_common=3, distinct_per_class=4, num_queries=2, classes_per_query=2, seq_len=9, batch_size=64)


def test_vocabulary_roles_are_disjoint_and_cover_the_vocabulary():
    config = SMALL
    roles = [common_tokens(config), query_of_class(config), label_of_class(config)]
    roles += [distinct_tokens(config, n) for n in range(config.num_classes)]
    everything = np.concatenate([np.unique(r) for r in roles])
    assert len(everything) == len(set(everything.tolist())) == config.vocab_size
    assert config.vocab_size == 3 + 4 * 4 + 2 + 4


def test_common_and_distinct_tokens_follow_their_definition():
    """Ω(l) = {n : P(l|n) > 0}: |Ω| = K for common tokens, {n} for G_DT(n), empty for query/label ids."""
    probs = context_probs(SMALL)
    np.testing.assert_allclose(probs.sum(axis=1), 1.0, rtol=1e-15)
    support = probs > 0
    assert np.all(support[:, common_tokens(SMALL)])
    for n in range(SMALL.num_classes):
        owners = np.flatnonzero(support[:, distinct_tokens(SMALL, n)].any(axis=1))
        assert owners.tolist() == [n]
        assert np.all(np.diff(probs[n, distinct_tokens(SMALL, n)]) > 0)  # increasing P(l|n)
    assert not support[:, query_of_class(SMALL)].any() and not support[:, label_of_class(SMALL)].any()


def test_repository_probabilities_of_syn_small():
    """Notes B6: common tokens 1/15.5 each, distinct linspace(0.1, 1, 10)/15.5."""
    config = ScanSnapConfig(num_queries=2, classes_per_query=1)
    probs = context_probs(config)
    assert config.vocab_size == 34
    np.testing.assert_allclose(probs[0, :10], 1 / 15.5)
    np.testing.assert_allclose(probs[0, 10:20], np.linspace(0.1, 1, 10) / 15.5)


def test_sample_layout_and_determinism():
    batch = SMALL.sample("train", 3)
    again = SMALL.sample("train", 3)
    assert torch.equal(batch.inputs, again.inputs) and torch.equal(batch.targets, again.targets)
    assert batch.inputs.shape == (SMALL.batch_size, SMALL.seq_len)
    assert batch.loss_mask.all()
    classes = torch.as_tensor(label_of_class(SMALL)).tolist()
    for row, target in zip(batch.inputs, batch.targets, strict=True):
        n = classes.index(int(target))
        assert int(row[-1]) == query_of_class(SMALL)[n]
        allowed = set(common_tokens(SMALL).tolist()) | set(distinct_tokens(SMALL, n).tolist())
        assert set(row[:-1].tolist()) <= allowed
    other = SMALL.sample("val", 3)
    assert not torch.equal(batch.inputs, other.inputs)


def test_token_frequencies_match_p_l_given_n():
    """Pooled counts over 40 batches: Pearson χ² per class against P(·|n).

    Statistic ≤ df + 6·sqrt(2·df) has a false-failure rate below 1e-4 per class for df ≤ 20 (χ² tail);
    fixed seeds make the test deterministic.
    """
    config = ScanSnapConfig(
        num_common=3, distinct_per_class=4, num_queries=1, classes_per_query=2, seq_len=33, batch_size=128
    )
    probs = context_probs(config)
    counts = np.zeros_like(probs)
    for index in range(40):
        batch = config.sample("train", index)
        labels = label_of_class(config).tolist()
        for row, target in zip(batch.inputs.numpy(), batch.targets.tolist(), strict=True):
            np.add.at(counts[labels.index(target)], row[:-1], 1)
    for n in range(config.num_classes):
        support = probs[n] > 0
        expected = probs[n, support] * counts[n].sum()
        chi2 = ((counts[n, support] - expected) ** 2 / expected).sum()
        df = support.sum() - 1
        assert chi2 <= df + 6 * math.sqrt(2 * df), (n, chi2, df)


def test_bayes_oracle_matches_brute_force_posterior():
    batch = SMALL.sample("test", 0)
    probs = context_probs(SMALL)
    posterior = bayes_log_posterior(SMALL, batch.inputs).exp().numpy()
    for row, post in zip(batch.inputs.numpy(), posterior, strict=True):
        joint = np.array(
            [np.prod(probs[n, row[:-1]]) * (query_of_class(SMALL)[n] == row[-1]) for n in range(SMALL.num_classes)]
        )
        np.testing.assert_allclose(post, joint / joint.sum(), rtol=1e-9, atol=1e-12)
    accuracy = (SMALL.oracle(batch) == batch.targets).float().mean()
    assert accuracy > 0.5


def test_distinct_token_decides_the_class():
    """Any distinct token of n in the context makes the oracle certain of n (the other class has P = 0)."""
    batch = SMALL.sample("test", 1)
    predicted = SMALL.oracle(batch)
    owners = {int(t): n for n in range(SMALL.num_classes) for t in distinct_tokens(SMALL, n)}
    labels = label_of_class(SMALL)
    for row, guess in zip(batch.inputs.tolist(), predicted.tolist(), strict=True):
        seen = {owners[t] for t in row[:-1] if t in owners}
        if seen:
            assert guess == labels[seen.pop()]


@pytest.mark.parametrize(
    "field, value", [("num_queries", 0), ("seq_len", 1), ("distinct_min", 2.0), ("common_weight", 0.0)]
)
def test_bad_config_is_rejected(field, value):
    with pytest.raises(ConfigError, match=field):
        ScanSnapConfig(**{field: value})
