"""Check a command line before any work starts (DESIGN.md, "Configuration").

Every value of every swept key is composed and validated up front, so a misspelled key, a wrong type or
an impossible value stops the whole sweep at once with one short message that names the key and the
allowed keys or values, instead of a traceback from job 17.
"""

from __future__ import annotations

import re
from pathlib import Path

from hydra import compose, initialize_config_dir
from hydra.core.global_hydra import GlobalHydra
from hydra.core.override_parser.overrides_parser import OverridesParser
from hydra.core.override_parser.types import Override
from hydra.errors import HydraException
from omegaconf import DictConfig, OmegaConf
from omegaconf.errors import OmegaConfBaseException

from attnbench.sweeps.config import validate
from attnbench.sweeps.experiments.base import ConfigError

CONF_DIR = Path(__file__).parent / "conf"


def _points(parsed: list[Override]) -> list[list[str]]:
    """One override list per value of each swept key (other sweeps held at their first value)."""
    plain = [o.input_line for o in parsed if not o.is_sweep_override()]
    swept = {o.get_key_element(): list(o.sweep_string_iterator()) for o in parsed if o.is_sweep_override()}
    firsts = [f"{key}={values[0]}" for key, values in swept.items()]
    points = [plain + firsts]
    for key, values in swept.items():
        others = [f for f in firsts if not f.startswith(f"{key}=")]
        points += [plain + others + [f"{key}={value}"] for value in values[1:]]
    return points


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
    cause = error.__cause__ or error
    cause_text = str(cause)
    missing = re.search(r"Key '([^']+)' is not in struct", cause_text) or re.search(
        r"Key '([^']+)' not in '\w+'", cause_text
    )
    if missing:
        full = re.search(r"full_key: (\S+)", cause_text)
        key = full.group(1) if full else missing.group(1)
        return f"unknown key '{key}'. Allowed keys here: {_allowed_keys(overrides, key)}"
    converted = re.search(r"Value '(.*)' (?:of type '(\w+)' )?could not be converted to (\w+)", cause_text)
    if converted:
        full = re.search(r"full_key: (\S+)", cause_text)
        key = full.group(1) if full else "?"
        return f"{key}: expected {converted.group(3).lower()}, got {converted.group(1)!r}"
    missing_option = re.search(r"Could not find '([^'/]+)/([^']+)'", text)
    if missing_option:
        group, option = missing_option.groups()
        listed = re.search(r"Available options in '[^']+':\n(.*?)\n(?:Config search path|$)", text, re.S)
        allowed = ", ".join(listed.group(1).split()) if listed else "?"
        return f"{group}: unknown value '{option}'. Allowed: {allowed}"
    return text.splitlines()[0] if text else type(error).__name__


def check(overrides: list[str]) -> str | None:
    """Compose and validate every point of the command line; the first problem's message, or None."""
    GlobalHydra.instance().clear()
    try:
        with initialize_config_dir(config_dir=str(CONF_DIR), version_base="1.3"):
            return _first_problem(overrides)
    finally:
        GlobalHydra.instance().clear()


UNSWEEPABLE = ("experiment", "profile")  # each value brings its own declared grid


def _first_problem(overrides: list[str]) -> str | None:
    try:
        parsed = OverridesParser.create().parse_overrides([o for o in overrides if not o.startswith("hydra")])
        points = _points(parsed)
    except HydraException as error:
        return f"cannot parse the command line: {str(error).splitlines()[0]}"
    for override in parsed:
        if override.is_sweep_override() and override.get_key_element() in UNSWEEPABLE:
            key = override.get_key_element()
            return (f"{key}: cannot be swept in one multirun (Hydra would give every job the grid of the first "
                    f"value); run one command per {key}, e.g. `attnbench reproduce profile=paper` for all "
                    f"experiments")
    for point in points:
        try:
            validate(compose(config_name="config", overrides=point))
        except ConfigError as error:
            return str(error)
        except (HydraException, OmegaConfBaseException, KeyError, ValueError) as error:
            return explain(error, point)
    return None
