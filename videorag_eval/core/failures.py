"""Which failures are the data's and which are the run's.

A *data failure* belongs to one question (its video is missing, unreadable or outside the data
directory, or its dataset row is malformed): it is recorded on that question and the run goes on. Everything else is *systemic*
(a bug, a missing package, out of memory, a model that cannot load): the cell stops, is not
written as finished, and a later run re-asks the questions that did not get an answer.
A data failure that hits every question alike is systemic too (e.g. a wrong ``task.data_dir``), and so is
a cell in which no question could be asked, whatever the kinds and the number of videos (``no_question_asked``):
it never finishes with a number. A cell in which more than half of the questions failed (``mostly_failed``)
finishes, flagged wherever its number is shown.
"""

from __future__ import annotations

import errno
from collections import Counter
from typing import Any

# A full disk or quota, a read-only file system: every later write fails alike, whatever the video
_SYSTEMIC_ERRNOS = {errno.ENOSPC, errno.EDQUOT, errno.EROFS}

DATA_KINDS = ("missing_video", "unreadable_video", "unsafe_path", "bad_subtitles", "missing_subtitles", "bad_row")
# What to do when a kind of data failure hits every question (a wrong layout, not one bad file)
FIXES = {
    "missing_video": "the videos are not where the task's layout puts them: check task.data_dir (docs/benchmarks.md, "
                     "\"Local copies\") and that the benchmark's video archives are extracted there",
    "unreadable_video": "the video files do not decode: re-download or re-extract them",
    "unsafe_path": "the rows name paths outside task.data_dir, or its files are links leading out of it: check that "
                   "task.data_dir holds the benchmark's own annotation file (links on folders and into a hub "
                   "snapshot's blobs/ are followed; docs/benchmarks.md, \"Local copies\")",
    "bad_subtitles": "the subtitle files cannot be read by the benchmark's own reader: re-extract or fix them",
    "missing_subtitles": "the subtitle files are not where the task's layout puts them: extract the benchmark's "
                         "subtitles into task.data_dir",
    "bad_row": "the annotation file's rows are malformed: use the benchmark's own annotation file",
}
# A finished cell in which MORE than this share of the questions failed is "mostly failed": its number is
# mostly failures counted wrong, not the model's answers. It is flagged in the console summary, in `status`
# and in the report (marked, never bolded as best); a cell in which every question failed never finishes.
MOSTLY_FAILED = 0.5


class SystemicFailure(RuntimeError):
    """The cell cannot produce honest numbers; it stops without metrics.json."""


class MissingWeights(RuntimeError):
    """A model the run needs cannot be loaded: the run stops (it would fail every question)."""


def is_data_failure(record: dict[str, Any]) -> bool:
    return bool(record.get("error")) and record.get("error_kind") in DATA_KINDS


def is_systemic(exc: BaseException) -> bool:
    """Errors that would hit every question alike: never recorded as one question's failure."""
    if isinstance(exc, (MissingWeights, MemoryError, ImportError, SystemicFailure)):
        return True
    if isinstance(exc, OSError) and exc.errno in _SYSTEMIC_ERRNOS:  # not the video's fault: never asr_failed
        return True
    return "out of memory" in str(exc).lower()


def mostly_failed(n: int, n_failed: int) -> bool:
    """More than ``MOSTLY_FAILED`` of the cell's ``n`` questions could not be asked."""
    return n > 0 and n_failed > MOSTLY_FAILED * n


def failed_share(n: int, n_failed: int) -> str:
    """``"7 of 12 questions failed (58%)"``: the flag's text wherever a mostly failed cell is shown."""
    return f"{n_failed} of {n} questions failed ({100 * n_failed / max(n, 1):.0f}%)"


