"""Which auxiliary texts a cell asks for and how they are rendered (``rag.*``): the typed record every part of
the method reads."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class RagSettings:
    asr: bool = False
    ocr: bool = False
    det: bool = False
    subtitles: bool = False
    threshold: float = 0.3
    order: str = "paper"
    decouple: str = "auto"
    timestamps: bool = True  # times before each document in the prompt (the official code has none)
    retrieval: bool = True  # false: every ASR/OCR document in time order, no retrieval filter (the paper's ablation)

    @classmethod
    def from_cfg(cls, cfg: Any) -> "RagSettings":
        return cls(**{k: cfg[k] for k in cls.__dataclass_fields__ if k in cfg})

    @property
    def sources(self) -> tuple[str, ...]:
        return tuple(s for s in ("asr", "ocr", "det") if getattr(self, s))

    @property
    def active(self) -> bool:
        return bool(self.sources) or self.subtitles

    @property
    def unretrieved(self) -> bool:
        """``rag.retrieval=false`` with an ASR or OCR source on: those documents go in whole, unfiltered (DET
        is never retrieved, so ``retrieval`` means nothing without ASR/OCR: the same cell as ``true``)."""
        return not self.retrieval and (self.asr or self.ocr)

    @property
    def needs_request(self) -> bool:
        """Whether the decoupled request is asked for: DET needs its object list, ASR/OCR retrieval its query
        texts; without retrieval and without DET (``rag=transcript``) nothing reads it."""
        return self.det or (self.retrieval and (self.asr or self.ocr))

    def label(self) -> str:
        """Short name of the setting, e.g. ``none``, ``subtitles``, ``asr+ocr+det_t0.3``; ``asr_noretrieval``
        for ``rag=transcript`` (no threshold: nothing is filtered)."""
        if not self.active:
            return "none"
        parts = (["subtitles"] if self.subtitles else []) + list(self.sources)
        label = "+".join(parts)
        if self.unretrieved:
            label += "_noretrieval"
        elif self.sources:
            label += f"_t{self.threshold:g}"
        return label
