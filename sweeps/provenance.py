"""What a run record says about the code and machine that computed it (ARCHITECTURE.md, "The store")."""

from __future__ import annotations

import platform
import subprocess
from functools import cache
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

import torch

import attnbench

LIBRARIES = ("torch", "numpy", "scipy", "pandas", "pyarrow", "hydra-core", "omegaconf", "cvxpy", "matplotlib")
SOURCE_ROOT = Path(__file__).resolve().parents[1]


def library_versions() -> dict[str, str]:
    """Versions of Python and of the libraries a result may depend on."""
    versions = {"python": platform.python_version()}
    for name in LIBRARIES:
        try:
            versions[name] = version(name)
        except PackageNotFoundError:
            versions[name] = "absent"
    return versions


@cache
def git_state() -> dict[str, Any]:
    """The checkout's commit and whether its code (outside ``results/``) has uncommitted changes."""

    def git(*args: str) -> str:
        return subprocess.run(
            ["git", *args], cwd=SOURCE_ROOT, capture_output=True, text=True, timeout=30, check=True
        ).stdout.strip()

    try:
        commit = git("rev-parse", "HEAD")
        dirty = bool(git("status", "--porcelain", "--untracked-files=no", "--", ".", ":(exclude)results"))
    except (OSError, subprocess.SubprocessError):
        return {"commit": "unknown", "dirty": None}
    return {"commit": commit, "dirty": dirty}


@cache
def cpu_model() -> str:
    """The processor's model name (``/proc/cpuinfo`` on Linux, else `platform.processor`) and the instruction
    set torch dispatches to (`torch.backends.cpu.get_cpu_capability`): fp32 training on two CPUs that differ
    in either can round differently, and token-task trajectories then diverge (the MQAR lr search has
    resolved a near-tie differently on two machines)."""
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as info:
            names = [line.split(":", 1)[1].strip() for line in info if line.startswith("model name")]
    except OSError:
        names = []
    model = names[0] if names else platform.processor() or platform.machine()
    return f"{model} ({torch.backends.cpu.get_cpu_capability()})"


def provenance(device: str, threads: int) -> dict[str, Any]:
    """The record's provenance block: version, commit, machine (host and CPU), threads, libraries."""
    return {
        "attnbench_version": attnbench.__version__,
        **git_state(),
        "host": platform.node(),
        "cpu": cpu_model(),
        "device": device if device == "cpu" else torch.cuda.get_device_name(torch.device(device)),
        "threads": threads,
        "versions": library_versions(),
    }
