"""Check a command line before any work starts (ARCHITECTURE.md, "Configuration").

Every point of the sweep (the declared grid of the experiment's profile, with the command line's own sweeps
on top, as a cartesian product) is composed and validated up front, so a misspelled or added key, a wrong
type, an impossible value or combination of values, an unwritable ``results_dir`` or a size that cannot fit
stops the whole sweep at once with one short message that names the key and the allowed keys or values,
instead of a traceback from job 17.
"""

from __future__ import annotations

import copy
import dataclasses
import itertools
import os
import re
from pathlib import Path
from typing import Any

from hydra import compose, initialize_config_dir
from hydra.core.global_hydra import GlobalHydra
from hydra.core.override_parser.overrides_parser import OverridesParser
from hydra.core.override_parser.types import Override
from hydra.errors import HydraException
from omegaconf import DictConfig, OmegaConf
from omegaconf.errors import OmegaConfBaseException

from attnbench.errors import ConfigError
from attnbench.sweeps import registry
from attnbench.sweeps.config import LEFT_OUT, check_device, validate
from attnbench.sweeps.grid import values

CONF_DIR = Path(__file__).parent / "conf"
UNSWEEPABLE = ("experiment", "profile")  # each value brings its own declared grid
MAX_POINTS = 100_000


def _allowed_keys(overrides: list[str], key: str) -> str:
    """The keys allowed beside ``key`` (composed without the offending override)."""
    parent = key.rsplit(".", 1)[0] if "." in key else ""
    clean = [o for o in overrides if not o.split("=", 1)[0].lstrip("+~").startswith(key)]
    try:
        node = compose(config_name="config", overrides=clean)
        node = OmegaConf.select(node, parent) if parent else node
        return ", ".join(str(k) for k in node.keys()) if isinstance(node, DictConfig) else "?"
    except Exception:
        return "?"


def explain(error: BaseException, overrides: list[str]) -> str:
    """A short, specific message for a config error."""
    text = str(error)
    cause_text = str(error.__cause__ or error)
    full = re.search(r"full_key: (\S+)", cause_text)
    missing = re.search(r"Key '([^']+)' is not in struct", cause_text) or re.search(
        r"Key '([^']+)' not in '\w+'", cause_text
    )
    if missing:
        key = full.group(1) if full else missing.group(1)
        return f"unknown key '{key}'. Allowed keys here: {_allowed_keys(overrides, key)}"
    converted = re.search(r"Value '(.*?)'(?: of type '\w+')? could not be converted to (\w+)", cause_text)
    if converted:
        return f"{full.group(1) if full else '?'}: expected {converted.group(2).lower()}, got {converted.group(1)!r}"
    boolean = re.search(r"Value '(.*?)' is not a valid bool", cause_text)
    if boolean:
        return f"{full.group(1) if full else '?'}: expected true or false, got {boolean.group(1)!r}"
    missing_option = re.search(r"Could not find '([^'/]+)/([^']+)'", text)
    if missing_option:
        group, option = missing_option.groups()
        listed = re.search(r"Available options in '[^']+':\n(.*?)\n(?:Config search path|$)", text, re.S)
        allowed = ", ".join(listed.group(1).split()) if listed else "?"
        reason = f" ({option} was left out: {LEFT_OUT[option]})" if group == "experiment" and option in LEFT_OUT else ""
        return f"{group}: unknown value '{option}'{reason}. Allowed: {allowed}"
    return text.splitlines()[0] if text else type(error).__name__


def check(overrides: list[str], multirun: bool = False) -> str | None:
    """Compose and validate every point of the command line; the first problem's message, or None."""
    GlobalHydra.instance().clear()
    try:
        with initialize_config_dir(config_dir=str(CONF_DIR), version_base="1.3"):
            return _first_problem(overrides, multirun)
    finally:
        GlobalHydra.instance().clear()


