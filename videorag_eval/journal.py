"""Append-only per-question journal of a cell: nothing answered is lost when a run dies.

Each finished question is one JSON line, flushed and fsynced before the next question starts.
On restart the journal is read back and those questions are not asked again. A torn last line
(the process died mid-write) is ignored.
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
    def __init__(self, path: str | os.PathLike[str]):
        self.path = Path(path)
        self.records: dict[int, dict[str, Any]] = {}
        if self.path.exists():
            self._load()

    def _load(self) -> None:
        torn = invalid = retried = 0
        with self.path.open("r", encoding="utf-8") as fh:
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
                self.records[doc_id] = rec
        if invalid:
            log.warning("%s: ignored %d line(s) without a doc_id; those questions run again", self.path, invalid)
        if retried:
            log.warning("%s: %d question(s) failed for a reason other than their data; they are asked again", self.path, retried)
        if torn:
            log.warning("%s: ignored %d unreadable line(s) (a run died mid-write); those questions run again", self.path, torn)

    def get(self, doc_id: int) -> dict[str, Any] | None:
        return self.records.get(int(doc_id))

    def append(self, record: dict[str, Any]) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        line = json.dumps(record, ensure_ascii=False, default=str)
        with self.path.open("a", encoding="utf-8") as fh:
            fh.write(line + "\n")
            fh.flush()
            os.fsync(fh.fileno())
        self.records[int(record["doc_id"])] = record

    def __len__(self) -> int:
        return len(self.records)
