"""Packed cache entries: every entry of one group (a video) in one file, read once per process.

All namespaces of a group share its file ``<root>/packs/<group[:2]>/<group>.pack`` (entries are
``<namespace>/<key>`` inside), so the first question of a video reads one pack, whatever sources
the cell uses. A pack file is ``MAGIC``, an 8-byte header length, a JSON header (the JSON entries, and for each
array entry its dtype, shape and byte range) and the arrays' bytes. It is written whole with
``files.write_atomic``; a writer takes the packs' lock (``fcntl.flock`` on
``packs/.lock``), re-reads the pack if another process changed it since it was loaded,
merges, and replaces the file, so two processes adding entries to one pack never lose or tear
each other's entries. Every file read is counted in ``stats["disk.read"]``. A pack that does not parse (a foreign or damaged file) counts as
``pack.corrupt`` and is rebuilt. Each entry carries a checksum of its payload (``cache_checks``), and
its value is checked for its namespace's type and shape when the pack is read: an entry failing either
is reported (a warning naming the pack and the entry, ``<namespace>.corrupt``), dropped -- a miss, so
the caller recomputes it -- and left out when the pack is next written. (Packs written before checksums
existed are checked for type and shape only.)

The layout of the whole cache directory is versioned by ``layout.json`` (``LAYOUT_VERSION``).
"""

from __future__ import annotations

import contextlib
import json
import logging
import shutil
from collections import Counter, OrderedDict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator

from ..core.files import remove_stale_tmp, write_atomic
from .errors import CacheIOError, cache_io

log = logging.getLogger(__name__)

MAGIC = b"VRAGPK2\n"
LAYOUT_VERSION = 3
# Namespace directories of older layouts (1: one file per entry; 2, never released: one pack per
# video and namespace): an older cache has them; they are removed and rebuilt under packs/.
PACKED_SINCE_V2 = ("text_embedding", "ocr_frame", "clip_image", "clip_text", "detections", "asr_segments", "filehash")
MEMO_PACKS = 256  # packs kept in memory per process (least recently used dropped first)


class CacheLayoutError(RuntimeError):
    pass


@dataclass
class Pack:
    json: dict[str, Any] = field(default_factory=dict)
    arrays: dict[str, Any] = field(default_factory=dict)
    signature: tuple[int, int, int] | None = None  # (inode, mtime_ns, size) of the file as last read or written
    dirty: set[str] = field(default_factory=set)
    bad: list[tuple[str, str]] = field(default_factory=list)  # (entry, why) dropped when the file was read


def encode_pack(pack: Pack) -> bytes:
    import numpy as np

    from .checks import array_checksum, json_checksum

    index, blobs, offset = {}, [], 0
    for key, arr in pack.arrays.items():
        a = np.ascontiguousarray(arr)
        raw = a.tobytes()
        index[key] = [a.dtype.str, list(a.shape), offset, len(raw), array_checksum(a)]
        blobs.append(raw)
        offset += len(raw)
    sums = {key: json_checksum(value) for key, value in pack.json.items()}
    header = json.dumps({"json": pack.json, "arrays": index, "json_sums": sums}, ensure_ascii=False,
                        sort_keys=True).encode("utf-8")
    return MAGIC + len(header).to_bytes(8, "little") + header + b"".join(blobs)


def decode_pack(data: bytes) -> Pack:
    import numpy as np

    if not data.startswith(MAGIC) or len(data) < len(MAGIC) + 8:
        raise ValueError("not a pack file")
    n = int.from_bytes(data[len(MAGIC):len(MAGIC) + 8], "little")
    start = len(MAGIC) + 8
    if start + n > len(data):
        raise ValueError("truncated header")
    header = json.loads(data[start:start + n].decode("utf-8"))
    base = start + n
    arrays, bad = {}, []
    for key, (dtype, shape, off, size, *checksum) in header["arrays"].items():
        if base + off + size > len(data):
            raise ValueError("truncated arrays")
        try:
            arr = np.frombuffer(data, dtype=np.dtype(dtype), count=size // np.dtype(dtype).itemsize,
                                offset=base + off).reshape(shape)
        except (ValueError, TypeError) as exc:  # a shape that does not fit its bytes
            bad.append((key, f"unreadable array ({exc})"))
            continue
        why = _entry_problem(key, arr, checksum[0] if checksum else None, array=True)
        if why is None:
            arrays[key] = arr
        else:
            bad.append((key, why))
    sums = header.get("json_sums") or {}
    values = {}
    for key, value in header["json"].items():
        why = _entry_problem(key, value, sums.get(key), array=False)
        if why is None:
            values[key] = value
        else:
            bad.append((key, why))
    return Pack(json=values, arrays=arrays, bad=bad)


