"""The import order of the folders, asserted by reading every import statement (``ast``, so imports inside
functions and ``if TYPE_CHECKING:`` blocks count too; nothing is imported to find them).

    errors < kernels < models;   errors < tasks < theory;   all of them < sweeps < the CLI, benchmarks

`attnbench.errors` sits below every folder and imports no attnbench module; kernels import no other folder;
models import only kernels; tasks import no other folder; theory imports at most tasks (for config types);
sweeps import anything below them and the root package (``attnbench.__version__``), never the CLI. Nothing
below sweeps imports sweeps or the CLI. The root package (``attnbench/__init__.py``: ``attnbench.load``), the
CLI (``attnbench.cli``, ``attnbench.__main__``) and the benchmarks sit on top.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
FOLDERS = ("tasks", "models", "kernels", "theory", "sweeps", "attnbench", "benchmarks")
SUBPACKAGES = ("tasks", "models", "kernels", "theory", "sweeps")
BELOW_SWEEPS = ("errors", "kernels", "models", "tasks", "theory")

# layer -> the other layers it may import; "package" is the root package itself (``attnbench``).
ALLOWED: dict[str, frozenset[str]] = {
    "errors": frozenset(),
    "kernels": frozenset({"errors"}),
    "models": frozenset({"errors", "kernels"}),
    "tasks": frozenset({"errors"}),
    "theory": frozenset({"errors", "tasks"}),
    "sweeps": frozenset({*BELOW_SWEEPS, "package"}),
    "package": frozenset({*BELOW_SWEEPS, "sweeps", "cli"}),
    "cli": frozenset({*BELOW_SWEEPS, "sweeps", "package"}),
    "benchmarks": frozenset({*BELOW_SWEEPS, "sweeps", "package", "cli"}),
}


def module_name(path: Path, root: Path = ROOT) -> str:
    """The dotted name of a source file: tasks/base.py -> attnbench.tasks.base, attnbench/cli.py -> attnbench.cli."""
    parts = list(path.relative_to(root).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    if parts[0] in ("attnbench", "benchmarks"):
        return ".".join(parts)
    return ".".join(["attnbench", *parts])


def layer_of(module: str) -> str | None:
    """The layer of a module (an import target or a file's own); None for a module outside attnbench."""
    head, _, rest = module.partition(".")
    if head == "benchmarks":
        return "benchmarks"
    if head != "attnbench":
        return None
    name = rest.split(".")[0]
    if name in SUBPACKAGES or name == "errors":
        return name
    if name in ("cli", "__main__"):
        return "cli"
    return "package"  # attnbench itself, or a name of it: ``from attnbench import __version__``


def imports(path: Path, root: Path = ROOT) -> list[tuple[int, str]]:
    """(line, module) of every import statement in ``path``, anywhere in the file; relative ones resolved.

    ``from attnbench import errors`` is recorded as ``attnbench.errors``: a name imported from the root package
    is judged as the module it may be."""
    own = module_name(path, root)
    package = own if path.name == "__init__.py" else own.rpartition(".")[0]
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), filename=str(path))):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = package.rsplit(".", node.level - 1)[0] if node.level else ""
            target = ".".join(filter(None, [base, node.module]))
            found += [
                (node.lineno, f"{target}.{alias.name}" if target == "attnbench" else target) for alias in node.names
            ]
    return sorted(set(found))


def source_files(root: Path = ROOT) -> list[Path]:
    """Every .py file of the layered folders (no caches)."""
    return sorted(
        path for folder in FOLDERS for path in (root / folder).rglob("*.py") if "__pycache__" not in path.parts
    )


def violations(path: Path, root: Path = ROOT) -> list[str]:
    """One line per forbidden import of ``path``: file, line, the import, and what its layer may import."""
    own = layer_of(module_name(path, root))
    assert own is not None, path
    may = ", ".join(sorted(ALLOWED[own])) or "no other attnbench module"
    return [
        f"{path.relative_to(root)}:{line}: imports {target} ({own} may import only: {may})"
        for line, target in imports(path, root)
        if (layer := layer_of(target)) is not None and layer != own and layer not in ALLOWED[own]
    ]


def test_the_scan_sees_every_folder():
    files = source_files()
    assert {path.relative_to(ROOT).parts[0] for path in files} == set(FOLDERS)
    assert {layer_of(module_name(path)) for path in files} == set(ALLOWED)


def test_imports_inside_functions_and_type_checking_blocks_are_found(tmp_path):
    source = tmp_path / "models" / "probe.py"
    source.parent.mkdir()
    source.write_text(
        "from typing import TYPE_CHECKING\n"
        "if TYPE_CHECKING:\n"
        "    from attnbench.tasks.base import Batch\n"
        "def f():\n"
        "    import attnbench.sweeps.training\n"
        "    from . import zoo\n"
        "    from ..kernels import lla\n"
        "    from attnbench import errors\n"
    )
    assert imports(source, tmp_path) == [
        (1, "typing"),
        (3, "attnbench.tasks.base"),
        (5, "attnbench.sweeps.training"),
        (6, "attnbench.models"),
        (7, "attnbench.kernels"),
        (8, "attnbench.errors"),
    ]
    found = violations(source, tmp_path)
    assert [line.split(": imports ")[0] for line in found] == ["models/probe.py:3", "models/probe.py:5"]
    assert "attnbench.sweeps.training (models may import only: errors, kernels)" in found[1]


@pytest.mark.parametrize("layer", sorted(set(ALLOWED) - {"errors"}))
def test_errors_is_importable_from_every_layer(layer):
    assert "errors" in ALLOWED[layer]


def test_errors_imports_no_attnbench_module():
    assert [target for _, target in imports(ROOT / "attnbench" / "errors.py") if layer_of(target)] == []


def test_nothing_below_sweeps_imports_sweeps_or_the_cli():
    assert all({"sweeps", "cli"}.isdisjoint(ALLOWED[layer]) for layer in BELOW_SWEEPS)
    assert "cli" not in ALLOWED["sweeps"]


def test_every_import_respects_the_layer_order():
    found = [line for path in source_files() for line in violations(path)]
    assert not found, "forbidden imports (see this module's docstring):\n" + "\n".join(found)
