"""The one error type for an impossible configuration value, shared by task configs, params and the CLI.

It sits below every folder (ARCHITECTURE.md, "Layering"): tasks, models, theory and sweeps may all import it.
"""

from __future__ import annotations


class ConfigError(ValueError):
    """An impossible configuration value (params or task configs). The message names the key and the
    allowed values."""


def require(condition: bool, key: str, message: str) -> None:
    """Raise a `ConfigError` naming ``key`` unless ``condition`` holds."""
    if not condition:
        raise ConfigError(f"{key}: {message}")
