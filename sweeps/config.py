"""Structured Hydra configs (ARCHITECTURE.md, "Configuration").

The run schema and one ``params`` node per (experiment, profile) are registered in Hydra's ConfigStore from
the `Experiment` objects, so a new experiment needs no yaml: its params dataclass (the ``quick`` defaults) and
its ``tiny`` and ``paper`` profiles become ``params/<name>_<profile>``, each with the profile's declared grid
as ``hydra.sweeper.params``. Struct mode rejects unknown keys (also ``+params.x``) and OmegaConf rejects wrong
types; building the params dataclass then runs its declared constraints (`attnbench.sweeps.validation`).
"""

from __future__ import annotations

import dataclasses
import logging
from dataclasses import dataclass, field
from typing import Any

import torch
from hydra.core.config_store import ConfigStore
from omegaconf import MISSING, DictConfig, OmegaConf

from attnbench.errors import ConfigError, require
from attnbench.sweeps import registry
from attnbench.sweeps.experiments.base import PROFILES

log = logging.getLogger("attnbench")
RESULTS_DIRS = {"tiny": "results/tiny", "quick": "results", "paper": "results/paper"}


@dataclass
class RunConfig:
    """The keys every run has, besides the experiment's own ``params``.

    ``threads``: torch's intra-op thread count, fixed per run (numbers depend on it in the last bits, so it
    is part of the run's identity). ``rerun``: recompute stored runs. ``reuse_stale``: keep stored runs whose
    code fingerprint differs from the current code (only for a change known to be cosmetic).
    """

    experiment: str = MISSING
    profile: str = "quick"
    seed: int = 0
    device: str = "cpu"
    threads: int = 1
    results_dir: str = "results"
    progress: bool = True
    rerun: bool = False
    reuse_stale: bool = False
    params: Any = field(default_factory=dict)


HELP_HEADER = """attnbench: a theory-verification and synthetic-task benchmark suite for attention mechanisms.

Usage:
  attnbench experiment=NAME [profile=tiny|quick|paper] [params.KEY=VALUE ...]   one run, stored under results/
  attnbench -m experiment=NAME [params.KEY=a,b,c ...]     the experiment's declared grid (plus your sweeps)
  attnbench list                        the experiments
  attnbench describe NAME               an experiment's params (default, meaning, allowed values) and grids
  attnbench claims [FAMILY]             the claims table, judged on the stored runs
  attnbench figures                     rebuild figures and results/CLAIMS.md from the stored runs
  attnbench reproduce [profile=quick]   the main job: every experiment's sweep, then figures and the ledger
Run keys: profile, seed, device=cpu|cuda|cuda:N, threads, results_dir, progress, rerun, reuse_stale.
"""


def _help_node() -> dict[str, str]:
    experiments = "\n".join(f"  {name:26s} {e.description}" for name, e in registry.experiments().items())
    return {
        "app_name": "attnbench",
        "header": HELP_HEADER + "\nExperiments:\n" + experiments + "\n",
        "footer": "Use --hydra-help for Hydra's own flags; --cfg job prints the resolved config.\n",
        "template": "${hydra.help.header}\n== Flags ==\n$FLAGS_HELP\n${hydra.help.footer}",
    }


# Experiments `register_configs` left out, with the reason (named when one is asked for on the command line).
LEFT_OUT: dict[str, str] = {}


def register_configs() -> None:
    """Put the run schema, the help page, the profiles and every experiment's params into the ConfigStore."""
    store = ConfigStore.instance()
    store.store(name="run_schema", node=RunConfig)
    store.store(group="hydra/help", name="attnbench", node=_help_node())
    for profile in PROFILES:
        store.store(
            group="profile",
            name=profile,
            node={"profile": profile, "results_dir": RESULTS_DIRS[profile]},
            package="_global_",
        )
    for name, experiment in registry.experiments().items():
        try:  # an experiment whose declared profile is invalid is reported and left out, never fatal to the rest
            nodes = {profile: experiment.params_of(profile) for profile in PROFILES}
        except ConfigError as error:
            LEFT_OUT[name] = f"its declared profiles are invalid: {error}"
            log.warning("experiment %r left out: %s", name, LEFT_OUT[name])
            continue
        for profile, params in nodes.items():
            sweep = {f"params.{key}": value for key, value in experiment.grid(profile).items()}
            store.store(
                group="params",
                name=f"{name}_{profile}",
                node={"params": params, "hydra": {"sweeper": {"params": sweep}}},
                package="_global_",
            )
        store.store(group="experiment", name=name, node={"experiment": name}, package="_global_")


def check_device(device: str) -> None:
    """Refuse a CUDA device where none is present (called where the job runs, not where it is submitted)."""
    if device.startswith("cuda"):
        require(torch.cuda.is_available(), "device", f"{device!r} requested but no CUDA device is present here")


def validate(cfg: DictConfig) -> Any:
    """Check the run keys and build the params dataclass (running its declared constraints)."""
    experiment = registry.get(cfg.experiment)
    require(cfg.profile in PROFILES, "profile", f"got {cfg.profile!r}; allowed: {', '.join(PROFILES)}")
    device = str(cfg.device)
    require(
        device == "cpu" or device == "cuda" or (device.startswith("cuda:") and device[5:].isdigit()),
        "device",
        f"got {device!r}; allowed: cpu, cuda, cuda:N",
    )
    require(int(cfg.threads) >= 1, "threads", f"got {cfg.threads}; allowed: >= 1")
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
        "threads": int(cfg.threads),
        "params": dataclasses.asdict(params),
        "progress": bool(cfg.progress),
        "results_dir": str(cfg.results_dir),
        "rerun": bool(cfg.rerun),
        "reuse_stale": bool(cfg.reuse_stale),
    }
