"""The task protocol (`attnbench.tasks.base`) for every `TaskConfig` subclass found in the task modules:
sampling is a pure function of (config, split, index), splits, indices and streams give different data, a
batch is a `Batch` (subclass) of tensors, `stack` adds the member axis, and the oracle never reads the
stored targets."""

from __future__ import annotations

import dataclasses
import importlib
import inspect
import pkgutil

import pytest
import torch

import attnbench.tasks
from attnbench.errors import ConfigError
from attnbench.tasks.base import SPLITS, Batch, TaskConfig, member_configs, stack
from attnbench.tasks.token_selection import TokenSelectionConfig

MODULES = [importlib.import_module(f"attnbench.tasks.{m.name}") for m in pkgutil.iter_modules(attnbench.tasks.__path__)]
TASKS = sorted(
    (
        cls
        for module in MODULES
        for _, cls in inspect.getmembers(module, inspect.isclass)
        if issubclass(cls, TaskConfig) and cls is not TaskConfig and cls.__module__ == module.__name__
    ),
    key=lambda cls: cls.__name__,
)
# the labels Y define the token scores of the selection problem; its oracle answers which token is selected
READS_TARGETS = {TokenSelectionConfig}


def small(cls: type[TaskConfig]) -> TaskConfig:
    """The default config, with 4 examples per batch where the task has a batch size."""
    config = cls()
    return dataclasses.replace(config, batch_size=4) if hasattr(config, "batch_size") else config


def has_stream(cls: type[TaskConfig]) -> bool:
    return any(f.name == "stream" for f in dataclasses.fields(cls))


def tensors(batch: Batch) -> dict[str, torch.Tensor]:
    return {f.name: getattr(batch, f.name) for f in dataclasses.fields(batch)}


def same(a: Batch, b: Batch) -> bool:
    return type(a) is type(b) and all(torch.equal(x, tensors(b)[k]) for k, x in tensors(a).items())


def test_every_task_module_defines_a_task() -> None:
    defining = {cls.__module__ for cls in TASKS}
    assert defining == {m.__name__ for m in MODULES if not m.__name__.endswith(".base")}


@pytest.mark.parametrize("cls", TASKS, ids=lambda cls: cls.__name__)
def test_sampling_is_pure_and_returns_a_batch(cls: type[TaskConfig]) -> None:
    config = small(cls)
    batch = config.sample("train", 3)
    assert isinstance(batch, Batch) and dataclasses.is_dataclass(batch)
    assert all(isinstance(t, torch.Tensor) for t in tensors(batch).values())
    assert batch.loss_mask.dtype == torch.bool and bool(batch.loss_mask.any())
    assert same(batch, small(cls).sample("train", 3))


@pytest.mark.parametrize("cls", TASKS, ids=lambda cls: cls.__name__)
def test_splits_and_indices_give_different_data(cls: type[TaskConfig]) -> None:
    config = small(cls)
    batches = [config.sample(split, 0) for split in SPLITS] + [config.sample("train", 1)]
    for i, a in enumerate(batches):
        for b in batches[i + 1 :]:
            assert not (a.inputs.shape == b.inputs.shape and torch.equal(a.inputs, b.inputs))


@pytest.mark.parametrize("cls", [c for c in TASKS if has_stream(c)], ids=lambda cls: cls.__name__)
def test_streams_give_different_data_and_stack_adds_the_member_axis(cls: type[TaskConfig]) -> None:
    members = member_configs(small(cls), range(3))
    assert [m.stream for m in members] == [0, 1, 2]  # type: ignore[attr-defined]
    alone = [m.sample("val", 2) for m in members]
    assert not torch.equal(alone[0].inputs, alone[1].inputs) and not torch.equal(alone[1].inputs, alone[2].inputs)
    if len({b.inputs.shape for b in alone}) > 1:  # variable-length tasks pad to their batch's longest example
        with pytest.raises(ConfigError, match="cannot be stacked"):
            stack(members, "val", 2)
        return
    stacked = stack(members, "val", 2)
    assert type(stacked) is type(alone[0])
    for name, tensor in tensors(stacked).items():
        assert tensor.shape == (3, *tensors(alone[0])[name].shape)
        for r in range(3):
            assert torch.equal(tensor[r], tensors(alone[r])[name])


@pytest.mark.parametrize("cls", [c for c in TASKS if not has_stream(c)], ids=lambda cls: cls.__name__)
def test_configs_without_streams_are_refused_as_members(cls: type[TaskConfig]) -> None:
    with pytest.raises(ConfigError, match="stream"):
        member_configs(small(cls), range(2))
    stacked = stack([small(cls)] * 2, "test", 0)
    assert torch.equal(stacked.inputs[0], stacked.inputs[1])


def test_stack_refuses_nothing_and_mixed_classes() -> None:
    with pytest.raises(ConfigError, match="at least one"):
        stack([], "train", 0)
    with pytest.raises(ConfigError, match="one class"):
        stack([small(TASKS[0]), small(TASKS[1])], "train", 0)


@pytest.mark.parametrize("cls", TASKS, ids=lambda cls: cls.__name__)
def test_oracle_is_deterministic_and_never_reads_the_targets(cls: type[TaskConfig]) -> None:
    config = small(cls)
    batch = config.sample("test", 0)
    answer = config.oracle(batch)
    assert isinstance(answer, torch.Tensor) and answer.shape[0] == batch.inputs.shape[0]
    assert torch.equal(answer, config.oracle(config.sample("test", 0)))
    if cls not in READS_TARGETS:
        scrambled = dataclasses.replace(batch, targets=torch.full_like(batch.targets, 3))
        assert torch.equal(config.oracle(scrambled), answer)
