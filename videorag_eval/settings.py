"""Typed settings of a cell and the checks a user can fix, done before any work starts."""

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

    @classmethod
    def from_cfg(cls, cfg: Any) -> "RagSettings":
        return cls(**{k: cfg[k] for k in cls.__dataclass_fields__ if k in cfg})

    @property
    def sources(self) -> tuple[str, ...]:
        return tuple(s for s in ("asr", "ocr", "det") if getattr(self, s))

    @property
    def active(self) -> bool:
        return bool(self.sources) or self.subtitles

    def label(self) -> str:
        """Short name of the setting, e.g. ``none``, ``subtitles``, ``asr+ocr+det_t0.3``."""
        if not self.active:
            return "none"
        parts = (["subtitles"] if self.subtitles else []) + list(self.sources)
        label = "+".join(parts)
        if self.sources:
            label += f"_t{self.threshold:g}"
        return label


def check_config(cfg: Any) -> None:
    """Errors a user can fix, raised before any work starts."""
    fixed = cfg.model.get("frames_fixed")
    if fixed is not None and int(cfg.frames) != int(fixed):
        raise ConfigError(f"model={cfg.model.name} always reads {fixed} frames; set frames={fixed} (got frames={cfg.frames})")
    if int(cfg.frames) <= 0:
        raise ConfigError(f"frames must be a positive integer, got {cfg.frames}")
    if cfg.parser not in ("lmms_eval", "paper"):
        raise ConfigError(f"parser must be lmms_eval or paper, got {cfg.parser!r}")
    if RagSettings.from_cfg(cfg.rag).subtitles and str(cfg.task.name) == "mlvu":
        raise ConfigError("rag=subtitles: MLVU ships no subtitles; use rag=asr (speech transcribed by Whisper) instead")


class ConfigError(ValueError):
    """A setting the user can fix; the command exits with code 2 before any work."""
