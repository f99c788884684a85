"""The auxiliary-text pipeline for one question: extract (cached), retrieve, render blocks.

It knows nothing of lmms-eval; the wrapper hands it a typed ``Question`` and the decoupled request.
Extractors, the encoder and the detector are built on first use only, so a run whose texts and
embeddings are all cached loads no model at all.
"""

from __future__ import annotations

import copy
import logging
import time
from collections import Counter
from dataclasses import dataclass, field, replace
from typing import Any

from ..core.failures import MissingWeights, extraction_watch, is_systemic
from ..core.records import AuxDoc, DecoupledRequest, FrameSample, Question
from ..store.cache import Cache
from . import media
from .extractors.asr import ASRSettings, NoAudioTrack, WhisperASR
from .extractors.ocr import EasyOCRReader, OCRSettings
from .prompt import render_block, render_det_block
from .query import query_texts
from .rag_settings import RagSettings
from .retrieval import EncoderSettings, TextEncoder, retrieve

log = logging.getLogger(__name__)


@dataclass
class AugmentResult:
    blocks: dict[str, str] = field(default_factory=dict)
    retrieved: dict[str, list[AuxDoc]] = field(default_factory=dict)
    candidates: dict[str, int] = field(default_factory=dict)  # documents available per source
    problems: list[tuple[str, str]] = field(default_factory=list)  # (kind, message)
    frames: FrameSample | None = None
    det: dict[str, Any] | None = None
    queries: dict[str, list[str]] = field(default_factory=dict)  # texts averaged into each source's query


def unretrieved(docs: list[AuxDoc]) -> list[AuxDoc]:
    """``rag.retrieval=false``: every document of a source, chronologically (as retrieval orders its hits),
    without a score (the token budget then drops the latest first: ``budget.drop_order``)."""
    return sorted((replace(d, score=None) for d in docs), key=lambda d: (d.start, d.frame_index or 0))


class VideoProblem(Exception):
    """The question cannot be asked at all (the video is missing or broken)."""

    def __init__(self, kind: str, message: str):
        self.kind = kind
        super().__init__(message)


class SourceFailed(RuntimeError):
    """One source could not be extracted for one video (not systemic): its questions are degraded."""

    def __init__(self, source: str, message: str):
        self.kind = f"{source}_failed"
        super().__init__(message)


class MissingCache(MissingWeights):
    """``require_cache=true`` and an extraction result is not in the cache: nothing is extracted."""

    def __init__(self, what: str, message: str | None = None):
        self.what = what
        super().__init__(message or f"require_cache=true: {what} results are missing from the cache and would need "
                         f"the {what} model; run python -m videorag_eval.extract with the same model (its frame rule), "
                         f"task, frames, aux and cache_dir first")


def _refuse_loading(part: Any, what: str) -> None:
    def refuse(*_args: Any, **_kwargs: Any):
        raise MissingCache(what)

    part._load = refuse


