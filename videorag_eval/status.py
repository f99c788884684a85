"""``python -m videorag_eval.status RESULTS_DIR``: the cells of a sweep and where each one stands.

Reads only what is on disk (CELL_PROTOCOL): ``metrics.json`` = finished; a held ``.lock`` = running
(someone holds the flock; a dead process has released it); ``failed.json`` = stopped on a systemic
error; otherwise a cell with a ``config.yaml`` or a journal was interrupted and resumes when run again.
A cell whose ``metrics.json``, ``identity.json`` or ``failed.json`` is damaged is listed as
``unreadable`` with the file and what is wrong; every other cell is still shown.
Answered questions are counted over every ``journal*.jsonl`` (one per data-parallel rank).

A cell submitted to SLURM (``<results_dir>/.hydra/multirun/*/submissions.jsonl`` names its job) that
its files do not show finished, failed or running is looked up in the scheduler (``slurm_jobs``):
``pending`` with its reason (marked when it never resolves by itself, with the fix), ``running`` on
its node since when, or its job's end (``TIMEOUT``, ``OUT_OF_MEMORY``, ``CANCELLED``, a non-zero exit)
with the job's log. Cells that finished or failed keep their own files as the truth.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from .cell.lock import lock_holder

STATES = ("finished", "running", "failed", "interrupted", "pending", "submitted", "unreadable")
ALWAYS_COUNTED = ("finished", "running", "failed", "interrupted")  # the others are counted when present


@dataclass
class CellStatus:
    cell: str  # path relative to the results root
    state: str  # finished | running | failed | interrupted | pending | submitted | unreadable
    answered: int  # distinct questions with a journal record (or n of a finished cell)
    limit: int | None = None  # the cell's `limit` setting, when it has one
    accuracy: float | None = None
    n_failed: int | None = None
    detail: str = ""  # failed: the error; running: who holds the lock; unreadable: the file and why
    extra: dict[str, Any] = field(default_factory=dict)


def answered_questions(cell: Path) -> set[int]:
    """doc_ids a resume of the cell keeps, from all its journals (as ``Journal`` reads them: torn lines,
    non-data failures and answers whose decoupling request raised are not counted)."""
    from .store.journal import Journal

    journal = Journal(cell / "journal.jsonl", siblings=True)
    return {d for d in journal.records if journal.answered(d) is not None}


def _limit(cell: Path) -> int | None:
    import yaml

    try:
        value = (yaml.safe_load((cell / "config.yaml").read_text()) or {}).get("limit")
        return int(value) if value is not None else None
    except (OSError, ValueError, TypeError, AttributeError, yaml.YAMLError):
        return None


def cell_state(cell: Path, root: Path | None = None) -> CellStatus:
    """State of one cell directory, by the precedence finished > running > failed > interrupted; a
    damaged cell file makes it ``unreadable`` (naming the file and why) whatever else it holds."""
    from .store.result_files import UnreadableFile, read_identity, read_metrics, read_object

    name = str(cell.relative_to(root)) if root is not None else str(cell)
    try:
        metrics = read_metrics(cell / "metrics.json") if (cell / "metrics.json").exists() else None
        if (cell / "identity.json").exists():
            read_identity(cell / "identity.json")  # a rerun would be refused on it: say so now
        failed = read_object(cell / "failed.json") if metrics is None and (cell / "failed.json").exists() else None
    except UnreadableFile as exc:
        return CellStatus(name, "unreadable", 0, _limit(cell), detail=f"{exc.path.name}: {exc.why}")
    if metrics is not None:
        from .core.failures import failed_share, mostly_failed

        n, n_failed = int(metrics.get("n", 0)), metrics.get("n_failed")
        flagged = n_failed is not None and mostly_failed(n, n_failed)  # finished, mostly failures (docs/failures.md)
        return CellStatus(name, "finished", n, _limit(cell), metrics.get("accuracy"), n_failed,
                          detail=f"mostly failed: {failed_share(n, n_failed)}" if flagged else "",
                          extra={"mostly_failed": True} if flagged else {})
    answered = len(answered_questions(cell))
    holder = lock_holder(cell)
    if holder is not None:
        who = f"pid {holder.get('pid', '?')} on {holder.get('host', '?')} since {holder.get('started', '?')}"
        return CellStatus(name, "running", answered, _limit(cell), detail=who)
    if failed is not None:
        message = f"{failed.get('error_type', 'error')}: {failed.get('error', '?')}"
        return CellStatus(name, "failed", answered, _limit(cell), detail=message)
    return CellStatus(name, "interrupted", answered, _limit(cell))


def is_cell_dir(path: Path) -> bool:
    return (path / "config.yaml").exists() or (path / "metrics.json").exists() or any(path.glob("journal*.jsonl"))


def find_cells(root: Path) -> list[Path]:
    """Cell directories under a results root (hidden folders such as ``.cache`` and ``.hydra`` skipped)."""
    cells = []
    for dirpath, dirnames, _ in os.walk(root):
        dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
        path = Path(dirpath)
        if path != root and is_cell_dir(path):
            cells.append(path)
            dirnames[:] = []
    return cells


def sweep_status(root: Path, scheduler: bool = True) -> list[CellStatus]:
    rows = [cell_state(c, root) for c in find_cells(root)]
    if scheduler:
        with_scheduler(rows, root)
    return rows


def with_scheduler(rows: list[CellStatus], root: Path) -> list[str]:
    """Cells submitted to SLURM that their files do not show finished, failed, unreadable or running:
    their job's state from the scheduler (rows added for cells whose job has not created them yet).
    Returns notes on what the scheduler could not say (no squeue, no sacct)."""
    from .sweep.slurm_cli import SchedulerUnavailable
    from .sweep.slurm_jobs import latest_submissions, query

    submitted = latest_submissions(root)
    if not submitted:
        return []
    base = Path(root).resolve()
    by_cell = {(base / r.cell).resolve(): r for r in rows}
    open_cells = {c: s for c, s in submitted.items() if c not in by_cell or by_cell[c].state == "interrupted"}
    if not open_cells:
        return []
    try:
        snap = query([s.job_id for s in open_cells.values()], {s.job_id: s.log for s in open_cells.values()})
    except SchedulerUnavailable as exc:
        for cell, sub in sorted(open_cells.items()):
            if cell not in by_cell:
                rows.append(CellStatus(_name(cell, base), "submitted", 0, None,
                                       detail=f"job {sub.job_id}; the scheduler could not be asked ({exc})"))
        return [f"SLURM: {exc}: submitted cells are shown from their files only"]
    for cell, sub in sorted(open_cells.items()):
        info = snap.jobs[sub.job_id]
        row = by_cell.get(cell)
        if row is None:
            row = CellStatus(_name(cell, base), "interrupted", 0, None)
            rows.append(row)
        if info.phase in ("pending", "running"):
            row.state = info.phase
        row.detail = info.describe(sub.log)
        row.extra["slurm"] = info.as_dict(sub.log)
    return [f"SLURM: {n}" for n in snap.notes]


def _name(cell: Path, base: Path) -> str:
    try:
        return str(cell.relative_to(base))
    except ValueError:
        return str(cell)


def format_table(rows: list[CellStatus]) -> str:
    lines = [f"{'state':<12} {'answered':>9} {'accuracy':>8}  cell"]
    for r in rows:
        answered = f"{r.answered}/{r.limit}" if r.limit is not None and r.state != "finished" else str(r.answered)
        acc = f"{r.accuracy:.1f}" if isinstance(r.accuracy, (int, float)) else "-"
        line = f"{r.state:<12} {answered:>9} {acc:>8}  {r.cell}"
        if r.detail:
            line += f"  ({r.detail})"
        lines.append(line)
    counts = {s: sum(r.state == s for r in rows) for s in STATES}
    flagged = sum(bool(r.extra.get("mostly_failed")) for r in rows)
    lines.append(f"{len(rows)} cell(s): " + ", ".join(f"{counts[s]} {s}" for s in STATES
                                                    if s in ALWAYS_COUNTED or counts[s])
                 + (f"; {flagged} of the finished mostly failed (more than half of their questions)" if flagged else ""))
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m videorag_eval.status",
                                     description="Cells of a sweep: finished / running / interrupted / failed; "
                                                 "SLURM cells: pending (with the reason) / their job's end.")
    parser.add_argument("results_dir", type=Path, help="the sweep's results_dir (root of its cells)")
    parser.add_argument("--json", action="store_true", help="one JSON object per cell instead of a table")
    args = parser.parse_args(argv)
    if not args.results_dir.is_dir():
        print(f"{args.results_dir}: no such directory (give the results_dir of a sweep)", file=sys.stderr)
        return 2
    rows = sweep_status(args.results_dir, scheduler=False)
    notes = with_scheduler(rows, args.results_dir)
    if args.json:
        for r in rows:
            print(json.dumps(asdict(r)))
    else:
        print(format_table(rows))
    for note in notes:
        print(note, file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