def writable(results_dir: str) -> str | None:
    """Why ``results_dir`` cannot be written (None: it can), found without creating anything."""
    path = Path(results_dir).absolute()
    probe = path
    while not probe.exists():
        probe = probe.parent
    if not probe.is_dir():
        return f"results_dir: {probe} is a file, not a folder"
    if not os.access(probe, os.W_OK | os.X_OK):
        return f"results_dir: {probe} is not writable"
    return None


def _added_keys(node: DictConfig, params: type, prefix: str = "params") -> list[tuple[str, str]]:
    """(key, allowed keys) of every key in ``node`` that ``params`` (or one of its sections) does not declare."""
    fields = {f.name: f for f in dataclasses.fields(params)}
    added = [(f"{prefix}.{k}", ", ".join(fields)) for k in node.keys() if k not in fields]
    for name, spec in fields.items():
        if spec.metadata.get("section") and isinstance(node.get(name), DictConfig):
            added += _added_keys(node[name], spec.default_factory, f"{prefix}.{name}")  # type: ignore[arg-type]
    return added


def _first_problem(overrides: list[str], multirun: bool) -> str | None:
    try:
        parsed: list[Override] = OverridesParser.create().parse_overrides(
            [o for o in overrides if not o.startswith("hydra")]
        )
    except HydraException as error:
        return f"cannot parse the command line: {str(error).splitlines()[0]}"
    for override in parsed:
        if override.is_sweep_override() and override.get_key_element() in UNSWEEPABLE:
            key = override.get_key_element()
            return (
                f"{key}: cannot be swept in one multirun (Hydra would give every job the grid of the first "
                f"value); run one command per {key}, e.g. `attnbench reproduce profile=paper` for all "
                f"experiments"
            )
    plain = [o.input_line for o in parsed if not o.is_sweep_override()]
    try:
        base = compose(config_name="config", overrides=plain)
        experiment = registry.get(base.experiment)
    except KeyError as error:
        return f"experiment: {error.args[0]}"
    except (HydraException, OmegaConfBaseException, ValueError) as error:
        return explain(error, plain)
    sweeps: dict[str, list[Any]] = {}
    if multirun:
        sweeps = {f"params.{k}": values(f"params.{k}", v) for k, v in experiment.grid(base.profile).items()}
    sweeps.update({o.get_key_element(): list(o.sweep_iterator()) for o in parsed if o.is_sweep_override()})
    size = 1
    for options in sweeps.values():
        size *= len(options)
    if size > MAX_POINTS:
        return f"the sweep has {size} points (more than {MAX_POINTS}); split it"
    for combo in itertools.product(*sweeps.values()):
        point = dict(zip(sweeps, combo, strict=True))
        problem = _point_problem(base, experiment, point, plain)
        if problem is not None:
            where = ", ".join(f"{k}={v}" for k, v in point.items())
            return f"{problem}" + (f" (at the sweep point {where})" if len(sweeps) and size > 1 else "")
    if not any(o.startswith("hydra/launcher=submitit_slurm") for o in overrides):
        try:  # the jobs run on this machine: its device must be there (on a cluster, the job checks its own)
            check_device(str(base.device))
        except ConfigError as error:
            return str(error)
    return writable(str(base.results_dir))


def _point_problem(base: DictConfig, experiment: Any, point: dict[str, Any], plain: list[str]) -> str | None:
    cfg = copy.deepcopy(base)
    try:
        for key, value in point.items():
            OmegaConf.update(cfg, key.lstrip("+"), value, merge=False)
        added = _added_keys(cfg.params, experiment.params)
        if added:
            return f"unknown key '{added[0][0]}'. Allowed keys here: {added[0][1]}"
        params = validate(cfg)
    except ConfigError as error:
        return str(error)
    except (HydraException, OmegaConfBaseException, ValueError) as error:
        return explain(error, plain + [f"{k}={v}" for k, v in point.items()])
    if experiment.estimate_bytes is not None:
        need = experiment.estimate_bytes(params)
        available = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
        if need > available:
            return (
                f"params: this run would allocate about {need / 2**30:.1f} GiB, more than this machine's "
                f"{available / 2**30:.1f} GiB; reduce the sizes"
            )
    return None
