"""The code fingerprint of an experiment (ARCHITECTURE.md, "The store").

A hash of the source of the modules that compute an experiment's runs: the module that defines its
``run`` and, transitively, every attnbench module it imports, found statically from the import
statements. Presentation and bookkeeping modules (claims, figures, plotting, the experiment contract and
the harness) are left out, so editing a claim or a figure never makes the stored runs stale, while any edit
to a task, model, kernel, theory or training module they use does.
"""

from __future__ import annotations

import ast
import hashlib
import importlib.machinery
import importlib.util
from functools import cache

from attnbench.sweeps.experiments.base import Experiment

# The harness: modules that never compute a run's numbers.
HARNESS = frozenset(
    {"attnbench", "attnbench.cli", "attnbench.sweeps.experiments.base"}
    | {
        f"attnbench.sweeps.{name}"
        for name in (
            "ledger",
            "store",
            "app",
            "config",
            "preflight",
            "registry",
            "validation",
            "fingerprint",
            "callbacks",
            "locks",
            "figures",
            "plotting",
            "style",
        )
    }
)


def _is_presentation(name: str) -> bool:
    leaf = name.rsplit(".", 1)[-1]
    return name in HARNESS or leaf in ("claims", "figures") or leaf.endswith(("_claims", "_figures"))


def _spec(name: str) -> importlib.machinery.ModuleSpec | None:
    """The module's spec, found without importing it (only its parent packages)."""
    try:
        return importlib.util.find_spec(name)
    except (ImportError, ValueError):
        return None


def _is_package(name: str) -> bool:
    spec = _spec(name)
    return spec is not None and spec.submodule_search_locations is not None


def _imports(name: str, source: str, is_package: bool) -> set[str]:
    """The attnbench modules that module ``name`` imports."""
    package = name if is_package else name.rsplit(".", 1)[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = (
                importlib.util.resolve_name("." * node.level + (node.module or ""), package)
                if node.level
                else node.module or ""
            )
            found.add(base)
            if base.startswith("attnbench.") and _is_package(base):
                found |= {f"{base}.{alias.name}" for alias in node.names if _spec(f"{base}.{alias.name}")}
    return {m for m in found if m.startswith("attnbench.") and (_is_presentation(m) or _spec(m) is not None)}


@cache
def module_sources(module: str) -> tuple[tuple[str, str], ...]:
    """(name, source) of ``module`` and of the computing attnbench modules it imports, transitively."""
    seen: dict[str, str] = {}
    pending = [module]
    while pending:
        name = pending.pop()
        if name in seen or (name != module and _is_presentation(name)):
            continue
        spec = _spec(name)
        if spec is None or spec.origin is None or not spec.origin.endswith(".py"):
            continue
        with open(spec.origin, encoding="utf-8") as handle:
            seen[name] = handle.read()
        pending += sorted(_imports(name, seen[name], spec.submodule_search_locations is not None))
    return tuple(sorted(seen.items()))


def draw_fingerprint(experiment: Experiment) -> str:
    """A short hash of the source of ``experiment``'s figure module and of the shared style module: a figure
    file stored with another value was drawn by other code."""
    digest = hashlib.sha256()
    for name in sorted({experiment.draw.__module__, "attnbench.sweeps.plotting"} if experiment.draw else ()):
        spec = _spec(name)
        if spec is not None and spec.origin is not None:
            with open(spec.origin, encoding="utf-8") as handle:
                digest.update(name.encode() + b"\0" + handle.read().encode() + b"\0")
    return digest.hexdigest()[:16]


def fingerprint(experiment: Experiment) -> str:
    """A short hash of the source of the modules that compute ``experiment``'s runs."""
    digest = hashlib.sha256()
    sources = dict(item for module in experiment.computing_modules() for item in module_sources(module))
    for name, source in sorted(sources.items()):
        digest.update(name.encode() + b"\0" + source.encode() + b"\0")
    return digest.hexdigest()[:16]
