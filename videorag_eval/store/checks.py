"""Integrity of cache entries: a checksum of each packed entry's payload, and the type and shape each
namespace's entries must have. A damaged entry that still parses (an edited text, garbled or
wrong-shape embeddings, a wrong-typed value) is never used: ``cache_packs`` reports it, drops it
and the caller recomputes it, like a miss (and the next write of its pack leaves it out).
"""

from __future__ import annotations

import hashlib
import json
import math
from typing import Any, Callable


def json_checksum(value: Any) -> str:
    """Checksum of a JSON entry as stored (canonical: sorted keys, no spaces)."""
    blob = json.dumps(value, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(blob.encode("utf-8")).hexdigest()[:32]


def array_checksum(array: Any) -> str:
    """Checksum of an array entry: dtype, shape and bytes."""
    import numpy as np

    a = np.ascontiguousarray(array)
    h = hashlib.sha256(f"{a.dtype.str}{list(a.shape)}".encode())
    h.update(a.tobytes())
    return h.hexdigest()[:32]


def _number(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)


def _list_of(items: Any, check: Callable[[Any], str | None]) -> str | None:
    if not isinstance(items, list):
        return f"a {type(items).__name__}, not a list"
    for i, item in enumerate(items):
        if (why := check(item)) is not None:
            return f"item {i}: {why}"
    return None


def _segment(s: Any) -> str | None:
    if not isinstance(s, dict) or not _number(s.get("start")) or not _number(s.get("end")) or not isinstance(s.get("text"), str):
        return "not {start: number, end: number, text: str}"
    return None


def _reading(r: Any) -> str | None:
    if not isinstance(r, dict) or not isinstance(r.get("text"), str) or not _number(r.get("conf")):
        return "not {text: str, conf: number, ...}"
    return None


def _box(b: Any) -> str | None:
    keys = ("score", "x0", "y0", "x1", "y1")
    if not isinstance(b, dict) or not isinstance(b.get("label"), str) or not all(_number(b.get(k)) for k in keys):
        return "not a box {label, score, x0, y0, x1, y1}"
    return None


def _asr(v: Any) -> str | None:
    if not isinstance(v, dict):
        return f"a {type(v).__name__}, not an object"
    if (why := _list_of(v.get("segments"), _segment)) is not None:
        return f"segments: {why}"
    return None


def _ocr(v: Any) -> str | None:
    if not isinstance(v, dict):
        return f"a {type(v).__name__}, not an object"
    if (why := _list_of(v.get("readings"), _reading)) is not None:
        return f"readings: {why}"
    return None


def _detections(v: Any) -> str | None:
    if not isinstance(v, dict):
        return f"a {type(v).__name__}, not an object"
    if (why := _list_of(v.get("boxes"), _box)) is not None:
        return f"boxes: {why}"
    size = v.get("size")
    if not (isinstance(size, list) and len(size) == 2 and all(isinstance(x, int) and x > 0 for x in size)):
        return f"size {size!r} is not [height, width]"
    return None


def _decoupling(v: Any) -> str | None:
    if not isinstance(v, dict) or not isinstance(v.get("raw"), str):
        return "not {raw: str, route}"
    return None


def _filehash(v: Any) -> str | None:
    if not isinstance(v, dict):
        return f"a {type(v).__name__}, not an object"
    digest = v.get("sha256")
    if not (isinstance(digest, str) and len(digest) == 64 and all(c in "0123456789abcdef" for c in digest)):
        return "sha256 is not a hex digest"
    if not isinstance(v.get("path"), str) or not isinstance(v.get("size"), int) or not isinstance(v.get("mtime_ns"), int):
        return "no path, size and mtime_ns of the file it names"
    return None


def _vector(a: Any) -> str | None:
    import numpy as np

    if not isinstance(a, np.ndarray):
        return f"a {type(a).__name__}, not an array"
    if a.ndim != 1 or a.size == 0:
        return f"shape {a.shape}, not a vector"
    if a.dtype.kind != "f":
        return f"dtype {a.dtype}, not floating point"
    if not np.isfinite(a).all():
        return "holds NaN or infinite values"
    return None


# namespace -> check of one entry's value (None: fine; else what is wrong)
CHECKS: dict[str, Callable[[Any], str | None]] = {
    "asr_segments": _asr,
    "ocr_frame": _ocr,
    "detections": _detections,
    "decoupling": _decoupling,
    "filehash": _filehash,
    "text_embedding": _vector,
    "text_embedding_raw": _vector,
    "clip_image": _vector,
    "clip_text": _vector,
}


def problem(namespace: str, value: Any) -> str | None:
    """What is wrong with an entry of ``namespace`` (its type or shape), or None."""
    check = CHECKS.get(namespace)
    return check(value) if check is not None else None
