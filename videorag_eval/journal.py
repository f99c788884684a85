"""Append-only per-question journal of a cell: nothing answered is lost when a run dies.

Each finished question is one JSON line, flushed and fsynced before the next question starts.
On restart the journal is read back and those questions are not asked again (except one answered
while its decoupling request raised: ``answered`` says to ask it again). A torn last line
(the process died mid-write) is ignored. Under data parallel each rank appends to its own file
(``journal.rank<k>.jsonl``); with ``siblings=True`` a journal also reads every other
``journal*.jsonl`` of the cell, so a cell resumes whatever number of ranks ran it before.
"""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path
from typing import Any

from .failures import DATA_KINDS

log = logging.getLogger(__name__)


class Journal:
    def __init__(self, path: str | os.PathLike[str], siblings: bool = False):
        self.path = Path(path)
        self.siblings = siblings
        self.records: dict[int, dict[str, Any]] = {}
        self.reload()

    def files(self) -> list[Path]:
        if not self.siblings:
            return [self.path] if self.path.exists() else []
        from .cell_state import journals

        return journals(self.path.parent)

    def reload(self) -> None:
        """Read the journal file(s) again (rank 0 does, after every rank has written its share)."""
        self.records = {}
        for path in self.files():
            self._load(path)

    def _load(self, path: Path) -> None:
        torn = invalid = retried = degraded = 0
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
                if rec.get("request_error"):
                    degraded += 1  # answered without its decoupling request (the model raised): a resume asks again
                    if self.answered(doc_id) is not None:
                        continue  # the question was asked again and answered cleanly (e.g. in another rank's file)
                self.records[doc_id] = rec
        if invalid:
            log.warning("%s: ignored %d line(s) without a doc_id; those questions run again", path, invalid)
        if retried:
            log.warning("%s: %d question(s) failed for a reason other than their data; they are asked again", path, retried)
        if degraded:
            log.info("%s: %d question(s) were answered while their decoupling request raised; a resume asks them again",
                     path, degraded)
        if torn:
            log.warning("%s: ignored %d unreadable line(s) (a run died mid-write); those questions run again", path, torn)

    def get(self, doc_id: int) -> dict[str, Any] | None:
        """The question's last record (what the cell scores)."""
        return self.records.get(int(doc_id))

    def answered(self, doc_id: int) -> dict[str, Any] | None:
        """The record a resume keeps: None when the question must be asked again (its decoupling request raised)."""
        rec = self.records.get(int(doc_id))
        return None if rec is None or rec.get("request_error") else rec

    def append(self, record: dict[str, Any]) -> None:
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
        self.records[int(record["doc_id"])] = record

    def __len__(self) -> int:
        """How many questions a resume keeps (those answered as the method asks, or failed for their data)."""
        return sum(1 for d in self.records if self.answered(d) is not None)