def _entry_problem(entry: str, value: Any, checksum: str | None, array: bool) -> str | None:
    """Why a packed entry cannot be used (its payload does not match its checksum; its value is not of
    its namespace's type or shape), or None. No checksum: a pack written before checksums existed."""
    from .checks import array_checksum, json_checksum, problem

    if checksum is not None and (array_checksum(value) if array else json_checksum(value)) != checksum:
        return "does not match its checksum (the payload was changed after it was written)"
    why = problem(entry.split("/", 1)[0], value)
    return f"is not what its namespace holds: {why}" if why else None


@contextlib.contextmanager
def file_lock(path: Path) -> Iterator[None]:
    """An exclusive advisory lock (flock) on ``path``; a no-op where flock is unavailable."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a+b") as fh:
        try:
            import fcntl

            fcntl.flock(fh.fileno(), fcntl.LOCK_EX)
        except (ImportError, OSError):  # pragma: no cover - filesystems without flock
            pass
        yield


class PackStore:
    """The packed entries of one cache root, memoised in process."""

    def __init__(self, root: Path, stats: Counter[str]):
        self.root = root
        self.stats = stats
        self._memo: OrderedDict[tuple[str, str], Pack] = OrderedDict()
        self._defer = 0
        self._layout_ok = False

    # -- layout -----------------------------------------------------------------------------
    def check_layout(self) -> None:
        """Detect a cache of another layout once per process; rebuild an older one."""
        if self._layout_ok:
            return
        marker = self.root / "layout.json"
        with cache_io(marker, "read or written"):
            self._check_layout(marker)
        self._layout_ok = True

    def _check_layout(self, marker: Path) -> None:
        if not self.root.exists():
            self.root.mkdir(parents=True, exist_ok=True)
        with file_lock(self.root / ".layout.lock"):
            version = _read_version(marker)
            if version is None and not any((self.root / ns).is_dir() for ns in PACKED_SINCE_V2):
                version = LAYOUT_VERSION  # a fresh cache
            elif version is None:
                version = 1
            if version > LAYOUT_VERSION:
                raise CacheLayoutError(
                    f"{marker}: cache layout {version} was written by a newer videorag_eval (this one reads "
                    f"{LAYOUT_VERSION}); upgrade, or point cache_dir at another directory")
            if version < LAYOUT_VERSION:
                removed = 0
                for ns in PACKED_SINCE_V2:
                    d = self.root / ns
                    if d.is_dir():
                        removed += sum(1 for p in d.rglob("*") if p.is_file())
                        shutil.rmtree(d, ignore_errors=True)
                log.warning("cache %s has layout %d (one file per entry); removed %d old entries of %s, which are "
                            "rebuilt as packed entries (layout %d)", self.root, version, removed,
                            ", ".join(PACKED_SINCE_V2), LAYOUT_VERSION)
                self.stats["layout.rebuilt"] += 1
            if _read_version(marker) != LAYOUT_VERSION:
                write_atomic(marker, json.dumps({"version": LAYOUT_VERSION, "packed": list(PACKED_SINCE_V2)}) + "\n")
            stale = remove_stale_tmp(self.root, recursive=True, skip=("hf_datasets",))
            if stale:  # once per process: temporaries of writers killed mid-write (an hour old or more)
                log.warning("cache %s: removed %d temporary file(s) left by killed writers (e.g. %s)", self.root,
                            len(stale), stale[0])
                self.stats["tmp.removed"] += len(stale)

    # -- paths --------------------------------------------------------------------------------
    def path(self, group: str) -> Path:
        return self.root / "packs" / group[:2] / f"{group}.pack"

    # -- reading --------------------------------------------------------------------------------
    def _read(self, group: str) -> Pack:
        path = self.path(group)
        try:
            st = path.stat()
            data = path.read_bytes()
        except FileNotFoundError:
            return Pack()
        except OSError as exc:  # a directory where the pack belongs, no permission: the cache's, never the video's
            raise CacheIOError(path, "read", exc) from exc
        self.stats["disk.read"] += 1
        self.stats["pack.read"] += 1
        try:
            pack = decode_pack(data)
        except (ValueError, KeyError, TypeError, UnicodeDecodeError, json.JSONDecodeError):
            self.stats["pack.corrupt"] += 1
            log.warning("cache pack %s does not parse; it is rebuilt", path)
            return Pack(signature=(st.st_ino, st.st_mtime_ns, st.st_size))
        pack.signature = (st.st_ino, st.st_mtime_ns, st.st_size)
        for entry, why in pack.bad:  # dropped: a miss, recomputed by the caller, left out of the next write
            self.stats[f"{entry.split('/', 1)[0]}.corrupt"] += 1
            log.warning("cache pack %s: entry %s %s; not used, it is recomputed", path, entry, why)
        return pack

    def _signature(self, group: str) -> tuple[int, int, int] | None:
        path = self.path(group)
        try:
            st = path.stat()
        except FileNotFoundError:
            return None
        except OSError as exc:
            raise CacheIOError(path, "read", exc) from exc
        return (st.st_ino, st.st_mtime_ns, st.st_size)  # every write is a new file (a new inode)

    def pack(self, group: str) -> Pack:
        self.check_layout()
        if group in self._memo:
            self._memo.move_to_end(group)
            return self._memo[group]
        pack = self._read(group)
        self._memo[group] = pack
        while len(self._memo) > MEMO_PACKS:
            old_group, old = next(iter(self._memo.items()))
            if old.dirty:
                self._flush(old_group)
            self._memo.pop(old_group)
        return pack

    def _refresh(self, group: str, pack: Pack) -> bool:
        """Merge in what another process wrote since we read the pack; True if anything changed."""
        sig = self._signature(group)
        if sig is None or sig == pack.signature:
            return False
        disk = self._read(group)
        for key, value in disk.json.items():
            pack.json.setdefault(key, value)
        for key, value in disk.arrays.items():
            pack.arrays.setdefault(key, value)
        pack.signature = disk.signature
        return True

    def get(self, namespace: str, group: str, key: str, kind: str) -> Any | None:
        pack = self.pack(group)
        store = pack.json if kind == "json" else pack.arrays
        entry = f"{namespace}/{key}"
        if entry not in store and self._refresh(group, pack):
            store = pack.json if kind == "json" else pack.arrays
        if entry not in store:
            self.stats[f"{namespace}.miss"] += 1
            return None
        self.stats[f"{namespace}.hit"] += 1
        return store[entry]

    def known(self, namespace: str, key: str, kind: str = "array") -> Any | None:
        """An entry of any pack already in memory (no disk access), or None."""
        entry = f"{namespace}/{key}"
        for pack in reversed(self._memo.values()):
            store = pack.json if kind == "json" else pack.arrays
            if entry in store:
                return store[entry]
        return None

    # -- writing --------------------------------------------------------------------------------
    def put(self, namespace: str, group: str, key: str, kind: str, value: Any) -> None:
        import numpy as np

        pack = self.pack(group)
        entry = f"{namespace}/{key}"
        if kind == "json":
            pack.json[entry] = json.loads(json.dumps(value, ensure_ascii=False))  # what a reader will see
        else:
            pack.arrays[entry] = np.ascontiguousarray(value)
        pack.dirty.add(entry)
        if not self._defer:
            self._flush(group)

    def _flush(self, group: str) -> None:
        pack = self._memo.get(group)
        if pack is None or not pack.dirty:
            return
        with cache_io(self.path(group), "written"), file_lock(self.root / "packs" / ".lock"):
            self._refresh(group, pack)
            write_atomic(self.path(group), encode_pack(pack))
            pack.signature = self._signature(group)
        pack.dirty.clear()
        self.stats["pack.write"] += 1

    def flush(self) -> None:
        for group, pack in list(self._memo.items()):
            if pack.dirty:
                self._flush(group)

    @contextlib.contextmanager
    def batch(self) -> Iterator[None]:
        self._defer += 1
        try:
            yield
        finally:
            self._defer -= 1
            if not self._defer:
                self.flush()


def _read_version(marker: Path) -> int | None:
    try:
        return int(json.loads(marker.read_text())["version"])
    except FileNotFoundError:
        return None
    except (ValueError, KeyError, TypeError):
        return 1
