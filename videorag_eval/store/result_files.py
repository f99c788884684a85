"""Reading a cell's own JSON files (``metrics.json``, ``identity.json``, ``failed.json``) with a check
of their shape, so that one damaged file is named with what is wrong with it instead of crashing the
tool that read it (``status``, ``report``, a rerun of the cell).
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any


class UnreadableFile(ValueError):
    """A cell file that is not what the harness writes; ``why`` says what is wrong with it."""

    def __init__(self, path: Path, why: str):
        self.path = Path(path)
        self.why = why
        super().__init__(f"{self.path}: {why}")


# metrics.json keys the tools (status, report, the console summary) read, and what each must be when present
_COUNTS = ("n", "n_failed", "n_degraded", "n_unanswered", "n_unparsable", "frames", "resumed")
_PERCENTS = ("accuracy", "accuracy_micro")  # finite, 0-100
_TEXTS = ("model", "task", "accuracy_metric", "method")
_COUNT_MAPS = ("failures", "degraded", "aux_retrieved", "unparsable_by_parser")  # {kind: count}
_NUMBER_MAPS = ("timings",)  # {stage: seconds}
_OBJECTS = ("official", "official_script", "versions", "token_budget", "decoupling", "cache")


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
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def _is_percent(value: Any) -> bool:
    return _is_number(value) and 0 <= value <= 100


def metrics_problem(metrics: dict[str, Any]) -> str | None:
    """What is wrong with a metrics.json object (the first thing found), or None: every field status, report
    and the summary read, checked for shape and range."""
    for key in _COUNTS:
        if key in metrics and not _is_count(metrics[key]):
            return f"{key}={metrics[key]!r} is not a non-negative integer"
    for key in ("n_failed", "n_degraded"):
        if key in metrics and "n" in metrics and metrics[key] > metrics["n"]:
            return f"{key}={metrics[key]} is more than n={metrics['n']}"
    for key in _PERCENTS:
        if key in metrics and not _is_percent(metrics[key]):
            return f"{key}={metrics[key]!r} is not a percentage (a finite number from 0 to 100)"
    # Video-MME's official-script accuracy: null when its extractor read no answer at all
    if metrics.get("accuracy_official_script") is not None and not _is_percent(metrics["accuracy_official_script"]):
        return f"accuracy_official_script={metrics['accuracy_official_script']!r} is not a percentage (a finite number from 0 to 100)"
    for key in _TEXTS:
        if key in metrics and not isinstance(metrics[key], str):
            return f"{key}={metrics[key]!r} is not a string"
    if metrics.get("parser") is not None and not isinstance(metrics["parser"], str):
        return f"parser={metrics['parser']!r} is not a string"
    if "rag" in metrics:
        rag = metrics["rag"]
        if not isinstance(rag, dict):
            return f"rag={rag!r} is not an object"
        for source in ("asr", "ocr", "det", "subtitles"):
            if source in rag and not isinstance(rag[source], bool):
                return f"rag.{source}={rag[source]!r} is not true or false"
        if rag.get("threshold") is not None and not _is_number(rag["threshold"]):
            return f"rag.threshold={rag['threshold']!r} is not a number"
    for key, check, what in (("by_category", _is_percent, "a percentage"), ("by_category_n", _is_count, "a count")):
        if key not in metrics:
            continue
        table = metrics[key]
        if not isinstance(table, dict):
            return f"{key}={table!r} is not an object of {{category: {{group: value}}}}"
        for name, groups in table.items():
            if not isinstance(groups, dict):
                return f"{key}.{name}={groups!r} is not an object of {{group: value}}"
            for group, value in groups.items():
                if not check(value):
                    return f"{key}.{name}.{group}={value!r} is not {what}"
    for keys, check, what in ((_COUNT_MAPS, _is_count, "a count"), (_NUMBER_MAPS, _is_number, "a number")):
        for key in keys:
            if key not in metrics:
                continue
            if not isinstance(metrics[key], dict):
                return f"{key}={metrics[key]!r} is not an object"
            for name, value in metrics[key].items():
                if not check(value):
                    return f"{key}.{name}={value!r} is not {what}"
    for key in _OBJECTS:
        if key in metrics and not isinstance(metrics[key], dict):
            return f"{key}={metrics[key]!r} is not an object"
    return None


def read_metrics(path: Path) -> dict[str, Any]:
    """A cell's ``metrics.json``, every field the tools read checked for shape and range (``metrics_problem``)."""
    metrics = read_object(path)
    why = metrics_problem(metrics)
    if why is not None:
        raise UnreadableFile(path, why)
    return metrics


def read_identity(path: Path) -> dict[str, Any]:
    """A cell's ``identity.json``: an object whose sections (settings, versions, annotations) are objects."""
    ident = read_object(path)
    for key in ("settings", "versions", "annotations"):
        if key in ident and not isinstance(ident[key], dict):
            raise UnreadableFile(path, f"{key}={ident[key]!r} is not an object")
    return ident
