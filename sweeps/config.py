"""Structured Hydra configs (DESIGN.md, "Configuration").

The run schema and one ``params`` node per (experiment, profile) are registered in Hydra's ConfigStore
from the `Experiment` objects, so a new experiment needs no yaml: its params dataclass (the ``quick``
defaults) and its ``paper`` overrides become ``params/<name>_quick`` and ``params/<name>_paper``, each with
the profile's declared grid as ``hydra.sweeper.params``. Struct mode rejects unknown keys
and OmegaConf rejects wrong types; ``validate`` then runs each dataclass's own range checks.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any

import torch
from hydra.core.config_store import ConfigStore
from omegaconf import MISSING, DictConfig, OmegaConf

from attnbench.sweeps import registry
from attnbench.sweeps.experiments.base import ConfigError, require

PROFILES = ("quick", "paper")


@dataclass
class RunConfig:
    """The keys every run has, besides the experiment's own ``params``."""

    experiment: str = MISSING
    profile: str = "quick"
    seed: int = 0
    device: str = "cpu"
    results_dir: str = "results"
    progress: bool = True
    rerun: bool = False
    params: Any = field(default_factory=dict)


def register_configs() -> None:
    """Put the run schema, the profiles and every experiment's params into the ConfigStore."""
    store = ConfigStore.instance()
    store.store(name="run_schema", node=RunConfig)
    for profile in PROFILES:
        results_dir = "results" if profile == "quick" else f"results/{profile}"
        store.store(
            group="profile",
            name=profile,
            node={"profile": profile, "results_dir": results_dir},
            package="_global_",
        )
    for name, experiment in registry.experiments().items():
        quick = experiment.params()
        for profile, params in (("quick", quick), ("paper", dataclasses.replace(quick, **experiment.paper))):
            sweep = {f"params.{key}": value for key, value in experiment.grid(profile).items()}
            store.store(
                group="params",
                name=f"{name}_{profile}",
                node={"params": params, "hydra": {"sweeper": {"params": sweep}}},
                package="_global_",
            )
        store.store(group="experiment", name=name, node={"experiment": name}, package="_global_")


def validate(cfg: DictConfig) -> Any:
    """Check the run keys and build the params dataclass (running its range checks)."""
    experiment = registry.get(cfg.experiment)
    require(cfg.profile in PROFILES, "profile", f"got {cfg.profile!r}; allowed: {', '.join(PROFILES)}")
    device = str(cfg.device)
    require(
        device == "cpu" or device.startswith("cuda"),
        "device",
        f"got {device!r}; allowed: cpu, cuda, cuda:N",
    )
    if device.startswith("cuda"):
        require(torch.cuda.is_available(), "device", f"{device!r} requested but no CUDA device is present")
    params = OmegaConf.to_object(cfg.params)
    if not isinstance(params, experiment.params):
        raise ConfigError(f"params: expected the params of {experiment.name!r}, got {type(params).__name__}")
    return params


def resolved(cfg: DictConfig, params: Any) -> dict[str, Any]:
    """The run's identity-bearing config as plain data."""
    return {
        "experiment": cfg.experiment,
        "profile": cfg.profile,
        "seed": int(cfg.seed),
        "device": str(cfg.device),
        "params": dataclasses.asdict(params),
        "progress": bool(cfg.progress),
        "results_dir": str(cfg.results_dir),
        "rerun": bool(cfg.rerun),
    }
