"""A file-system error on the extraction cache: the cache's failure, never a video's.

A directory where an entry belongs, no permission on a group-shared cache, a full disk, a read-only mount:
every video would fail alike, so the cell stops (systemic) with a message naming the file and what to do,
wherever an extractor, the decoupling-reply cache or the video links met it (``cache``, ``cache_packs``,
``video_links``).
"""

from __future__ import annotations

import contextlib
import errno
import os
from pathlib import Path
from typing import Iterator

from ..core.failures import SystemicFailure


class CacheIOError(SystemicFailure):
    """The cache cannot be read or written here: every video would fail alike, so the cell stops (never a
    video's failure); the message names the file and what to do."""

    def __init__(self, path: str | os.PathLike[str], action: str, exc: OSError):
        from ..core.files import is_tmp_name

        # the file the error is about: os.replace(tmp, dst) names dst second; a temporary is removed already
        named = exc.filename2 or (exc.filename if exc.filename and not is_tmp_name(Path(exc.filename).name) else None)
        self.path = Path(named) if named else Path(path)
        self.errno = exc.errno
        what = exc.strerror or str(exc)
        if exc.errno in (errno.ENOSPC, errno.EDQUOT):
            fix = "free space on the cache's disk (cache_dir), or set cache_dir to another disk, then run again"
        elif exc.errno == errno.EROFS:
            fix = "cache_dir is on a read-only file system: set cache_dir to a writable directory"
        elif exc.errno in (errno.EACCES, errno.EPERM):
            fix = (f"give this user read and write access to {self.path} (a cache shared by a group: a setgid group "
                   "directory and umask 002, docs/sweeps.md), or set cache_dir to a directory of your own")
        else:
            fix = (f"delete {self.path} (what it should hold is computed again), or set cache_dir to another "
                   "directory")
        super().__init__(f"the extraction cache cannot be {action}: {self.path}: {type(exc).__name__}: {what} -- "
                         f"{fix}; no video is marked failed for it")


@contextlib.contextmanager
def cache_io(path: str | os.PathLike[str], action: str) -> Iterator[None]:
    """File-system errors inside are the cache's (``CacheIOError``), not the data's."""
    try:
        yield
    except CacheIOError:
        raise
    except OSError as exc:
        raise CacheIOError(path, action, exc) from exc
