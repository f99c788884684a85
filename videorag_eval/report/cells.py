"""Finding and loading the finished cells under a results directory (read only; nothing is re-run).

A cell is finished when it holds ``metrics.json`` (CELL_PROTOCOL); the report also needs its
``samples.jsonl`` and ``config.yaml``. Anything else that looks like a cell (a ``config.yaml``, a
journal, ``failed.json``) is listed as skipped with the reason, never silently dropped.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

# Names of the source combinations, as the `rag=` presets spell them.
_PRESETS = {
    (): "none",
    ("subtitles",): "subtitles",
    ("asr",): "asr",
    ("ocr",): "ocr",
    ("det",): "det",
    ("asr", "ocr"): "asr_ocr",
    ("asr", "ocr", "det"): "full",
}
# Config keys that differ between the arms of one comparison (what the report compares), or that
# do not change results; everything else must be equal for two cells to be paired.
_NOT_PAIRING = ("rag", "aux", "method", "results_dir", "cache_dir", "force", "hydra", "launcher", "progress", "device",
                "require_cache", "parser")  # the parser that scored the cell is metrics.json's, not config.yaml's
_CELL_MARKERS = ("metrics.json", "config.yaml", "failed.json", "journal.jsonl")


@dataclass
class Cell:
    """One finished cell: its settings, its published numbers and its per-question outcomes."""

    path: Path
    rel: str  # path relative to the results directory (shown in tables, used for page names)
    model: str
    task: str
    frames: int
    rag: str  # none / subtitles / asr / ocr / det / asr_ocr / full, or sources joined by "+"; without retrieval
    # transcript / <name>_noretrieval (rag_name)
    threshold: float | None  # None when nothing is retrieved
    method: str
    limit: int | None
    accuracy: float  # metrics.json's accuracy (percent)
    n: int
    n_failed: int
    n_degraded: int | None
    parser: str | None
    pairing: str  # cells are paired only when this key (data, limit, model, frames, parser, ...) is equal
    metrics: dict[str, Any]
    config: dict[str, Any]
    # per question, in samples.jsonl order
    question_ids: np.ndarray  # str
    videos: np.ndarray  # str
    correct: np.ndarray  # bool (failed questions are wrong, as in metrics.json)
    answered: np.ndarray  # bool: no error
    categories: list[dict[str, str]] = field(repr=False)
    samples_path: Path | None = None

    @property
    def sources(self) -> tuple[str, ...]:
        rag = self.metrics.get("rag", {})
        return tuple(s for s in ("subtitles", "asr", "ocr", "det") if rag.get(s))

    @property
    def retrieval(self) -> bool:
        """False for a no-retrieval arm (``rag.retrieval=false`` with ASR/OCR: every document went in)."""
        return not unretrieved(self.metrics.get("rag", {}))

    @property
    def is_none(self) -> bool:
        return self.rag == "none"

    @property
    def is_subtitles(self) -> bool:
        return self.rag == "subtitles"

    @property
    def setting(self) -> str:
        """The rag setting with its threshold and method when they matter, e.g. ``full t0.3``."""
        label = self.rag
        if self.threshold is not None:
            label += f" t{self.threshold:g}"
        if self.method != "default":
            label += f" [{self.method}]"
        return label

    def samples(self) -> list[dict[str, Any]]:
        """The full per-question records (read again on demand: the HTML pages need them)."""
        return _read_jsonl(self.path / "samples.jsonl")


@dataclass
class Skipped:
    rel: str
    reason: str


def find_cells(results_dir: Path, exclude: Path | None = None) -> tuple[list[Path], list[Skipped]]:
    """Every directory under ``results_dir`` that holds a cell's files; hidden directories (the
    extraction cache, Hydra's ``.hydra``) and ``exclude`` (the report's own output) are not entered."""
    results_dir = Path(results_dir)
    exclude = Path(exclude).resolve() if exclude is not None else None
    finished: list[Path] = []
    skipped: list[Skipped] = []
    for root, dirs, files in os.walk(results_dir):
        dirs[:] = sorted(d for d in dirs if not d.startswith(".") and (exclude is None or (Path(root) / d).resolve() != exclude))
        names = set(files)
        if not names.intersection(_CELL_MARKERS) and not any(f.startswith("journal") and f.endswith(".jsonl") for f in names):
            continue
        dirs[:] = []  # a cell directory holds no further cells
        path = Path(root)
        rel = os.path.relpath(path, results_dir)
        if "metrics.json" not in names:
            state = "failed (failed.json)" if "failed.json" in names else "not finished (no metrics.json)"
            skipped.append(Skipped(rel, state))
        elif "samples.jsonl" not in names or "config.yaml" not in names:
            missing = [f for f in ("samples.jsonl", "config.yaml") if f not in names]
            skipped.append(Skipped(rel, f"metrics.json present but {', '.join(missing)} missing: not reported"))
        else:
            finished.append(path)
    return finished, skipped


def _read_jsonl(path: Path) -> list[dict[str, Any]]:
    try:  # orjson parses samples 2-3x faster when it is installed; the result is the same
        from orjson import loads
    except ImportError:
        loads = json.loads
    rows = []
    with open(path, "rb") as fh:
        for i, line in enumerate(fh, 1):
            if line.strip():
                try:
                    rows.append(loads(line))
                except ValueError as exc:
                    raise ValueError(f"{path}:{i}: not valid JSON ({exc}); the cell's samples file is damaged") from exc
    return rows


def _method(config: dict[str, Any]) -> str:
    method = config.get("method", "default")
    if isinstance(method, dict):
        method = method.get("name", "default")
    return str(method or "default")


def unretrieved(rag: dict[str, Any]) -> bool:
    """``rag.retrieval=false`` with ASR or OCR on (cells written before the key: retrieval on)."""
    return rag.get("retrieval", True) is False and bool(rag.get("asr") or rag.get("ocr"))


def rag_name(rag: dict[str, Any]) -> str:
    """The arm's name: the preset of its sources (``none``, ``asr``, ..., ``full``, or e.g. ``asr+det``); without
    retrieval ``transcript`` (ASR alone, as the preset) or ``<name>_noretrieval`` (``full_noretrieval``)."""
    used = tuple(s for s in ("subtitles", "asr", "ocr", "det") if rag.get(s))
    name = _PRESETS.get(used, "+".join(used))
    if unretrieved(rag):
        return "transcript" if used == ("asr",) else f"{name}_noretrieval"
    return name


def pairing_key(config: dict[str, Any], cell: Path, parser: Any) -> str:
    """What must be equal for two cells to be compared question by question: the whole config except
    the rag arm, the extractors feeding it, the method and where things are written -- so the model,
    task, data (``task.data_dir``), ``limit``, ``frames``, seed and generation all match -- plus the
    parser that scored it (``metrics.json``: a cell re-scored with another parser keeps its
    config.yaml), and the package versions and annotation file's hash of ``identity.json``."""
    data = {k: v for k, v in config.items() if k not in _NOT_PAIRING}
    data["_parser"] = parser
    ident = cell / "identity.json"
    if ident.exists():
        from ..store.result_files import read_identity

        stored = read_identity(ident)  # a damaged one: UnreadableFile, the cell is listed as unreadable
        data["_annotation"] = (stored.get("annotations") or {}).get("sha256")
        data["_versions"] = stored.get("versions")
    return hashlib.sha256(json.dumps(data, sort_keys=True, default=str).encode()).hexdigest()[:16]