def no_question_asked(records: list[dict[str, Any]]) -> SystemicFailure | None:
    """The systemic failure of a cell in which every question failed (any kinds, any number of videos):
    it names the kinds, the most common one with an example and its fix. None if any question was asked."""
    if not records or not all(r.get("error") for r in records):
        return None
    kinds = Counter(str(r.get("error_kind") or "error") for r in records)
    kind, _ = kinds.most_common(1)[0]
    example = next(r for r in records if str(r.get("error_kind") or "error") == kind)
    videos = len({str(r.get("video") or r.get("doc_id")) for r in records})
    counts = ", ".join(f"{c} {k}" for k, c in kinds.most_common())
    fix = FIXES.get(kind, "see run.log for each question's error")
    return SystemicFailure(
        f"no question could be asked: all {len(records)} questions ({videos} video(s)) failed ({counts}); most common: "
        f"{kind}, e.g. {example.get('error')} -- {fix}; nothing was scored (no metrics.json), the next run asks "
        "them again")


def budget_left_nothing(records: list[dict[str, Any]]) -> SystemicFailure | None:
    """A RAG cell whose token budget dropped every auxiliary document it was given: no asked question kept any
    ASR/OCR/DET text, and some lost theirs to the budget. Its number would be a ``rag=none`` number under a
    RAG cell's name. None otherwise (a threshold that retrieves nothing is a setting, not a failure)."""
    asked = [r for r in records if not r.get("error")]
    lost = [r for r in asked if r.get("aux_dropped")]
    if not lost or any((r.get("aux") or {}).get(s) for r in asked for s in ("asr", "ocr", "det")):
        return None
    budget = lost[0].get("aux_budget") or {}
    return SystemicFailure(
        f"the token budget left no room for auxiliary text: all {sum(len(r['aux_dropped']) for r in lost)} retrieved "
        f"documents of {len(lost)} question(s) were dropped and no question kept any (budget "
        f"{budget.get('limit')} tokens, mode {budget.get('mode')}); this cell would be scored as a RAG cell without "
        "any auxiliary text -- set rag.token_budget to a larger number or none, or give fewer frames; nothing was "
        "scored (no metrics.json)")


def disk_error(exc: BaseException) -> OSError | None:
    """A full disk / quota / read-only file system anywhere in ``exc``'s chain (tenacity's RetryError keeps
    it in its last attempt: lmms-eval retries preparing a dataset 5 times, then raises RetryError)."""
    seen: set[int] = set()
    todo: list[BaseException | None] = [exc]
    while todo:
        e = todo.pop()
        if e is None or id(e) in seen:
            continue
        seen.add(id(e))
        if isinstance(e, OSError) and e.errno in _SYSTEMIC_ERRNOS:
            return e
        last = getattr(e, "last_attempt", None)  # tenacity.RetryError
        if last is not None and hasattr(last, "exception"):
            try:
                todo.append(last.exception())
            except Exception:  # noqa: BLE001 - a cancelled future: nothing more to read
                pass
        todo += [e.__cause__, e.__context__]
    return None


def explained(exc: BaseException) -> BaseException:
    """``exc``, or a one-line SystemicFailure naming a full disk buried in it: lmms-eval prepares a task's dataset
    under tenacity's ``@retry``, so the datasets library's ENOSPC surfaces as ``RetryError[<Future ... raised
    DatasetGenerationError>]``, which never says "No space left on device"."""
    import os

    disk = disk_error(exc)
    if disk is None or disk is exc or isinstance(exc, SystemicFailure):
        return exc
    what = f"{os.strerror(disk.errno)}" + (f" ({disk.filename})" if disk.filename else "")
    if type(exc).__name__ == "RetryError":  # lmms-eval's Task.download: the datasets library writes Arrow files
        where = os.environ.get("HF_DATASETS_CACHE") or "HF_DATASETS_CACHE"
        return SystemicFailure(f"{what} while lmms-eval prepared the task's dataset: the datasets library writes it "
                               f"under {where}; free space there, or set HF_DATASETS_CACHE to a directory on another "
                               "disk, then run again")
    return SystemicFailure(f"{what}: {type(exc).__name__}: {exc} -- free space on that disk, then run again")


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
