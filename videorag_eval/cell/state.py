"""A cell's honest identity (``identity.json``) and its failure marker (``failed.json``), per CELL_PROTOCOL.

The identity is what the cell's numbers depend on beyond its directory name: the settings
(``cells.identity``), the lmms-eval and harness versions, and the SHA-256 of the benchmark's
annotation file. A cell directory whose stored identity differs from the requested one is never
reused or resumed silently: the run is refused with what differs and how to proceed.
"""

from __future__ import annotations

import hashlib
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from ..core.files import write_json
from ..store.journal import journals
from ..store.result_files import UnreadableFile, read_identity
from .settings import ConfigError

IDENTITY = "identity.json"
FAILED = "failed.json"
# The files a run writes into a cell (removed by force=true; .lock stays: it may be held).
RUN_FILES = ("metrics.json", "samples.jsonl", "journal.jsonl", IDENTITY, FAILED)


class IdentityMismatch(ConfigError):
    """The cell directory holds results of something else than what was asked (exit 2)."""


class DamagedCell(ConfigError):
    """One of the cell's own files is damaged (garbage JSON, wrong types): refused, naming it (exit 2)."""

    def __init__(self, cell: Path, error: UnreadableFile):
        super().__init__(f"cell {cell}: {error.path.name} is damaged ({error.why}; file {error.path}): "
                         "its results cannot be trusted or resumed; force=true re-runs the cell from scratch")


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def compute(cfg: Any) -> dict[str, Any]:
    from ..lmms.tasks import get_spec, resolve_data_dir
    from ..runtime.weights import package_version
    from . import identity as cells

    data_dir, local = resolve_data_dir(cfg.task)
    ann = data_dir / get_spec(str(cfg.task.name)).annotations
    return {
        "settings": cells.identity(cfg),
        "versions": {"lmms-eval": package_version("lmms-eval"), "videorag_eval": package_version("videorag_eval")},
        "annotations": {"file": str(ann), "sha256": _sha256(ann) if ann.is_file() else None,
                        "source": "local" if local else "hub"},
    }


def _flatten(value: Any, prefix: str = "") -> dict[str, Any]:
    if isinstance(value, dict):
        out: dict[str, Any] = {}
        for k, v in value.items():
            out.update(_flatten(v, f"{prefix}{k}."))
        return out
    return {prefix.rstrip("."): value}


def differences(stored: dict[str, Any], wanted: dict[str, Any]) -> list[str]:
    a, b = _flatten(stored), _flatten(wanted)
    return [f"{k}: stored {a.get(k)!r}, now {b.get(k)!r}" for k in sorted(set(a) | set(b)) if a.get(k) != b.get(k)]


def check(cell: Path, wanted: dict[str, Any]) -> None:
    """Raise IdentityMismatch if ``cell`` holds results whose identity differs from ``wanted``."""
    path = cell / IDENTITY
    has_results = any((cell / n).exists() for n in ("metrics.json", "samples.jsonl")) or bool(journals(cell))
    if not path.exists():
        if has_results:
            raise IdentityMismatch(f"cell {cell} holds results without an identity.json (written by an older "
                                   "version): they cannot be told apart from another setting's; "
                                   "force=true re-runs the cell from scratch")
        return
    try:
        stored = read_identity(path)
    except UnreadableFile as exc:
        if not has_results:  # nothing to protect: the run rewrites it
            return
        raise DamagedCell(cell, exc) from exc
    diff = differences(stored, wanted)
    if diff and has_results:
        raise IdentityMismatch(f"cell {cell} was produced by something else than what is asked ("
                               + "; ".join(diff[:5]) + (f"; and {len(diff) - 5} more" if len(diff) > 5 else "")
                               + "): not reused; force=true re-runs it from scratch, or use another results_dir")


def write_identity(cell: Path, identity: dict[str, Any]) -> None:
    write_json(cell / IDENTITY, identity)


def write_failed(cell: Path, exc: BaseException, answered: int) -> None:
    write_json(cell / FAILED, {"error": f"{type(exc).__name__}: {exc}", "error_type": type(exc).__name__,
                               "time": datetime.now(timezone.utc).isoformat(timespec="seconds"), "answered": answered})
