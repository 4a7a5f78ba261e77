"""State-tracking tasks: group word problems, parity and modular arithmetic, with a length split.

- Word problems (Merrill, Petty & Sabharwal 2024, "The Illusion of State in State-Space Models"): a
  sequence ``x_1 .. x_n`` of elements of a finite group G drawn uniformly; the target at every position t is
  the prefix product ``p_t = x_1 · x_2 · … · x_t`` (left to right), so every position is scored. Groups:
  S3, S5, A5 (permutations, ``(a·b)(i) = b(a(i))``: apply ``a`` first) and Z60 (addition mod 60). Element 0
  is the identity; inputs use ids ``0 .. |G|-1`` and a PAD id ``|G|``.
- Parity (Grazzi et al. 2025, "Unlocking State-Tracking in Linear RNNs Through Negative Eigenvalues",
  code ``automl/unlocking_state_tracking``): vocabulary {0 = PAD, 1, 2}; a length-n example is n-1 uniform
  tokens from {1, 2}; the answer token is ``(number of 2s) mod 2 + 1`` and is scored at the last input
  position (Grazzi's shift-by-one with the answer slot masked).
- Modular arithmetic without brackets (same source): ids 0 = PAD, 1 = ``+``, 2 = ``-``, 3 = ``*``,
  4 = ``=``, numbers 0..4 as ids 5..9; odd length n: an expression of n-2 alternating numbers and operators,
  then ``=``; the answer (the expression mod 5, ``*`` binding tighter) is scored on the ``=`` position.
- Modular arithmetic with brackets (same source, ``mult = False``): the ids above plus 10 = ``(``,
  11 = ``)``; a random expression of exactly n-2 tokens over ``+``/``-`` with leaves ``x``, ``-x``, ``(x)``,
  ``(-x)`` and internal nodes ``(L op R)``, then ``=``; the answer (mod 5) is scored on ``=``. Grazzi's
  sequences carry one more trailing PAD (expression length n-3); here n counts the answer slot as in the
  no-bracket task. The expression law is ours: length m <= 4 is the leaf of that length, a longer one is
  ``(L op R)`` with ``len(L)`` uniform on 1..m-4 and ``op`` uniform.

Length split (Grazzi et al.): the train split draws lengths uniformly from ``train_lengths`` (3..40), the
val and test splits from ``eval_lengths`` (40..256), so the test measures length generalisation. Batches
are padded to the split's maximum length; padding is never scored.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from functools import cache

import numpy as np
import torch

from attnbench.errors import require
from attnbench.tasks.base import Batch, Split, TaskConfig, numpy_rng

IGNORE = -100
TASKS = ("word_problem", "parity", "mod_arith", "mod_arith_brackets")
GROUPS = ("S3", "S5", "A5", "Z60")
PAD = 0  # parity / mod_arith pad id (word problems pad with |G|)
PLUS, MINUS, TIMES, EQUALS, FIRST_NUMBER = 1, 2, 3, 4, 5
MODULUS = 5
OPEN, CLOSE = FIRST_NUMBER + MODULUS, FIRST_NUMBER + MODULUS + 1  # brackets (mod_arith_brackets only)


def _permutation_parity(perm: tuple[int, ...]) -> int:
    """0 for even permutations, 1 for odd ones (the parity of the number of inversions)."""
    return sum(perm[i] > perm[j] for i in range(len(perm)) for j in range(i + 1, len(perm))) % 2


@cache
def group_table(group: str) -> np.ndarray:
    """The multiplication table ``table[a, b] = a · b`` of ``group`` on ids 0..|G|-1 (id 0 = identity)."""
    require(group in GROUPS, "group", f"must be one of {GROUPS}, got {group!r}")
    if group == "Z60":
        ids = np.arange(60)
        return (ids[:, None] + ids[None, :]) % 60
    n = int(group[1:])
    elements = list(itertools.permutations(range(n)))  # lexicographic: the identity comes first
    if group.startswith("A"):
        elements = [p for p in elements if _permutation_parity(p) == 0]
    index = {p: i for i, p in enumerate(elements)}
    table = np.empty((len(elements), len(elements)), dtype=np.int64)
    for (i, a), (j, b) in itertools.product(enumerate(elements), repeat=2):
        table[i, j] = index[tuple(b[a[x]] for x in range(n))]
    return table


@dataclass(frozen=True)
class StateTrackingConfig(TaskConfig):
    """One state-tracking task. ``group`` is used by word problems only; lengths are inclusive ranges.
    ``stream`` selects one of many independent data streams (one per ensemble member)."""

    task: str = "parity"
    group: str = "S3"
    train_min_len: int = 3
    train_max_len: int = 40
    eval_min_len: int = 40
    eval_max_len: int = 256
    batch_size: int = 64
    stream: int = 0

    def __post_init__(self) -> None:
        require(self.task in TASKS, "task", f"must be one of {TASKS}, got {self.task!r}")
        require(self.group in GROUPS, "group", f"must be one of {GROUPS}, got {self.group!r}")
        shortest = 1 if self.task == "word_problem" else 3
        for low, high, name in (
            (self.train_min_len, self.train_max_len, "train"),
            (self.eval_min_len, self.eval_max_len, "eval"),
        ):
            require(
                shortest <= low <= high,
                f"{name}_min_len",
                f"{name} lengths need {shortest} <= min <= max, got [{low}, {high}]",
            )
            require(
                not (self.task == "mod_arith" and low == high and low % 2 == 0),
                f"{name}_min_len",
                f"mod_arith needs odd lengths; [{low}, {high}] holds none",
            )
        require(self.batch_size >= 1, "batch_size", f"must be >= 1, got {self.batch_size}")

    def lengths(self, split: Split) -> tuple[int, int]:
        return (self.train_min_len, self.train_max_len) if split == "train" else (self.eval_min_len, self.eval_max_len)

    def sample(self, split: Split, index: int) -> Batch:
        """Batch ``index`` of ``split``: (batch, max length) inputs; targets are answer ids or IGNORE."""
        rng = numpy_rng(self, split, index)
        lengths = _draw_lengths(self, split, rng)
        sampler = {
            "word_problem": _word_problem,
            "parity": _parity,
            "mod_arith": _mod_arith,
            "mod_arith_brackets": _mod_arith_brackets,
        }[self.task]
        return sampler(self, lengths, rng)

    def oracle(self, batch: Batch) -> torch.Tensor:
        """The answer id at every scored position, recomputed from the inputs (IGNORE elsewhere), shaped like
        ``batch.inputs``: the prefix product (word problems), the parity of the 2s up to that position, or
        the value mod 5 of the expression before ``=``."""
        inputs, mask = batch.inputs.cpu().numpy(), batch.loss_mask.cpu().numpy()
        answers = np.full_like(inputs, IGNORE)
        if self.task == "word_problem":
            table, state = group_table(self.group), np.zeros(len(inputs), dtype=inputs.dtype)  # the identity
            for t in range(inputs.shape[1]):
                state = table[state, np.where(mask[:, t], inputs[:, t], 0)]
                answers[:, t] = state
        for row, t in zip(*np.nonzero(mask), strict=True):
            if self.task == "parity":
                answers[row, t] = int((inputs[row, : t + 1] == 2).sum()) % 2 + 1
            elif self.task != "word_problem":
                evaluate = evaluate_expression if self.task == "mod_arith" else evaluate_brackets
                answers[row, t] = FIRST_NUMBER + evaluate(inputs[row, :t])
        return torch.from_numpy(np.where(mask, answers, IGNORE)).to(batch.inputs.device)


def vocab_size(config: StateTrackingConfig) -> int:
    """Number of token ids (inputs and answers share one vocabulary)."""
    if config.task == "word_problem":
        return len(group_table(config.group)) + 1
    if config.task == "parity":
        return 3
    return CLOSE + 1 if config.task == "mod_arith_brackets" else FIRST_NUMBER + MODULUS


def chance_accuracy(config: StateTrackingConfig) -> float:
    """Accuracy of the best input-independent guess: answers are uniform over |G|, 2 or 5 classes.

    Word-problem prefix products are uniform on G at every position because x_t is uniform; the parity bit
    and the mod-5 results are uniform for the same reason (the last number is uniform and enters with a
    coefficient ±1 into a sum of terms, with or without brackets).
    """
    if config.task == "word_problem":
        return 1.0 / len(group_table(config.group))
    return 0.5 if config.task == "parity" else 1.0 / MODULUS


def _draw_lengths(config: StateTrackingConfig, split: Split, rng: np.random.Generator) -> np.ndarray:
    low, high = config.lengths(split)
    if config.task == "mod_arith":  # odd lengths only
        odd = np.arange(low + (low % 2 == 0), high + 1, 2)
        return rng.choice(odd, size=config.batch_size)
    return rng.integers(low, high + 1, size=config.batch_size)


def _batch(inputs: np.ndarray, targets: np.ndarray) -> Batch:
    targets_t = torch.from_numpy(targets)
    return Batch(inputs=torch.from_numpy(inputs), targets=targets_t, loss_mask=targets_t != IGNORE)


def _word_problem(config: StateTrackingConfig, lengths: np.ndarray, rng: np.random.Generator) -> Batch:
    table = group_table(config.group)
    order = len(table)
    width = int(lengths.max())
    valid = np.arange(width)[None, :] < lengths[:, None]
    elements = rng.integers(0, order, size=(config.batch_size, width))
    prefix = np.empty_like(elements)
    prefix[:, 0] = elements[:, 0]
    for t in range(1, width):
        prefix[:, t] = table[prefix[:, t - 1], elements[:, t]]
    inputs = np.where(valid, elements, order)
    return _batch(inputs, np.where(valid, prefix, IGNORE))


def _parity(config: StateTrackingConfig, lengths: np.ndarray, rng: np.random.Generator) -> Batch:
    width = int(lengths.max()) - 1  # the answer slot is not an input
    observed = np.arange(width)[None, :] < (lengths - 1)[:, None]
    inputs = np.where(observed, rng.integers(1, 3, size=(config.batch_size, width)), PAD)
    answer = (inputs == 2).sum(axis=1) % 2 + 1
    targets = np.full_like(inputs, IGNORE)
    targets[np.arange(config.batch_size), lengths - 2] = answer
    return _batch(inputs, targets)


def _mod_arith(config: StateTrackingConfig, lengths: np.ndarray, rng: np.random.Generator) -> Batch:
    width = int(lengths.max()) - 1
    b = config.batch_size
    numbers = rng.integers(0, MODULUS, size=(b, width))
    operators = rng.integers(PLUS, TIMES + 1, size=(b, width))
    position = np.arange(width)[None, :]
    expression = np.where(position % 2 == 0, FIRST_NUMBER + numbers, operators)
    equals_at = lengths - 2
    inputs = np.where(position < equals_at[:, None], expression, PAD)
    inputs[np.arange(b), equals_at] = EQUALS
    answer = np.array([evaluate_expression(row[:end]) for row, end in zip(inputs, equals_at, strict=True)])
    targets = np.full_like(inputs, IGNORE)
    targets[np.arange(b), equals_at] = FIRST_NUMBER + answer
    return _batch(inputs, targets)


def _bracket_expression(length: int, rng: np.random.Generator) -> tuple[list[int], int]:
    """A random ``+``/``-`` expression of exactly ``length`` tokens (law in the module docstring) and its value
    mod 5."""
    if length <= 4:  # x, -x, (x), (-x)
        x = int(rng.integers(0, MODULUS))
        signed = [MINUS, FIRST_NUMBER + x] if length % 2 == 0 else [FIRST_NUMBER + x]
        value = -x % MODULUS if length % 2 == 0 else x
        return (signed if length <= 2 else [OPEN, *signed, CLOSE]), value
    left_len = int(rng.integers(1, length - 3))
    left, left_value = _bracket_expression(left_len, rng)
    right, right_value = _bracket_expression(length - 3 - left_len, rng)
    op = int(rng.integers(PLUS, MINUS + 1))
    value = (left_value + right_value if op == PLUS else left_value - right_value) % MODULUS
    return [OPEN, *left, op, *right, CLOSE], value


def _mod_arith_brackets(config: StateTrackingConfig, lengths: np.ndarray, rng: np.random.Generator) -> Batch:
    inputs = np.full((config.batch_size, int(lengths.max()) - 1), PAD, dtype=np.int64)
    targets = np.full_like(inputs, IGNORE)
    for row, n in enumerate(lengths):
        expression, value = _bracket_expression(int(n) - 2, rng)
        inputs[row, : n - 2] = expression
        inputs[row, n - 2] = EQUALS
        targets[row, n - 2] = FIRST_NUMBER + value
    return _batch(inputs, targets)


def evaluate_expression(tokens: np.ndarray) -> int:
    """Value mod 5 of ``n0 op n1 op …`` given as token ids, ``*`` before ``+``/``-``: a running sum of
    products (the sum of the finished terms plus the current product term)."""
    total, term = 0, int(tokens[0]) - FIRST_NUMBER
    for op, number in zip(tokens[1::2], tokens[2::2], strict=True):
        value = int(number) - FIRST_NUMBER
        if op == TIMES:
            term = term * value % MODULUS
        else:
            total = (total + term) % MODULUS
            term = value if op == PLUS else -value
    return (total + term) % MODULUS


def evaluate_brackets(tokens: np.ndarray) -> int:
    """Value mod 5 of a ``+``/``-`` expression with brackets and unary minus, given as token ids: a running sum
    of signed leaves; an open bracket saves the outer sum and the sign it enters with on a stack."""
    total, sign, saved = 0, 1, []
    for token in (int(t) for t in tokens):
        if token in (PLUS, MINUS):
            sign = sign if token == PLUS else -sign  # a unary minus may follow a binary operator
        elif token == OPEN:
            saved.append((total, sign))
            total, sign = 0, 1
        elif token == CLOSE:
            outer, outer_sign = saved.pop()
            total, sign = outer + outer_sign * total, 1
        else:
            total, sign = total + sign * (token - FIRST_NUMBER), 1
    return total % MODULUS


def example_lengths(config: StateTrackingConfig, batch: Batch) -> torch.Tensor:
    """The task length n of each example (Grazzi's n counts the answer slot; word problems: the sequence)."""
    positions = torch.arange(batch.targets.shape[1], device=batch.targets.device)
    last_scored = torch.where(batch.loss_mask, positions, -1).amax(dim=1)
    return last_scored + (1 if config.task == "word_problem" else 2)
