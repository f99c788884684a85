"""Which failures are the data's and which are the run's.

A *data failure* belongs to one question (its video is missing, unreadable or outside the data
directory, or its dataset row is malformed): it is recorded on that question and the run goes on. Everything else is *systemic*
(a bug, a missing package, out of memory, a model that cannot load): the cell stops, is not
written as finished, and a later run re-asks the questions that did not get an answer.
A data failure that hits every question alike is systemic too (e.g. a wrong ``task.data_dir``).
"""

from __future__ import annotations

import errno
from collections import Counter
from typing import Any

# A full disk or quota, a read-only file system: every later write fails alike, whatever the video
_SYSTEMIC_ERRNOS = {errno.ENOSPC, errno.EDQUOT, errno.EROFS}

DATA_KINDS = ("missing_video", "unreadable_video", "unsafe_path", "bad_subtitles", "bad_row")


class SystemicFailure(RuntimeError):
    """The cell cannot produce honest numbers; it stops without metrics.json."""


def is_data_failure(record: dict[str, Any]) -> bool:
    return bool(record.get("error")) and record.get("error_kind") in DATA_KINDS


def is_systemic(exc: BaseException) -> bool:
    """Errors that would hit every question alike: never recorded as one question's failure."""
    from .weights import MissingWeights

    if isinstance(exc, (MissingWeights, MemoryError, ImportError, SystemicFailure)):
        return True
    if isinstance(exc, OSError) and exc.errno in _SYSTEMIC_ERRNOS:  # not the video's fault: never asr_failed
        return True
    return "out of memory" in str(exc).lower()


class FailureWatch:
    """Stops a cell whose first ``window`` questions all failed with the same kind of data failure
    over at least ``min_videos`` videos: then the data set up is wrong, not the videos."""

    def __init__(self, window: int = 10, min_videos: int = 3):
        self.window = window
        self.min_videos = min_videos
        self.kinds: Counter[str] = Counter()
        self.videos: set[str] = set()
        self.seen = 0
        self.answered = False

    def observe(self, record: dict[str, Any]) -> None:
        if self.answered or self.seen >= self.window:
            return
        self.seen += 1
        if not record.get("error"):
            self.answered = True
            return
        self.kinds[str(record.get("error_kind"))] += 1
        self.videos.add(str(record.get("video") or record.get("doc_id")))
        if self.seen == self.window and len(self.kinds) == 1 and len(self.videos) >= self.min_videos:
            kind = next(iter(self.kinds))
            raise SystemicFailure(
                f"the first {self.window} questions ({len(self.videos)} videos) all failed alike ({kind}): "
                f"{record.get('error')} -- check task.data_dir and the benchmark's files; nothing was scored")


class InARow:
    """Stops a cell when the same step fails ``limit`` times in a row: a rule, not a one-off.

    A one-off failure of such a step degrades one question (or one video's questions) and the cell goes
    on; ``limit`` in a row with no success between means the step cannot work here (a bug, a route the
    adapter does not support, a library that cannot run) and every question would silently be scored
    without it, so ``failed`` raises SystemicFailure naming the last error and ``hint``. A success
    (``worked``) resets the count, so one item that always fails never blocks a resume.
    """

    def __init__(self, what: str, hint: str, limit: int = 3):  # what: a plural noun ("decoupling requests")
        self.what, self.hint, self.limit = what, hint, limit
        self.errors: list[str] = []

    def worked(self) -> None:
        self.errors.clear()

    def failed(self, error: BaseException | str) -> None:
        self.errors.append(error if isinstance(error, str) else f"{type(error).__name__}: {error}")
        if len(self.errors) >= self.limit:
            raise SystemicFailure(f"{len(self.errors)} {self.what} in a row failed: {self.errors[-1]} -- {self.hint}")


def decoupling_watch(route: str) -> InARow:
    """The decoupling request: raising on it falls back to question + options for that question only."""
    return InARow(
        "decoupling requests",
        f"the inner model raised on each (route {route}); every question would fall back to question + options and the numbers would not be Video-RAG's. Fix the "
        "adapter, or set model.decouple_route=with_video if it cannot take a text-only request, or "
        "rag.decouple=fallback to run without decoupling on purpose; the questions answered so far are kept, those "
        "that fell back are asked again")


def extraction_watch(source: str) -> InARow:
    """ASR / OCR of a video: a failure degrades that video's questions (answered from the other sources)."""
    return InARow(
        f"{source.upper()} extractions (of distinct videos)",
        f"the {source} arm would be scored without {source} text. Check the {source} model and its device "
        f"(aux.{source}.*); a video without an audio track is not a failure")
