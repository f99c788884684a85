"""Append-only per-question journal of a cell: nothing answered is lost when a run dies.

Each finished question is one JSON line, flushed and fsynced before the next question starts.
On restart the journal is read back and the questions it answered are not asked again. A resume
checks what it keeps: each line carries the cell's identity (``cell``: ``cells.identity_digest``) and
the question's fingerprint (``fingerprint``: its id and a hash of its question, options and answer key,
``benchmarks.Schema.fingerprint``). A line of another cell, or one written before lines carried them,
is not kept (a warning says how many); once the wrapper has read the dataset (``expect``), a line whose
fingerprint is not that of the dataset row at its ``doc_id`` is not kept either. Those questions are asked
again. So are a question that failed for its data (its record stays in the file; a resume checks the data
again, cheaply, so a copy fixed in place is picked up) and one answered while its decoupling request raised
(``request_error``). A torn last line (the process died mid-write) is ignored. Under data parallel each
rank appends to its own file (``journal.rank<k>.jsonl``); with ``siblings=True`` a journal also reads
every other ``journal*.jsonl`` of the cell, so a cell resumes whatever number of ranks ran it before.
"""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path
from typing import Any

from ..core.failures import DATA_KINDS

log = logging.getLogger(__name__)


def journals(cell: Path) -> list[Path]:
    """The cell's journal files: ``journal.jsonl``, and one per rank of a data-parallel run."""
    return sorted(cell.glob("journal*.jsonl"))


class Journal:
    def __init__(self, path: str | os.PathLike[str], siblings: bool = False, cell: str | None = None):
        self.path = Path(path)
        self.siblings = siblings
        self.cell = cell  # this cell's identity: lines of another (or of none) are not kept; None: not checked
        self.expected: dict[int, Any] | None = None  # doc_id -> the dataset row's fingerprint (``expect``)
        self.records: dict[int, dict[str, Any]] = {}
        self._lines: dict[int, list[dict[str, Any]]] = {}  # every kept line per doc_id, in file order
        self.reload()

    def files(self) -> list[Path]:
        if not self.siblings:
            return [self.path] if self.path.exists() else []
        return journals(self.path.parent)

    def reload(self) -> None:
        """Read the journal file(s) again (rank 0 does, after every rank has written its share)."""
        self._lines = {}
        for path in self.files():
            self._load(path)
        self._select()

    def expect(self, fingerprints: dict[int, Any]) -> None:
        """The dataset's rows, by doc_id: from now on a line is kept only if its fingerprint is its row's."""
        self.expected = {int(d): f for d, f in fingerprints.items()}
        dropped = self._select()
        if dropped:
            doc_id, line = dropped[0]
            want = self.expected.get(doc_id)
            log.warning("%s: %d journal line(s) do not match the dataset row at their doc_id (e.g. doc %d: the line is "
                        "question %r, the dataset's row %s); not kept, those questions are asked again",
                        self.path.parent, len(dropped), doc_id, (line.get("fingerprint") or {}).get("question_id",
                        line.get("question_id")), f"is question {want['question_id']!r}" if want else "does not exist")

    def _load(self, path: Path) -> None:
        torn = invalid = retried = foreign = old = 0
        with path.open("r", encoding="utf-8") as fh:
            for line in fh:
                line = line.strip()
                if not line:
                    continue
                try:
                    rec = json.loads(line)
                except json.JSONDecodeError:
                    torn += 1
                    continue
                try:
                    doc_id = int(rec["doc_id"])
                except (KeyError, TypeError, ValueError):  # not a record of ours: ignored, never fatal
                    invalid += 1
                    continue
                if rec.get("error") and rec.get("error_kind") not in DATA_KINDS:
                    retried += 1  # a failure that was not the data's (older runs journalled those): ask again
                    continue
                if self.cell is not None and rec.get("cell") != self.cell:
                    if "cell" in rec:
                        foreign += 1  # another cell's answer (another setting, model, data...): never this cell's
                    else:
                        old += 1  # written before lines named their cell: nothing says which cell it belongs to
                    continue
                self._lines.setdefault(doc_id, []).append(rec)
        if invalid:
            log.warning("%s: ignored %d line(s) without a doc_id; those questions run again", path, invalid)
        if retried:
            log.warning("%s: %d question(s) failed for a reason other than their data; they are asked again", path, retried)
        if foreign:
            log.warning("%s: %d line(s) belong to another cell (their 'cell' is not %s); not kept, those questions "
                        "are asked again", path, foreign, self.cell)
        if old:
            log.warning("%s: %d line(s) written by an older videorag_eval carry no cell identity or question "
                        "fingerprint, so nothing shows they answer this cell's questions; not kept, those questions "
                        "are asked again", path, old)
        if torn:
            log.warning("%s: ignored %d unreadable line(s) (a run died mid-write); those questions run again", path, torn)

    def _select(self) -> list[tuple[int, dict[str, Any]]]:
        """Each question's record from its kept lines (the last one; a fallen-back answer never replaces a
        clean one, e.g. from another rank's file); returns the lines dropped for their fingerprint."""
        self.records = {}
        dropped: list[tuple[int, dict[str, Any]]] = []
        for doc_id, lines in self._lines.items():
            if self.expected is not None:
                want = self.expected.get(doc_id)
                dropped += [(doc_id, r) for r in lines if want is None or r.get("fingerprint") != want]
                lines = [r for r in lines if want is not None and r.get("fingerprint") == want]
            chosen = None
            for rec in lines:
                if rec.get("request_error") and chosen is not None and _clean(chosen):
                    continue  # the question was asked again and answered cleanly
                chosen = rec
            if chosen is not None:
                self.records[doc_id] = chosen
        degraded = sum(1 for r in self.records.values() if r.get("request_error"))
        if degraded:
            log.info("%s: %d question(s) were answered while their decoupling request raised; a resume asks them again",
                     self.path.parent, degraded)
        return dropped

    def get(self, doc_id: int) -> dict[str, Any] | None:
        """The question's last record (what the cell scores)."""
        return self.records.get(int(doc_id))

    def answered(self, doc_id: int) -> dict[str, Any] | None:
        """The record a resume keeps: None when the question must be asked again (its data failed, or its
        decoupling request raised)."""
        rec = self.records.get(int(doc_id))
        return rec if rec is not None and _clean(rec) else None

    def append(self, record: dict[str, Any]) -> None:
        if self.cell is not None:
            record["cell"] = self.cell
        self.path.parent.mkdir(parents=True, exist_ok=True)
        line = json.dumps(record, ensure_ascii=False, default=str) + "\n"
        with self.path.open("a+b") as fh:
            if fh.tell() > 0:  # a line torn by a killed run must not swallow this one
                fh.seek(-1, os.SEEK_END)
                if fh.read(1) != b"\n":
                    line = "\n" + line
            fh.write(line.encode("utf-8"))
            fh.flush()
            os.fsync(fh.fileno())
        self._lines.setdefault(int(record["doc_id"]), []).append(record)
        self.records[int(record["doc_id"])] = record

    def __len__(self) -> int:
        """How many questions a resume keeps (those answered as the method asks)."""
        return sum(1 for d in self.records if self.answered(d) is not None)


def _clean(rec: dict[str, Any]) -> bool:
    """Answered as the method asks: no data failure, no fallen-back decoupling request."""
    return not rec.get("error") and not rec.get("request_error")