class AuxPipeline:
    """``require_cache=True``: ASR, OCR and CLIP keyframe features come from the cache only; a miss raises
    ``MissingCache`` instead of loading an extraction model (detections depend on each question's
    entities and still run; the retrieval encoder embeds queries)."""

    def __init__(self, rag: RagSettings, aux_cfg: Any, cache: Cache, frames: int, require_cache: bool = False,
                 max_frames_mb: float = 1024):
        self.rag = rag
        self.require_cache = bool(require_cache)
        self.aux_cfg = aux_cfg
        self.cache = cache
        self.frames = int(frames)
        self.asr = WhisperASR(ASRSettings.from_cfg(aux_cfg["asr"]), cache) if rag.asr else None
        self.ocr = EasyOCRReader(OCRSettings.from_cfg(aux_cfg["ocr"]), cache) if rag.ocr else None
        self.encoder = TextEncoder(EncoderSettings.from_cfg(aux_cfg["encoder"]), cache)
        self._det = None
        self.timings: Counter[str] = Counter()
        self.retrieved_counts: Counter[str] = Counter()
        self._video_cache: dict[str, tuple[str, media.VideoInfo, FrameSample]] = {}
        self._problem_videos: dict[str, VideoProblem] = {}
        self._info: dict[str, media.VideoInfo] = {}
        self._docs: dict[tuple[str, str], Any] = {}
        self._extraction_watch = {s: extraction_watch(s) for s in ("asr", "ocr")}  # 3 videos in a row failing: systemic
        self.frame_rule: tuple[str, Any] | None = None  # (name, rule): the inner adapter's frames (frame_sampling)
        from .budget import TokenBudget

        self.budget = TokenBudget("none", None)  # the auxiliary text's token budget (budget.py; set by the factory)
        self.released: list[str] = []
        # decoded frames shared by the probe, OCR, CLIP and the detector (``decode.max_frames_mb``), and the count
        # of what was decoded (metrics.json -> decoding); the copies of with_frames share it
        self.frame_store = media.FrameStore.from_mb(max_frames_mb)
        if self.require_cache:
            for part, what in ((self.asr, "ASR"), (self.ocr, "OCR")):
                if part is not None:
                    _refuse_loading(part, what)

    def with_frames(self, frames: int) -> "AuxPipeline":
        """The same pipeline (models, cache, timings shared) reading ``frames`` frames per video."""
        if self.rag.det:
            self.det  # built before copying, so the copies share it
        other = copy.copy(self)
        other.frames = int(frames)
        other._video_cache, other._docs = {}, {}
        return other

    # -- lazily built parts --------------------------------------------------------------------
    @property
    def det(self):
        if self._det is None:
            from .detection.pipeline import DetectionPipeline

            self._det = DetectionPipeline(self.aux_cfg["det"], self.cache)
            if self.require_cache and hasattr(self._det.selector, "image_features"):
                _refuse_loading(self._det.selector, "CLIP keyframe")
        return self._det

    # -- per video ----------------------------------------------------------------------------
    def check_video(self, path: str) -> media.VideoInfo:
        """Probe a video once (cheap: no hashing, no frame decoding); raises VideoProblem if unusable."""
        if path in self._problem_videos:
            raise self._problem_videos[path]
        if path not in self._info:
            t0 = time.perf_counter()
            try:
                self._info[path] = self.frame_store.probe(path)
            except media.VideoError as exc:
                self._problem_videos[path] = VideoProblem(exc.kind, str(exc))
                raise self._problem_videos[path] from exc
            finally:
                self.timings["probe"] += time.perf_counter() - t0
        return self._info[path]

    def open_video(self, path: str) -> tuple[str, media.VideoInfo, FrameSample]:
        """(content hash, info, sampled frames); raises VideoProblem once per bad video."""
        info = self.check_video(path)
        if path not in self._video_cache:
            t0 = time.perf_counter()
            try:
                digest = self.cache.file_hash(path)
                frames = media.frames_of(info, self.frames, self.frame_rule[1] if self.frame_rule else None)
            except media.VideoError as exc:
                self._problem_videos[path] = VideoProblem(exc.kind, str(exc))
                raise self._problem_videos[path] from exc
            finally:
                self.timings["hash_and_sample"] += time.perf_counter() - t0
            self._video_cache[path] = (digest, info, frames)
        return self._video_cache[path]

    def lvlm_frames(self, path: str, frames: FrameSample | None = None) -> dict[str, Any]:
        """The frames the inner LVLM sees (its adapter's rule), for the question's record."""
        if frames is None:  # rag=none / subtitles: the probe (once per video) has the frame count and rate
            frames = self._video_cache[path][2] if path in self._video_cache else \
                media.frames_of(self.check_video(path), self.frames, self.frame_rule[1] if self.frame_rule else None)
        rule = self.frame_rule[0] if self.frame_rule else "uniform"
        out = {"indices": list(frames.indices), "timestamps": list(frames.timestamps), "rule": rule}
        if self.frames > frames.total_frames > 0:  # capped at the video's length (media._choose)
            out["capped_from"] = self.frames
            out["note"] = f"frames={self.frames} is more than the video's {frames.total_frames} frames: capped"
        return out

    def _source_docs(self, source: str, path: str, digest: str, frames: FrameSample) -> list[AuxDoc]:
        key = (source, path)
        if key not in self._docs:
            t0 = time.perf_counter()
            try:
                if source == "asr":
                    self._docs[key] = self.asr.documents(path, digest)
                elif source == "ocr":
                    self._docs[key] = self.ocr.documents(digest, frames, lambda idx: self.frame_store.read(path, idx, "ocr"))
                self._extraction_watch[source].worked()
            except NoAudioTrack as exc:
                self._docs[key] = exc
            except media.VideoError as exc:  # a decode error mid-file: the video's questions fail once, no re-decode
                self._problem_videos[path] = VideoProblem(exc.kind, str(exc))
                raise self._problem_videos[path] from exc
            except Exception as exc:
                if is_systemic(exc):
                    raise
                # e.g. a failed transcription: remembered for this video, never retried per question; but the
                # same source failing on 3 videos in a row cannot be the videos' fault: the cell stops
                self._docs[key] = SourceFailed(source, f"{source}_failed: {path}: {type(exc).__name__}: {exc}")
                self._extraction_watch[source].failed(f"{path}: {type(exc).__name__}: {exc}")
            finally:
                self.timings[f"extract_{source}"] += time.perf_counter() - t0
        value = self._docs[key]
        if isinstance(value, Exception):
            raise value
        return value

    # -- per question -------------------------------------------------------------------------
    def augment(self, question: Question, request: DecoupledRequest, subtitles=None) -> AugmentResult:
        """``subtitles``: the question's ``subtitle_prompts.SubtitlePrompt`` (the benchmark's own subtitles arm):
        its lines are recorded, its block (if any) goes before the question; a whole prompt (Video-MME) is the
        wrapper's to use."""
        result = AugmentResult()
        if not self.rag.active:
            return result
        if self.rag.subtitles:
            docs = list(subtitles.docs) if subtitles is not None else []
            result.retrieved["subtitles"] = docs
            result.candidates["subtitles"] = len(docs)
            if subtitles is not None and subtitles.block:
                result.blocks["subtitles"] = subtitles.block
        if not self.rag.sources:
            return result
        digest, info, frames = self.open_video(question.video)
        result.frames = frames
        for source in ("asr", "ocr"):
            if not getattr(self.rag, source):
                continue
            try:
                docs = self._source_docs(source, question.video, digest, frames)
            except NoAudioTrack as exc:
                result.problems.append(("no_audio", str(exc)))
                docs = []
            except SourceFailed as exc:
                result.problems.append((exc.kind, str(exc)))
                docs = []
            result.candidates[source] = len(docs)
            if self.rag.retrieval:
                t0 = time.perf_counter()
                result.queries[source] = query_texts(question, request, source)
                with self.encoder.scoped(digest):  # this video's embeddings: one packed cache entry
                    hits = retrieve(self.encoder, result.queries[source], docs, self.rag.threshold)
                self.timings["retrieve"] += time.perf_counter() - t0
            else:  # rag.retrieval=false: every document, in time order, unscored (no query, nothing embedded)
                hits = unretrieved(docs)
            result.retrieved[source] = hits
            self.retrieved_counts[source] += len(hits)
            if hits:
                result.blocks[source] = self.render_source(source, hits, frames)
        if self.rag.det:
            t0 = time.perf_counter()
            from .detection.entities import entities_from_question

            if request.ok and not request.det:  # the model asked for no detection (DET: null): the method runs none
                result.det = {"skipped": "the request asked for no detection (DET: null)", "entities": []}
                result.retrieved["det"] = []
                result.candidates["det"] = 0
                return result
            # question nouns only when no request could be obtained or parsed
            entities = list(request.det) if request.ok else entities_from_question(question.question)
            types = list(request.types) if request.ok and request.types else None
            try:
                det = self.det.run(question.video, digest, frames, entities, types,
                                   decode=lambda idx: self.frame_store.read(question.video, idx, "det"))
            except media.VideoError as exc:
                self._problem_videos[question.video] = VideoProblem(exc.kind, str(exc))
                raise self._problem_videos[question.video] from exc
            self.timings["extract_det"] += time.perf_counter() - t0
            result.det = det.to_dict()
            if not request.ok:
                result.det["entities_from"] = "question nouns (no parsed request)"
            result.retrieved["det"] = det.docs
            result.candidates["det"] = len(det.docs)
            self.retrieved_counts["det"] += len(det.docs)
            if det.docs:
                result.blocks["det"] = self.render_source("det", det.docs, frames)
        return result

    def render_blocks(self, retrieved: dict[str, list[AuxDoc]], frames: FrameSample | None) -> dict[str, str]:
        """The ASR, OCR and DET blocks of these documents, rendered as ``augment`` renders them (the token
        budget renders the survivors again after dropping documents)."""
        return {s: self.render_source(s, retrieved[s], frames) for s in ("asr", "ocr", "det") if retrieved.get(s)}

    def render_source(self, source: str, docs: list[AuxDoc], frames: FrameSample | None) -> str:
        """One source's block: ASR/OCR documents with their times, DET as its per-frame scene text."""
        if source != "det":
            return render_block(source, docs, timestamps=self.rag.timestamps)
        n_frames = len(frames.indices) if frames is not None else 0
        return render_block("det", docs, det_block=render_det_block(docs, n_frames, timestamps=self.rag.timestamps))

    # -- before the LVLM loads -----------------------------------------------------------------
    def extract_all(self, videos: list[str], progress: bool = True) -> dict[str, int]:
        """Extract (cached) and embed the ASR/OCR documents of ``videos``; unusable videos are counted
        (and remembered, so their questions fail as usual), never raised."""
        from tqdm import tqdm

        counts = {"videos": len(videos), "failed": 0, "no_audio": 0, "documents": 0}
        for path in tqdm(videos, desc="extracting", unit="video", disable=not progress):
            try:
                digest, _, frames = self.open_video(path)
            except VideoProblem as exc:
                log.error("%s", exc)
                counts["failed"] += 1
                continue
            for source in self.rag.sources:
                if source not in ("asr", "ocr"):
                    continue
                try:
                    docs = self._source_docs(source, path, digest, frames)
                except (NoAudioTrack, SourceFailed, VideoProblem) as exc:  # recorded; systemic errors still stop
                    log.warning("%s", exc)
                    counts["no_audio"] += 1
                    continue
                if self.rag.retrieval:  # without retrieval no document is embedded
                    with self.encoder.scoped(digest):
                        self.encoder.encode([d.text for d in docs])
                counts["documents"] += len(docs)
        return counts

    def release_extractors(self) -> None:
        """Free the ASR and OCR models (GPU memory first) before the LVLM needs it; they reload on a miss."""
        released = [name for name, part, attr in (("asr", self.asr, "_model"), ("ocr", self.ocr, "_reader"))
                    if part is not None and getattr(part, attr) is not None]
        for part, attr in ((self.asr, "_model"), (self.ocr, "_reader")):
            if part is not None:
                setattr(part, attr, None)
        if released:
            import gc
            import sys

            gc.collect()
            torch = sys.modules.get("torch")
            if torch is not None and torch.cuda.is_available():
                torch.cuda.empty_cache()
            log.info("released extraction models before the LVLM loads: %s", ", ".join(released))
            self.released += released

    def decoding(self, questions: int | None = None) -> dict[str, Any]:
        """metrics.json's ``decoding``: files opened and frames decoded by the harness (probe, OCR, CLIP, detector)
        and frames served from the cell's frame store instead; the inner adapter's own reads are the wrapper's."""
        return self.frame_store.report(questions)

    def computed(self) -> dict[str, int]:
        """Work done by models in this process (not read from the cache)."""
        return {"asr_videos": self.asr.videos_transcribed if self.asr else 0,
                "ocr_frames": self.ocr.frames_read if self.ocr else 0,
                "texts_embedded": self.encoder.texts_encoded}

    def loaded_models(self) -> dict[str, bool]:
        return {
            "asr": bool(self.asr and (self.asr._model is not None or "asr" in self.released)),
            "ocr": bool(self.ocr and (self.ocr._reader is not None or "ocr" in self.released)),
            "encoder": self.encoder.loaded,
            **({f"det_{k}": v for k, v in self._det.loaded_models().items()} if self._det is not None else {}),
        }
