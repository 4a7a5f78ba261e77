"""Exclusive run claims (ARCHITECTURE.md, "The store").

Before computing a run, a job creates ``<run_id>.lock`` as a hard link to a complete file, which is atomic
on local and on NFS file systems: two sweeps, or the tasks of a SLURM array on a shared file system, therefore
never compute the same run at once. The lock holds the owner's pid and host; a background thread touches it
every `HEARTBEAT_S` seconds. A lock is dead when its owner is a process of this host that no longer exists,
or when its heartbeat is older than `DEAD_AFTER_S` (another host's owner died); a dead lock is taken over by
renaming it away first, so two jobs that both find it dead cannot both take it.
"""

from __future__ import annotations

import json
import os
import platform
import threading
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

HEARTBEAT_S = 20.0
DEAD_AFTER_S = 180.0


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def owner(path: Path) -> dict[str, Any] | None:
    """The lock's owner (pid, host, started), or None if there is no lock."""
    try:
        return json.loads(path.read_text()) | {"heartbeat": path.stat().st_mtime}
    except FileNotFoundError:
        return None
    except ValueError:  # a lock being written, or cut short by a kill: judge it by its age alone
        try:
            return {"pid": -1, "host": "?", "heartbeat": path.stat().st_mtime}
        except FileNotFoundError:
            return None


def is_dead(info: dict[str, Any]) -> bool:
    """Whether the owner of a lock described by ``info`` is gone."""
    if info.get("host") == platform.node() and info.get("pid", -1) > 0 and not _pid_alive(int(info["pid"])):
        return True
    return time.time() - float(info["heartbeat"]) > DEAD_AFTER_S


@dataclass
class RunLock:
    """A held claim on one run; `release` (or leaving the ``with`` block) removes it."""

    path: Path
    _stop: threading.Event
    _thread: threading.Thread

    def release(self) -> None:
        self._stop.set()
        self._thread.join()
        self.path.unlink(missing_ok=True)

    def __enter__(self) -> RunLock:
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()


def _create(path: Path) -> bool:
    """Create the lock with its content in one step: a hard link of a complete temporary file, which fails
    when the lock exists (atomic, like ``O_CREAT | O_EXCL``), so a lock is never seen half-written."""
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex}.tmp")
    tmp.write_text(json.dumps({"pid": os.getpid(), "host": platform.node(), "started": time.time()}))
    os.chmod(tmp, 0o644)
    try:
        os.link(tmp, path)
    except FileExistsError:
        return False
    finally:
        tmp.unlink()
    return True


def acquire(path: Path) -> RunLock | None:
    """Claim the run whose lock file is ``path``; None when a live owner holds it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    if not _create(path):
        info = owner(path)
        if info is not None and not is_dead(info):
            return None
        grave = path.with_name(f"{path.name}.dead.{uuid.uuid4().hex}")
        try:
            os.rename(path, grave)  # only one of several jobs that found it dead wins this rename
        except FileNotFoundError:
            pass
        else:
            taken = owner(grave)
            if taken is not None and not is_dead(taken):  # another job took it over in between: give it back
                os.rename(grave, path)
                return None
            grave.unlink(missing_ok=True)
        if not _create(path):
            return None
    stop = threading.Event()

    def beat() -> None:
        while not stop.wait(HEARTBEAT_S):
            try:
                os.utime(path)
            except FileNotFoundError:
                return

    thread = threading.Thread(target=beat, daemon=True, name=f"heartbeat {path.name}")
    thread.start()
    return RunLock(path, stop, thread)
