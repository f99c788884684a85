"""Typed records passed between the pipeline stages (lmms-eval tuples stay at the wrapper edge)."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

SOURCES = ("asr", "ocr", "det")


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
        return tuple("ABCDEFGH"[: len(self.options)])


@dataclass(frozen=True)
class DecoupledRequest:
    """What the query-decoupling step asked for (or why it fell back)."""

    asr: str | None
    det: tuple[str, ...] | None
    types: tuple[str, ...] | None  # subset of ("location", "number", "relation")
    ok: bool  # True when parsed from the model's output
    reason: str | None = None  # why decoupling fell back / what was repaired
    raw: str | None = None  # the model's raw output

    def to_dict(self) -> dict[str, Any]:
        return {
            "ASR": self.asr,
            "DET": list(self.det) if self.det is not None else None,
            "TYPE": list(self.types) if self.types is not None else None,
        }
