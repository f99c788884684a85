"""On-screen text with EasyOCR, on the same frames the LVLM sees.

Raw readings are cached per (video content, frame index, reader settings), so a cell with another
frame count reuses every frame it shares with an earlier cell; all frames of one video live in one
packed cache entry. Filtering (confidence, text already seen earlier in the video) happens after the
cache, per cell. Missing frames are decoded and read ``batch_frames`` at a time (bounded memory: a
batch of full-resolution frames, not the whole sample); on a GPU EasyOCR reads each batch at once
(``readtext_batched``), on the CPU frame by frame (``readtext``). The two paths do not give identical
readings (batched detection resizes and pads frames together; GPU and CPU arithmetic differ), so the
reading path is part of the cache key (``reading``): readings of one path are never reused as the other's.
"""

from __future__ import annotations

import logging
import re
import time
from dataclasses import dataclass
from typing import Any, Callable, Sequence

from ...core.records import AuxDoc, FrameSample
from ...runtime.devices import resolve_device
from ...runtime.weights import loading, package_version, resolve
from ...store.cache import Cache, make_key

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class OCRSettings:
    languages: tuple[str, ...] = ("en",)
    model_dir: str | None = None
    min_confidence: float = 0.5
    device: str = "cpu"
    dedupe: str = "normalised"  # normalised: case/punctuation-insensitive | exact: exact text (official code)
    batch_frames: int = 8  # frames decoded (and, on a GPU, read) at once

    @classmethod
    def from_cfg(cls, cfg: Any) -> "OCRSettings":
        return cls(
            languages=tuple(cfg.get("languages", ("en",))),
            model_dir=cfg.get("model_dir"),
            min_confidence=float(cfg.get("min_confidence", 0.5)),
            device=cfg.get("device", "cpu"),
            dedupe=str(cfg.get("dedupe", "normalised")),
            batch_frames=max(1, int(cfg.get("batch_frames", 8))),
        )


class EasyOCRReader:
    namespace = "ocr_frame"

    def __init__(self, settings: OCRSettings, cache: Cache):
        self.settings = settings
        self.cache = cache
        self._reader = None
        self.seconds_reading = 0.0
        self.frames_read = 0

    @property
    def reading(self) -> str:
        """How frames are read: ``gpu_batched`` (EasyOCR's ``readtext_batched`` on CUDA) or ``cpu_per_frame``
        (``readtext``, one frame at a time)."""
        return "gpu_batched" if resolve_device(self.settings.device) == "cuda" else "cpu_per_frame"

    @property
    def identity(self) -> dict[str, Any]:
        return {
            "extractor": "easyocr",
            "version": package_version("easyocr"),
            "languages": list(self.settings.languages),
            "weights": self.settings.model_dir or "easyocr-default",
            "reading": self.reading,  # the reading path: its readings differ from the other path's
        }

    def _load(self):
        if self._reader is None:
            import easyocr

            model_dir = resolve(self.settings.model_dir)
            gpu = resolve_device(self.settings.device) == "cuda"
            log.info("loading EasyOCR %s (gpu=%s, weights=%s)", self.settings.languages, gpu, model_dir or "default")
            kwargs: dict[str, Any] = {"gpu": gpu, "verbose": False}
            if model_dir:
                kwargs.update(model_storage_directory=model_dir, download_enabled=False)
            with loading("EasyOCR reader", self.settings.model_dir):
                self._reader = easyocr.Reader(list(self.settings.languages), **kwargs)
        return self._reader

    def read_frames(
        self, video_hash: str, frames: FrameSample, decode: Callable[[Sequence[int]], list]
    ) -> dict[int, list[dict[str, Any]]]:
        """Raw readings [{text, conf}] per frame index; only uncached frames are decoded and read."""
        keys = {i: make_key(video=video_hash, frame=i, **self.identity) for i in frames.indices}
        out: dict[int, list[dict[str, Any]]] = {}
        missing = []
        for i, key in keys.items():
            got = self.cache.get_json(self.namespace, key, group=video_hash)
            if got is None:
                missing.append(i)
            else:
                out[i] = got["readings"]
        step = self.settings.batch_frames
        for start in range(0, len(missing), step):
            chunk = missing[start:start + step]
            reader = self._load()
            images = decode(chunk)
            t0 = time.perf_counter()
            self.frames_read += len(chunk)
            with self.cache.batch():  # one pack write per batch of frames
                for i, raw in zip(chunk, self._read_batch(reader, images)):
                    readings = [
                        {"text": str(text), "conf": round(float(conf), 4),
                         "box": [[int(x), int(y)] for x, y in box]}
                        for box, text, conf in raw
                    ]
                    self.cache.put_json(self.namespace, keys[i], {"readings": readings}, group=video_hash)
                    out[i] = readings
            del images
            self.seconds_reading += time.perf_counter() - t0
        return out

    def _read_batch(self, reader, images: list) -> list:
        """Every GPU reading goes through ``readtext_batched`` (a chunk of frames of one shape at once; frames
        of differing shapes each as a batch of one), every CPU reading through ``readtext``: one path per key."""
        if self.reading == "gpu_batched":
            if len({im.shape for im in images}) == 1:
                return reader.readtext_batched(images, batch_size=len(images))
            return [reader.readtext_batched([image], batch_size=1)[0] for image in images]
        return [reader.readtext(image) for image in images]

    def documents(self, video_hash: str, frames: FrameSample, decode) -> list[AuxDoc]:
        readings = self.read_frames(video_hash, frames, decode)
        return frame_documents(readings, frames, self.settings.min_confidence, self.settings.dedupe)


def _norm(text: str) -> str:
    return re.sub(r"[^0-9a-z]+", " ", text.lower()).strip()


def frame_documents(readings: dict[int, list[dict[str, Any]]], frames: FrameSample, min_confidence: float,
                    dedupe: str = "normalised") -> list[AuxDoc]:
    """One document per frame with its confident texts not already seen earlier in the video
    (``dedupe``: ``normalised`` compares lower-cased alphanumerics, ``exact`` the exact text)."""
    if dedupe not in ("normalised", "exact"):
        raise ValueError(f"aux.ocr.dedupe must be normalised or exact, got {dedupe!r}")
    seen: set[str] = set()
    docs = []
    for idx, ts in zip(frames.indices, frames.timestamps):
        fresh = []
        for r in readings.get(idx, []):
            key = _norm(r["text"]) if dedupe == "normalised" else r["text"].strip()
            if r["conf"] > min_confidence and key and key not in seen:
                seen.add(key)
                fresh.append(r["text"].strip())
        if fresh:
            docs.append(AuxDoc("ocr", " ".join(fresh), ts, ts, frame_index=idx))
    return docs
