"""Every package directory is listed in pyproject.toml (the explicit package map), so an installed attnbench has
every experiment: an unlisted one imports from a checkout but is missing from a wheel."""

from __future__ import annotations

import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_every_package_directory_is_listed():
    setuptools = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]
    listed = {Path(folder) for folder in setuptools["package-dir"].values()}
    assert set(setuptools["packages"]) == set(setuptools["package-dir"])
    found = {
        init.parent.relative_to(ROOT)
        for top in listed
        if len(top.parts) == 1
        for init in (ROOT / top).rglob("__init__.py")
    }
    assert found - listed == set(), f"package directories missing from pyproject.toml: {sorted(found - listed)}"
