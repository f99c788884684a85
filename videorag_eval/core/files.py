"""Atomic file writes: a reader sees the old file or the new one, never half of one.

Every file the harness writes (cache entries, cell files, task include YAMLs) goes through here:
a temporary file in the same directory, then ``os.replace``. Files get the mode an ordinary
``open()`` gives (``0o666`` less the umask; ``mkstemp`` alone would make every file ``0o600``), so a
group sharing a cache or a results directory with ``umask 002`` can read and add to each other's
files.
"""

from __future__ import annotations

import json
import os
import stat
import tempfile
import time
from pathlib import Path
from typing import Any, Iterable

TMP_SUFFIX = ".tmp"  # a killed writer's leftover: .<name>.<random>.tmp beside the file
# A temporary older than this is a killed writer's: no live write_atomic takes an hour, so removing it
# never pulls a file from under a writer of another process (its os.replace would fail).
STALE_TMP_SECONDS = 3600.0


def current_umask() -> int:
    """The process umask, read without changing it (``/proc``) where possible."""
    try:
        with open("/proc/self/status", "rb") as fh:
            for line in fh:
                if line.startswith(b"Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError, IndexError):
        pass
    mask = os.umask(0o022)  # elsewhere: set and restore at once
    os.umask(mask)
    return mask


def file_mode() -> int:
    """The mode of a new file as ``open()`` makes it: ``0o666`` less the umask."""
    return 0o666 & ~current_umask()


def dir_mode(path: str | os.PathLike[str]) -> int:
    """The mode ``mkdir`` would give a new directory in ``path``'s parent: ``0o777`` less the umask,
    with the parent's setgid bit (a shared group directory keeps its group on everything below)."""
    parent = Path(path).parent
    try:
        setgid = os.stat(parent).st_mode & stat.S_ISGID
    except OSError:
        setgid = 0
    return (0o777 & ~current_umask()) | setgid


def write_atomic(path: str | os.PathLike[str], data: bytes | str) -> None:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=TMP_SUFFIX)
    try:
        os.fchmod(fd, file_mode())  # mkstemp's 0o600 would lock the group out of a shared directory
        with os.fdopen(fd, "wb") as fh:
            fh.write(data.encode("utf-8") if isinstance(data, str) else data)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise



def write_json(path: str | os.PathLike[str], value: Any) -> None:
    write_atomic(path, json.dumps(value, indent=2, ensure_ascii=False, default=str) + "\n")


def write_jsonl(path: str | os.PathLike[str], rows: Iterable[Any]) -> None:
    write_atomic(path, "".join(json.dumps(r, ensure_ascii=False, default=str) + "\n" for r in rows))


def is_tmp_name(name: str) -> bool:
    """A ``write_atomic`` temporary: ``.<name>.<random>.tmp``."""
    return name.startswith(".") and name.endswith(TMP_SUFFIX) and name.count(".") >= 3


def remove_stale_tmp(directory: str | os.PathLike[str], recursive: bool = False, skip: tuple[str, ...] = (),
                     max_age: float = STALE_TMP_SECONDS) -> list[Path]:
    """Remove the temporaries killed writers left in ``directory`` (and below, with ``recursive``;
    ``skip``: names of subdirectories not entered); the removed paths."""
    removed: list[Path] = []
    cutoff = time.time() - max_age
    for root, dirs, names in os.walk(directory):
        dirs[:] = [d for d in dirs if d not in skip] if recursive else []
        for name in names:
            if not is_tmp_name(name):
                continue
            path = Path(root) / name
            try:
                if path.lstat().st_mtime < cutoff:
                    path.unlink()
                    removed.append(path)
            except FileNotFoundError:  # another process cleaned it meanwhile
                pass
    return removed
