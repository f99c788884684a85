"""On-disk cache of extracted auxiliary text, features and embeddings.

A key is the SHA-256 of a canonical JSON of everything that changes the entry's content (video
content hash, extractor, model, version, ...). Two storage forms, both written atomically
(``files.write_atomic``), so a killed run never leaves a half-written entry:

- a single entry: one file ``<root>/<namespace>/<key[:2]>/<key>.<ext>``;
- a *packed* entry (``group=``): every entry of one group (a video: its ASR segments, OCR readings,
  text embeddings, CLIP features, detections, decoupling replies) in one file
  ``<root>/packs/<group[:2]>/<group>.pack`` (``cache_packs``), read once per process and memoised,
  so a cell reads each video's pack once and the file count is O(videos), not O(texts or frames).
  Concurrent writers merge under a lock. File-hash memos are packed per directory of videos.

``<root>/layout.json`` records the layout version; a cache of an older layout is detected and its
obsolete entries are removed, so they are rebuilt in the current layout.

Entries are checked when read (``cache_checks``): a packed entry against its payload's checksum, and
every entry for its namespace's type and shape; a failing one is reported, removed and recomputed.

A file-system error on the cache itself (a directory where an entry belongs, no permission on a shared
cache, a full disk, a read-only mount) is ``CacheIOError``: systemic, whatever extractor met it. The cell
stops naming the file and the fix; it is never filed as one video's ``asr_failed`` / ``ocr_failed``.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
from collections import Counter
from pathlib import Path
from typing import Any, Callable

from ..core.files import write_atomic
from .errors import CacheIOError, cache_io

_HASH_CHUNK = 1 << 20
log = logging.getLogger(__name__)


def make_key(**parts: Any) -> str:
    """A stable key from keyword parts (order-independent, JSON-canonical)."""
    blob = json.dumps(parts, sort_keys=True, default=str, separators=(",", ":"))
    return hashlib.sha256(blob.encode()).hexdigest()


def text_hash(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


class Cache:
    """A directory of JSON and NumPy entries keyed by content.

    ``stats`` counts hits and misses per namespace, so a run can report what it reused.
    """

    def __init__(self, root: str | os.PathLike[str]):
        from .packs import PackStore

        self.root = Path(root)
        self.stats: Counter[str] = Counter()
        self.packs = PackStore(self.root, self.stats)

    # -- paths ---------------------------------------------------------------------------
    def _path(self, namespace: str, key: str, ext: str) -> Path:
        self.packs.check_layout()
        return self.root / namespace / key[:2] / f"{key}.{ext}"

    def batch(self):
        """Context manager: packed writes inside it are flushed once, at its end."""
        return self.packs.batch()

    # -- single-file entries ---------------------------------------------------------------
    def _read_single(self, namespace: str, key: str, ext: str, decode: Callable[[bytes], Any],
                     corrupt: tuple[type[Exception], ...]) -> Any | None:
        """One entry's own file: a miss if absent; a file-system error on it is the cache's (systemic,
        ``CacheIOError``); undecodable bytes (disk trouble, a manual edit) or a value of the wrong type or
        shape are a corrupt miss, and the entry is recomputed and rewritten."""
        path = self._path(namespace, key, ext)
        self.stats["disk.read"] += 1
        try:
            value = decode(path.read_bytes())
        except FileNotFoundError:
            self.stats[f"{namespace}.miss"] += 1
            return None
        except OSError as exc:  # e.g. a directory where the entry belongs, no permission: the cache's, systemic
            raise CacheIOError(path, "read", exc) from exc
        except corrupt:
            self.stats[f"{namespace}.corrupt"] += 1
            return None
        if not self._usable(namespace, path, value):
            return None
        self.stats[f"{namespace}.hit"] += 1
        return value

    def _usable(self, namespace: str, path: Path, value: Any) -> bool:
        """A single-file entry of the wrong type or shape: reported, removed, a miss (recomputed)."""
        from .checks import problem

        why = problem(namespace, value)
        if why is None:
            return True
        self.stats[f"{namespace}.corrupt"] += 1
        log.warning("cache entry %s is not what %s holds (%s); removed, it is recomputed", path, namespace, why)
        with cache_io(path, "written"):
            path.unlink(missing_ok=True)
        return False

    # -- JSON entries ----------------------------------------------------------------------
    def get_json(self, namespace: str, key: str, group: str | None = None) -> Any | None:
        if group is not None:
            return self.packs.get(namespace, group, key, "json")
        return self._read_single(namespace, key, "json", lambda raw: json.loads(raw.decode("utf-8")),
                                 (json.JSONDecodeError, UnicodeDecodeError))

    def put_json(self, namespace: str, key: str, value: Any, group: str | None = None) -> None:
        if group is not None:
            return self.packs.put(namespace, group, key, "json", value)
        data = json.dumps(value, ensure_ascii=False, sort_keys=True).encode("utf-8")
        path = self._path(namespace, key, "json")
        with cache_io(path, "written"):
            write_atomic(path, data)

    # -- array entries ---------------------------------------------------------------------
    def get_array(self, namespace: str, key: str, group: str | None = None):
        if group is not None:
            return self.packs.get(namespace, group, key, "array")
        import io

        import numpy as np

        return self._read_single(namespace, key, "npy", lambda raw: np.load(io.BytesIO(raw), allow_pickle=False),
                                 (ValueError,))

    def put_array(self, namespace: str, key: str, value, group: str | None = None) -> None:
        if group is not None:
            return self.packs.put(namespace, group, key, "array", value)
        import io

        import numpy as np

        buf = io.BytesIO()
        np.save(buf, np.ascontiguousarray(value), allow_pickle=False)
        path = self._path(namespace, key, "npy")
        with cache_io(path, "written"):
            write_atomic(path, buf.getvalue())

    # -- file content hashes -------------------------------------------------------------------
    def file_hash(self, path: str | os.PathLike[str]) -> str:
        """SHA-256 of a file's bytes, memoised on disk by (absolute path, size, mtime). A memo is
        trusted only if it names this file with its current size and mtime (else: reported, hashed again)."""
        p = Path(path)
        st = p.stat()
        resolved = str(p.resolve())
        memo_key = make_key(path=resolved, size=st.st_size, mtime_ns=st.st_mtime_ns)
        folder = "dir" + make_key(folder=str(p.resolve().parent))[:40]  # one pack per directory of videos
        memo = self.get_json("filehash", memo_key, group=folder)
        if memo is not None:
            named = (memo.get("path"), memo.get("size"), memo.get("mtime_ns"))
            if named == (resolved, st.st_size, st.st_mtime_ns):
                return memo["sha256"]
            self.stats["filehash.corrupt"] += 1
            log.warning("cache: the file-hash memo of %s names %s (size %s, mtime_ns %s), not this file as it is "
                        "(size %s, mtime_ns %s); not used, the file is hashed again", resolved, *named, st.st_size,
                        st.st_mtime_ns)
        digest = hashlib.sha256()
        with p.open("rb") as fh:
            for chunk in iter(lambda: fh.read(_HASH_CHUNK), b""):
                digest.update(chunk)
        value = digest.hexdigest()
        self.put_json("filehash", memo_key, {"sha256": value, "path": resolved, "size": st.st_size,
                                             "mtime_ns": st.st_mtime_ns}, group=folder)
        return value
