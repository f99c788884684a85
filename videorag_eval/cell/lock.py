"""One writer per cell: ``<cell>/.lock`` held with ``fcntl.flock`` for the whole run (CELL_PROTOCOL).

The kernel drops the lock when its process dies, so a killed run never blocks the next one; the
file's JSON content ({"pid", "host", "started"}) only tells a human who holds it.
"""

from __future__ import annotations

import fcntl
import json
import os
import socket
from datetime import datetime, timezone
from pathlib import Path
from typing import Any


class CellBusy(RuntimeError):
    """Another live process is writing this cell."""


class CellLock:
    def __init__(self, cell: Path):
        self.path = Path(cell) / ".lock"
        self._fd: int | None = None

    def __enter__(self) -> "CellLock":
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o666)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.read(fd, 4096).decode("utf-8", "replace").strip() or "{}"
            os.close(fd)
            raise CellBusy(f"cell {self.path.parent} is being written by another process ({holder}); "
                           "wait for it to finish (python -m videorag_eval.status shows it running) or stop that process") from None
        os.ftruncate(fd, 0)
        os.write(fd, json.dumps({"pid": os.getpid(), "host": socket.gethostname(), "started": datetime.now(timezone.utc).isoformat(timespec="seconds")}).encode())
        os.fsync(fd)
        self._fd = fd
        return self

    def __exit__(self, *exc) -> None:
        if self._fd is not None:
            fcntl.flock(self._fd, fcntl.LOCK_UN)
            os.close(self._fd)
            self._fd = None


def is_locked(cell: Path) -> bool:
    """True while a live process holds the cell's lock (a non-blocking shared lock attempt fails)."""
    path = Path(cell) / ".lock"
    if not path.exists():
        return False
    fd = os.open(path, os.O_RDONLY)
    try:
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    else:
        fcntl.flock(fd, fcntl.LOCK_UN)
        return False
    finally:
        os.close(fd)


def lock_holder(cell: Path) -> dict[str, Any] | None:
    """The lock's content if some process holds the cell's ``.lock`` flock, else None."""
    path = cell / ".lock"
    try:
        fd = os.open(path, os.O_RDONLY)
    except FileNotFoundError:
        return None
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
        except BlockingIOError:
            try:
                holder = json.loads(path.read_text() or "{}")
            except (OSError, ValueError):
                return {}
            return holder if isinstance(holder, dict) else {}
        fcntl.flock(fd, fcntl.LOCK_UN)
        return None
    finally:
        os.close(fd)
