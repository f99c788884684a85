"""Which failures are the data's and which are the run's.

A *data failure* belongs to one question (its video is missing, unreadable or outside the data
directory): it is recorded on that question and the run goes on. Everything else is *systemic*
(a bug, a missing package, out of memory, a model that cannot load): the cell stops, is not
written as finished, and a later run re-asks the questions that did not get an answer.
A data failure that hits every question alike is systemic too (e.g. a wrong ``task.data_dir``).
"""

from __future__ import annotations

from collections import Counter
from typing import Any

DATA_KINDS = ("missing_video", "unreadable_video", "unsafe_path", "bad_subtitles")


class SystemicFailure(RuntimeError):
    """The cell cannot produce honest numbers; it stops without metrics.json."""


def is_data_failure(record: dict[str, Any]) -> bool:
    return bool(record.get("error")) and record.get("error_kind") in DATA_KINDS


def is_systemic(exc: BaseException) -> bool:
    """Errors that would hit every question alike: never recorded as one question's failure."""
    from .weights import MissingWeights

    if isinstance(exc, (MissingWeights, MemoryError, ImportError, SystemicFailure)):
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


class DecouplingWatch:
    """Stops a cell whose inner model raises on the decoupling request as a rule, not as an exception.

    A raise on the decoupling request falls back to retrieval with the question and options (the
    question is answered, recorded as degraded, and asked again when an unfinished cell resumes).
    That is only honest for a one-off: when ``in_a_row`` requests in a row raise (from the cell's
    start or later), the adapter cannot take the request (a bug, a route it does not support) and
    every question would silently lose the method's queries, so the cell stops. One question that
    always raises does not block a resume: the next request that works resets the count.
    """

    def __init__(self, in_a_row: int = 3):
        self.in_a_row = in_a_row
        self.errors: list[str] = []

    def replied(self) -> None:
        self.errors.clear()

    def raised(self, exc: BaseException, route: str) -> None:
        self.errors.append(f"{type(exc).__name__}: {exc}")
        if len(self.errors) < self.in_a_row:
            return
        raise SystemicFailure(
            f"the inner model raised on {len(self.errors)} decoupling requests in a row (route {route}): "
            f"{self.errors[-1]} -- every question would fall back to question + options and the numbers would "
            "not be Video-RAG's. Fix the adapter, or set model.decouple_route=with_video if it cannot take a "
            "text-only request, or rag.decouple=fallback to run without decoupling on purpose; the questions "
            "answered so far are kept, those that fell back are asked again")
