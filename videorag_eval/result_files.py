"""Reading a cell's own JSON files (``metrics.json``, ``identity.json``, ``failed.json``) with a check
of their shape, so that one damaged file is named with what is wrong with it instead of crashing the
tool that read it (``status``, ``report``, a rerun of the cell).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any


class UnreadableFile(ValueError):
    """A cell file that is not what the harness writes; ``why`` says what is wrong with it."""

    def __init__(self, path: Path, why: str):
        self.path = Path(path)
        self.why = why
        super().__init__(f"{self.path}: {why}")


# metrics.json keys the tools compute with, and the types they must have when present
_COUNTS = ("n", "n_failed", "n_degraded", "frames")
_NUMBERS = ("accuracy",)


def read_object(path: Path) -> dict[str, Any]:
    """The JSON object in ``path``; UnreadableFile if it cannot be read, is not JSON or not an object."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise UnreadableFile(path, f"not text ({exc.reason})") from exc
    except OSError as exc:
        raise UnreadableFile(path, f"cannot be read ({exc.strerror or exc})") from exc
    try:
        value = json.loads(text)
    except ValueError as exc:
        why = "empty" if not text.strip() else f"not valid JSON ({exc})"
        raise UnreadableFile(path, why) from exc
    if not isinstance(value, dict):
        raise UnreadableFile(path, f"holds a JSON {type(value).__name__}, not an object")
    return value


def _is_count(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and value == value


def read_metrics(path: Path) -> dict[str, Any]:
    """A cell's ``metrics.json``, its counts and accuracy checked for type."""
    metrics = read_object(path)
    for key in _COUNTS:
        if key in metrics and not _is_count(metrics[key]):
            raise UnreadableFile(path, f"{key}={metrics[key]!r} is not a non-negative integer")
    for key in _NUMBERS:
        if key in metrics and not _is_number(metrics[key]):
            raise UnreadableFile(path, f"{key}={metrics[key]!r} is not a number")
    if "rag" in metrics and not isinstance(metrics["rag"], dict):
        raise UnreadableFile(path, f"rag={metrics['rag']!r} is not an object")
    return metrics


def read_identity(path: Path) -> dict[str, Any]:
    """A cell's ``identity.json``: an object whose sections (settings, versions, annotations) are objects."""
    ident = read_object(path)
    for key in ("settings", "versions", "annotations"):
        if key in ident and not isinstance(ident[key], dict):
            raise UnreadableFile(path, f"{key}={ident[key]!r} is not an object")
    return ident
