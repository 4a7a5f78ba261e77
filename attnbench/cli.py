"""The ``attnbench`` command.

- ``attnbench experiment=NAME [profile=tiny|quick|paper] [key=value ...]``: run one experiment (Hydra);
  ``-m`` runs a sweep (the grid declared by the experiment plus any ``key=a,b,c`` on the line).
- ``attnbench figures``: rebuild every figure and ``results/CLAIMS.md`` from the stored runs.
- ``attnbench claims [FAMILY]``: print the claims table.
- ``attnbench describe EXPERIMENT``: its params (default, meaning, allowed values) and grids.
- ``attnbench reproduce [profile=quick]``: the main job: every experiment's sweep, then ``figures``.
- ``attnbench list``: the experiments.

Exit codes: 0 success, 1 a run failed (or a claim is fail/error/stale after ``reproduce``), 2 a bad command line.
"""

from __future__ import annotations

import argparse
import logging
import subprocess
import sys
from pathlib import Path

COMMANDS = ("figures", "claims", "describe", "reproduce", "list")
# Hydra's own flags that print or install something instead of running (no pre-check then).
INFO_FLAGS = ("--help", "-h", "--hydra-help", "--info", "-i", "--cfg", "-c", "--shell-completion", "-sc")
# Hydra flags that take the next word as their value.
VALUE_FLAGS = (
    "--config-path",
    "-cp",
    "--config-name",
    "-cn",
    "--config-dir",
    "-cd",
    "--package",
    "-p",
    "--shell-completion",
    "-sc",
    "--cfg",
    "-c",
    "--experimental-rerun",
)


class UsageError(Exception):
    """A bad subcommand argument (exit 2)."""


def _results_folder(path: Path) -> Path:
    if not path.is_dir():
        raise UsageError(f"--results: {path} is not a folder of stored results")
    return path


def _family(name: str | None) -> str | None:
    from attnbench.sweeps import registry

    if name is not None and name not in registry.experiments():
        raise UsageError(f"unknown family {name!r}; choose one of: {', '.join(registry.experiments())}")
    return name


def _figures(argv: list[str]) -> int:
    from attnbench.sweeps.figures import DrawError, rebuild

    parser = argparse.ArgumentParser(
        prog="attnbench figures", description="Rebuild every figure and CLAIMS.md from the stored runs."
    )
    parser.add_argument("--results", default="results", type=Path)
    parser.add_argument("--only", default=None, help="one experiment")
    parser.add_argument(
        "--readme",
        default=None,
        type=Path,
        help="a README whose claims section (between its markers) is replaced by the ledger",
    )
    args = parser.parse_args(argv)
    try:
        paths = rebuild(_results_folder(args.results), _family(args.only), args.readme)
    except DrawError as error:
        print(f"attnbench: {error}", file=sys.stderr)
        return 1
    for path in paths:
        print(path)
    return 0


def _claims(argv: list[str]) -> int:
    from attnbench.sweeps.ledger import ledger, render_text

    parser = argparse.ArgumentParser(prog="attnbench claims", description="Print the claims table.")
    parser.add_argument("family", nargs="?", default=None)
    parser.add_argument("--results", default="results", type=Path)
    parser.add_argument("--profile", default="quick", choices=("tiny", "quick", "paper"))
    args = parser.parse_args(argv)
    book = ledger(_results_folder(args.results), _family(args.family), args.profile)
    print(render_text(book))
    return 0


def _describe(argv: list[str]) -> int:
    from attnbench.sweeps.describe import describe

    parser = argparse.ArgumentParser(
        prog="attnbench describe", description="An experiment's params, profiles and grids."
    )
    parser.add_argument("experiment")
    parser.add_argument("--results", default="results", type=Path, help="where to read the measured quick time")
    args = parser.parse_args(argv)
    print(describe(_family(args.experiment) or "", args.results))
    return 0


def _list(argv: list[str]) -> int:
    from attnbench.sweeps import registry

    argparse.ArgumentParser(prog="attnbench list", description="The experiments.").parse_args(argv)
    for name, experiment in registry.experiments().items():
        print(f"{name:26s} {experiment.description}")
    return 0


def _reproduce(argv: list[str]) -> int:
    """Run every experiment's declared sweep in its own process, rebuild the figures, judge the ledger."""
    from attnbench.sweeps import registry
    from attnbench.sweeps.ledger import ledger

    parser = argparse.ArgumentParser(
        prog="attnbench reproduce",
        description="The main job: every experiment's declared sweep, then the "
        "figures and CLAIMS.md. Extra words are Hydra overrides given to every sweep (profile=..., rerun=true, "
        "hydra/launcher=joblib ...).",
    )
    parser.add_argument("--only", default=None, help="one experiment")
    args, overrides = parser.parse_known_args(argv)
    failed = []
    for name in registry.experiments():
        if args.only is not None and name != _family(args.only):
            continue
        command = [sys.executable, "-m", "attnbench", "-m", f"experiment={name}", *overrides]
        print(f"[attnbench] reproduce: {' '.join(command[2:])}", flush=True)
        code = subprocess.run(command).returncode
        if code == 2:
            return 2
        if code != 0:
            failed.append(name)
    results = Path(next((o.split("=", 1)[1] for o in overrides if o.startswith("results_dir=")), "results"))
    _figures(["--results", str(results), "--readme", "README.md"])
    if failed:
        print(f"[attnbench] these experiments had failed runs: {', '.join(failed)}", file=sys.stderr)
        return 1
    bad = ledger(results).failing()
    if bad:
        print(
            "[attnbench] claims that are fail, error or stale: "
            + ", ".join(f"{r.claim.id} ({r.verdict})" for r in bad),
            file=sys.stderr,
        )
        return 1
    return 0


def _overrides(argv: list[str]) -> list[str]:
    """The ``key=value`` words of a Hydra command line (skipping the values of Hydra's own flags)."""
    words, skip = [], False
    for word in argv:
        if skip:
            skip = False
        elif word in VALUE_FLAGS:
            skip = True
        elif not word.startswith("-") and "=" in word:
            words.append(word)
    return words


def _run(argv: list[str]) -> int:
    from attnbench.sweeps import app, callbacks, preflight
    from attnbench.sweeps.config import register_configs

    register_configs()
    if not any(a in INFO_FLAGS or a.split("=", 1)[0] in INFO_FLAGS for a in argv):
        multirun = "-m" in argv or "--multirun" in argv
        problem = preflight.check(_overrides(argv), multirun=multirun)
        if problem is not None:
            print(f"attnbench: invalid config: {problem}", file=sys.stderr)
            return 2
    sys.argv = [sys.argv[0], *argv]
    app.OUTCOMES.clear()
    callbacks.LAST.clear()
    app.hydra_main()
    outcomes = callbacks.LAST.get("sweep") or {s: app.OUTCOMES.count(s) for s in app.OUTCOMES}
    return 1 if outcomes.get("failed") else 0


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    logging.basicConfig(level=logging.INFO, format="[attnbench] %(message)s")
    handlers = {"figures": _figures, "claims": _claims, "describe": _describe, "reproduce": _reproduce, "list": _list}
    try:
        if argv and argv[0] in handlers:
            return handlers[argv[0]](argv[1:])
        return _run(argv)
    except UsageError as error:
        print(f"attnbench: {error}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