def load_cell(path: Path, results_dir: Path) -> Cell:
    import yaml

    from ..store.result_files import UnreadableFile, read_metrics

    metrics = read_metrics(path / "metrics.json")
    for key in ("accuracy", "frames"):
        if key not in metrics:
            raise UnreadableFile(path / "metrics.json", f"no {key!r}")
    try:
        config = yaml.safe_load((path / "config.yaml").read_text()) or {}
    except yaml.YAMLError as exc:
        raise UnreadableFile(path / "config.yaml", f"not valid YAML ({' '.join(str(exc).split())})") from exc
    if not isinstance(config, dict):
        raise UnreadableFile(path / "config.yaml", f"holds a {type(config).__name__}, not a mapping")
    limit = config.get("limit")
    if limit is not None and (isinstance(limit, bool) or not isinstance(limit, int) or limit < 0):
        raise UnreadableFile(path / "config.yaml", f"limit={limit!r} is not a non-negative integer or null")
    rows = _read_jsonl(path / "samples.jsonl")
    for i, r in enumerate(rows, 1):  # what the report reads of each question, checked before any statistic
        if not isinstance(r, dict):
            raise UnreadableFile(path / "samples.jsonl", f"line {i} holds a JSON {type(r).__name__}, not an object")
        if r.get("categories") is not None and not isinstance(r["categories"], dict):
            raise UnreadableFile(path / "samples.jsonl", f"line {i}: categories={r['categories']!r} is not an object")
    if len(rows) != metrics.get("n", len(rows)):
        raise ValueError(f"{path}: samples.jsonl has {len(rows)} questions but metrics.json says n={metrics.get('n')}")
    rag = metrics.get("rag", {})
    retrieves = any(rag.get(s) for s in ("asr", "ocr", "det")) and not unretrieved(rag)
    # a question that failed before its doc was read has question_id and video None: its own id and cluster
    qids = np.array([str(r.get("question_id") or f"doc{r.get('doc_id')}") for r in rows], dtype=object)
    return Cell(
        path=path,
        rel=os.path.relpath(path, results_dir),
        model=str(metrics.get("model")),
        task=str(metrics.get("task")),
        frames=int(metrics.get("frames")),
        rag=rag_name(rag),
        threshold=float(rag["threshold"]) if retrieves and rag.get("threshold") is not None else None,
        method=_method(config),
        limit=config.get("limit"),
        accuracy=float(metrics["accuracy"]),
        n=int(metrics.get("n", len(rows))),
        n_failed=int(metrics.get("n_failed", sum(1 for r in rows if r.get("error")))),
        n_degraded=metrics.get("n_degraded"),
        parser=metrics.get("parser"),
        pairing=pairing_key(config, path, metrics.get("parser")),
        metrics=metrics,
        config=config,
        question_ids=qids,
        videos=np.array([str(r.get("video") or f"?{qid}") for r, qid in zip(rows, qids)], dtype=object),
        correct=np.array([bool(r.get("correct")) for r in rows], dtype=bool),
        answered=np.array([not r.get("error") for r in rows], dtype=bool),
        categories=[r.get("categories") or {} for r in rows],
        samples_path=path / "samples.jsonl",
    )


def load_cells(results_dir: Path, exclude: Path | None = None) -> tuple[list[Cell], list[Skipped]]:
    from ..store.result_files import UnreadableFile

    paths, skipped = find_cells(results_dir, exclude)
    cells = []
    for path in paths:
        try:
            cells.append(load_cell(path, Path(results_dir)))
        except UnreadableFile as exc:
            skipped.append(Skipped(os.path.relpath(path, results_dir), f"unreadable: {exc.path.name}: {exc.why}"))
        except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
            skipped.append(Skipped(os.path.relpath(path, results_dir), f"unreadable: {type(exc).__name__}: {exc}"))
    cells.sort(key=lambda c: (c.task, c.model, c.frames, c.rag != "none", c.rag != "subtitles", c.rag, c.threshold or 0.0, c.method, c.rel))
    return cells, skipped
