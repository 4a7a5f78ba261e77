"""The ``attnbench`` command.

- ``attnbench experiment=NAME [profile=quick|paper] [key=value ...]``: run one experiment (Hydra);
  ``-m`` runs a sweep (the grid declared by the experiment plus any ``key=a,b,c`` on the line).
- ``attnbench figures``: rebuild every figure and ``results/CLAIMS.md`` from the stored tables.
- ``attnbench claims [FAMILY]``: print the claims table.
- ``attnbench reproduce [profile=quick]``: the main job: every experiment's sweep, then ``figures``.
- ``attnbench list``: the experiments.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path

COMMANDS = ("figures", "claims", "reproduce", "list")


def _figures(argv: list[str]) -> int:
    from attnbench.sweeps.figures import rebuild

    parser = argparse.ArgumentParser(prog="attnbench figures")
    parser.add_argument("--results", default="results", type=Path)
    parser.add_argument("--only", default=None, help="one experiment")
    parser.add_argument("--readme", default=None, type=Path,
                        help="a README whose claims section (between its markers) is replaced by the ledger")
    args = parser.parse_args(argv)
    for path in rebuild(args.results, args.only, args.readme):
        print(path)
    return 0


def _claims(argv: list[str]) -> int:
    from attnbench.sweeps.ledger import ledger_rows, render_text

    parser = argparse.ArgumentParser(prog="attnbench claims")
    parser.add_argument("family", nargs="?", default=None)
    parser.add_argument("--results", default="results", type=Path)
    args = parser.parse_args(argv)
    print(render_text(ledger_rows(args.results, args.family)))
    return 0


def _list(_: list[str]) -> int:
    from attnbench.sweeps import registry

    for name, experiment in registry.experiments().items():
        print(f"{name:24s} {experiment.description}")
    return 0


def _reproduce(argv: list[str]) -> int:
    """Run every experiment's declared sweep in its own process, then rebuild the figures."""
    from attnbench.sweeps import registry

    failed = []
    for name in registry.experiments():
        command = [sys.executable, "-m", "attnbench.cli", "-m", f"experiment={name}", *argv]
        print(f"[attnbench] reproduce: {' '.join(command[2:])}", flush=True)
        if subprocess.run(command).returncode != 0:
            failed.append(name)
    _figures(["--readme", "README.md"])
    if failed:
        print(f"[attnbench] these experiments did not complete: {', '.join(failed)}", file=sys.stderr)
        return 1
    return 0


def _run(argv: list[str]) -> int:
    from attnbench.sweeps import app, preflight
    from attnbench.sweeps.config import register_configs

    register_configs()
    overrides = [a for a in argv if not a.startswith("-") and "=" in a]
    if not any(a in ("--help", "-h", "--hydra-help") for a in argv):
        problem = preflight.check(overrides)
        if problem is not None:
            print(f"attnbench: invalid config: {problem}", file=sys.stderr)
            return 2
    sys.argv = [sys.argv[0], *argv]
    app.hydra_main()
    return 0


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    handlers = {"figures": _figures, "claims": _claims, "reproduce": _reproduce, "list": _list}
    if argv and argv[0] in handlers:
        return handlers[argv[0]](argv[1:])
    return _run(argv)


if __name__ == "__main__":
    sys.exit(main())
