"""Typed records passed between the pipeline stages (lmms-eval tuples stay at the wrapper edge)."""

from __future__ import annotations

import re
import string
from dataclasses import asdict, dataclass, field
from typing import Any

SOURCES = ("asr", "ocr", "det")

# The facts a request can ask about detected objects (the decoupled request's TYPE), in the order
# the scene graph writes them, and the words models use for them.
TYPES = ("location", "relation", "number")
_TYPE_WORDS = {
    "location": "location locations position positions place places where coordinates",
    "number": "number numbers count counts counting quantity quantities amount num how many",
    "relation": "relation relations relationship relationships",
}
_TYPE_SYNONYMS = {canon: canon for canon in TYPES}
for _canon, _words in _TYPE_WORDS.items():
    _TYPE_SYNONYMS.update({w: _canon for w in _words.split()})
_TYPE_SYNONYMS.update({"how many": "number", "spatial relation": "relation", "spatial relations": "relation",
                       "relative position": "relation", "relative positions": "relation"})


def canonical_type(word: Any) -> str | None:
    """``location`` / ``relation`` / ``number`` for a TYPE word or its synonym; None if unknown."""
    key = re.sub(r"[^a-z]+", " ", str(word).lower()).strip()
    return _TYPE_SYNONYMS.get(key)


@dataclass(frozen=True)
class FrameSample:
    """Which frames of a video were sampled: indices into the decoded stream and their times."""

    indices: tuple[int, ...]
    timestamps: tuple[float, ...]
    fps: float
    total_frames: int
    duration: float


@dataclass(frozen=True)
class AuxDoc:
    """One retrievable document of auxiliary text, with where in the video it comes from."""

    source: str  # "asr" | "ocr" | "det" | "subtitles"
    text: str
    start: float  # seconds
    end: float  # seconds
    frame_index: int | None = None  # for frame-based sources (OCR, DET)
    score: float | None = None  # retrieval cosine, once retrieved

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class Question:
    """A multiple-choice question as the harness sees it, whatever the benchmark's schema."""

    doc_id: int
    question_id: str
    video: str  # path to the video file
    question: str  # question text without the options
    options: tuple[str, ...]  # option texts without their letters
    answer: str | None  # correct letter, if known
    categories: dict[str, str] = field(default_factory=dict)  # e.g. {"duration": "short", ...}

    @property
    def letters(self) -> tuple[str, ...]:
        return tuple(string.ascii_uppercase[: len(self.options)])  # A..Z (row_checks refuses more)


@dataclass(frozen=True)
class DecoupledRequest:
    """What the query-decoupling step asked for (or why it fell back)."""

    asr: str | None
    det: tuple[str, ...] | None
    types: tuple[str, ...] | None  # subset of ("location", "number", "relation")
    ok: bool  # True when parsed from the model's output
    reason: str | None = None  # why decoupling fell back / what was repaired
    raw: str | None = None  # the model's raw output
    syntax: str | None = None  # "valid" JSON, or "repaired" (by json-repair); None when nothing was parsed
    raised: bool = False  # the inner model raised on the request (a one-off: answered without the method's queries)
    cached: bool = False  # the reply was reused from an earlier cell (decoupling cache), not generated now

    def to_dict(self) -> dict[str, Any]:
        return {
            "ASR": self.asr,
            "DET": list(self.det) if self.det is not None else None,
            "TYPE": list(self.types) if self.types is not None else None,
        }
