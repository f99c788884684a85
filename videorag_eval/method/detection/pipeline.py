"""The DET branch for one question: entities -> keyframes -> detections -> scene-graph documents.

``DetectionPipeline(cfg, cache).run(video_path, video_hash, frames, entities, types) -> DetResult``

1. the DET phrases are cleaned (``entities.clean_entities``, ``entity_cleaner``);
2. TYPE: a list drawn from location / relation / number (aliases accepted, unknown entries noted
   and dropped). When TYPE is null (or empty) the official code emits no DET text at all; here
   ``on_null_type`` decides: ``all`` (default) states all three, ``none`` reproduces the official
   behaviour;
3. keyframes among the sampled frames (``keyframes.rule``: ``paper`` / ``top_k`` with CLIP, or
   ``all``);
4. the detector on the keyframes (``detector.kind``), cached per (video content hash, frame index,
   sorted entity set, detector identity incl. model and threshold) in the namespace
   ``detections``; frames are decoded only for cache misses (once per run, shared with CLIP);
5. per keyframe with at least one box: boxes ordered by score, capped at ``max_objects`` (null =
   no cap, as the official code), then ordered left to right / top to bottom and numbered; the
   scene-graph text (``scene_graph.scene_graph_text``) becomes one ``AuxDoc`` (``source="det"``,
   ``start=end=`` the frame's time, ``frame_index``; a ``DetDoc`` also carries ``position``, the
   frame's 1-based place among the sampled frames).

The keyframe selector and the detector are built on first use, and their models load only on a
cache miss, so a fully cached run loads no model.

Config (a plain dict or an OmegaConf node; every key optional)::

    entity_cleaner: auto          # auto | spacy | fallback
    keyframes:
      rule: paper                 # paper | top_k | all
      beta: 3.0                   # paper rule: keep s_i > (16 * tau / beta) * mean(s)  (1.6x mean at 3.0)
      tau: 0.3                    # paper rule's threshold on the normalised score
      top_k: 3                    # top_k rule: 1..top_k best frames
      clip_model: openai/clip-vit-large-patch14-336
      batch_size: 8               # frames per CLIP forward pass
    detector:
      kind: owlv2                 # owlv2 | grounding_dino | colour_blobs (offline demo only)
      model: google/owlv2-base-patch16-ensemble   # null = the kind's default
      threshold: 0.1              # box score threshold (as the official code)
      batch_size: 4               # keyframes per detector forward pass
      nms_iou: 0.5                # per-label NMS of duplicate boxes; null disables (owlv2, grounding_dino)
      text_threshold: 0.25        # grounding_dino only
    max_objects: null             # per keyframe, highest scores first; null = no cap
    relation_mode: all            # all | last (official: only the last relation per pair survives)
    on_null_type: all             # all | none (official: TYPE=null gives no DET text)
    device: cpu                   # cpu | cuda | auto

``render_det_block(docs, n_frames)`` renders the prompt block::

    The video has 8 frames. Detected objects in specific frames:
    Frame 3 (8.5s): Object 1: red circle, top-left (60, 132), size 29x29 px; ...
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from ...core.records import AuxDoc, FrameSample
from ...store.cache import Cache, make_key
from .boxes import Box
from .detectors import DEFAULT_MODELS, DETECTOR_KINDS, make_detector
from .entities import CLEANERS, clean_entities
from .keyframes import RULES, SIMILARITIES, AllFrames, ClipKeyframes, KeyframeSelection
from .scene_graph import RELATION_MODES, TYPES, normalise_types, scene_graph_text

log = logging.getLogger(__name__)

NULL_TYPE_MODES = ("all", "none")
NAMESPACE = "detections"


@dataclass(frozen=True)
class DetDoc(AuxDoc):
    """A DET document; ``position`` is the keyframe's 1-based place among the sampled frames."""

    position: int | None = None


def _has(cfg: Any, key: str) -> bool:
    if cfg is None:
        return False
    try:
        return key in cfg
    except TypeError:
        return hasattr(cfg, key)


def _raw(cfg: Any, key: str, default: Any = None) -> Any:
    """cfg[key] when the key is present (None included), else ``default``."""
    if not _has(cfg, key):
        return default
    try:
        return cfg[key]
    except (TypeError, KeyError):
        return getattr(cfg, key, default)


def _get(cfg: Any, key: str, default: Any = None) -> Any:
    """cfg[key], with ``default`` when it is absent or null."""
    value = _raw(cfg, key)
    return default if value is None else value


@dataclass(frozen=True)
class DetSettings:
    entity_cleaner: str = "auto"
    rule: str = "paper"
    beta: float = 3.0
    tau: float = 0.3
    top_k: int = 3
    clip_model: str = "openai/clip-vit-large-patch14-336"
    clip_batch_size: int = 8
    similarity: str = "cosine"  # cosine | dot (raw CLIP features, as the official code)
    detector: str = "owlv2"
    detector_model: str | None = DEFAULT_MODELS["owlv2"]
    threshold: float = 0.1
    batch_size: int = 4
    nms_iou: float | None = 0.5
    text_threshold: float = 0.25
    max_objects: int | None = None
    relation_mode: str = "all"
    on_null_type: str = "all"
    device: str = "cpu"

    @classmethod
    def from_cfg(cls, cfg: Mapping[str, Any] | None) -> DetSettings:
        kf = _get(cfg, "keyframes", {})
        dt = _get(cfg, "detector", {})
        kind = str(_get(dt, "kind", "owlv2"))
        model = _raw(dt, "model", DEFAULT_MODELS.get(kind))
        if model is not None and model in DEFAULT_MODELS.values() and model != DEFAULT_MODELS.get(kind):
            # detector.kind was switched and the model left at another kind's default
            model = DEFAULT_MODELS.get(kind)
        max_objects = _raw(cfg, "max_objects")
        nms_iou = _raw(dt, "nms_iou", 0.5)
        s = cls(
            entity_cleaner=str(_get(cfg, "entity_cleaner", "auto")),
            rule=str(_get(kf, "rule", "paper")),
            beta=float(_get(kf, "beta", 3.0)),
            tau=float(_get(kf, "tau", 0.3)),
            top_k=int(_get(kf, "top_k", 3)),
            clip_model=str(_get(kf, "clip_model", cls.clip_model)),
            clip_batch_size=int(_get(kf, "batch_size", 8)),
            similarity=str(_get(kf, "similarity", "cosine")),
            detector=kind,
            detector_model=None if model is None else str(model),
            threshold=float(_get(dt, "threshold", 0.1)),
            batch_size=int(_get(dt, "batch_size", 4)),
            nms_iou=None if nms_iou is None else float(nms_iou),
            text_threshold=float(_get(dt, "text_threshold", 0.25)),
            max_objects=None if max_objects is None else int(max_objects),
            relation_mode=str(_get(cfg, "relation_mode", "all")),
            on_null_type=str(_get(cfg, "on_null_type", "all")),
            device=str(_get(cfg, "device", "cpu")),
        )
        s.validate()
        return s

    def validate(self) -> None:
        checks = [
            ("entity_cleaner", self.entity_cleaner, CLEANERS),
            ("keyframes.rule", self.rule, RULES),
            ("keyframes.similarity", self.similarity, SIMILARITIES),
            ("detector.kind", self.detector, DETECTOR_KINDS),
            ("relation_mode", self.relation_mode, RELATION_MODES),
            ("on_null_type", self.on_null_type, NULL_TYPE_MODES),
        ]
        for name, value, allowed in checks:
            if value not in allowed:
                raise ValueError(f"det.{name} must be one of {', '.join(allowed)}; got {value!r}")
        if self.beta <= 0:
            raise ValueError(f"det.keyframes.beta must be positive; got {self.beta}")
        if self.top_k < 1:
            raise ValueError(f"det.keyframes.top_k must be >= 1; got {self.top_k}")
        if not 0 <= self.threshold < 1:
            raise ValueError(f"det.detector.threshold must be in [0, 1); got {self.threshold}")
        if self.max_objects is not None and self.max_objects < 1:
            raise ValueError(f"det.max_objects must be >= 1 or null; got {self.max_objects}")


@dataclass
class DetResult:
    docs: list[AuxDoc] = field(default_factory=list)
    keyframes: list[int] = field(default_factory=list)
    boxes: dict[int, list[dict[str, Any]]] = field(default_factory=dict)  # keyframe index -> boxes (all of them)
    entities: list[str] = field(default_factory=list)  # after cleaning
    cleaner: str = ""
    notes: list[str] = field(default_factory=list)
    types: list[str] = field(default_factory=list)  # the TYPEs stated
    keyframe_rule: str | None = None
    keyframe_scores: dict[int, float] | None = None  # every sampled frame's CLIP score (None without CLIP)
    keyframe_threshold: float | None = None
    detector: dict[str, Any] | None = None  # the detector's identity
    frame_sizes: dict[int, list[int]] = field(default_factory=dict)  # keyframe index -> [height, width]
    seconds: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        return {
            "entities": list(self.entities),
            "cleaner": self.cleaner,
            "types": list(self.types),
            "keyframe_rule": self.keyframe_rule,
            "keyframes": list(self.keyframes),
            "keyframe_scores": (
                {str(k): round(v, 5) for k, v in self.keyframe_scores.items()} if self.keyframe_scores is not None else None
            ),
            "keyframe_threshold": round(self.keyframe_threshold, 5) if self.keyframe_threshold is not None else None,
            "detector": self.detector,
            "boxes": {str(k): v for k, v in self.boxes.items()},
            "frame_sizes": {str(k): v for k, v in self.frame_sizes.items()},
            "n_docs": len(self.docs),
            "notes": list(self.notes),
            "seconds": round(self.seconds, 3),
        }


class _Frames:
    """Frames of one video on demand, each read at most once per run (CLIP and the detector share them);
    ``decode(indices)`` reads them (default: decoded from the file; the cell's ``media.FrameStore``
    serves those it holds). ``decoded``: the frames this run needed pixels of."""

    def __init__(self, video_path: str, decode=None):
        self.video_path = video_path
        self._decode = decode
        self._frames: dict[int, Any] = {}
        self.decoded = 0

    def __call__(self, indices: Sequence[int]) -> list:
        missing = sorted({int(i) for i in indices} - set(self._frames))
        if missing:
            if self._decode is None:
                from ..media import read_frames

                got = read_frames(self.video_path, missing)
            else:
                got = self._decode(missing)
            for i, frame in zip(missing, got):
                self._frames[i] = frame
            self.decoded += len(missing)
        return [self._frames[int(i)] for i in indices]


def _order(boxes: list[Box], max_objects: int | None) -> list[Box]:
    ranked = sorted(boxes, key=lambda b: -b.score)
    if max_objects is not None:
        ranked = ranked[:max_objects]
    return sorted(ranked, key=lambda b: (round(b.x0), round(b.y0), -b.score, b.label))


class DetectionPipeline:
    def __init__(self, cfg: Mapping[str, Any] | None, cache: Cache, selector=None, detector=None):
        self.settings = DetSettings.from_cfg(cfg)
        self.cache = cache
        self._selector = selector
        self._detector = detector

    # -- lazily built parts -------------------------------------------------------------------
    @property
    def selector(self):
        if self._selector is None:
            s = self.settings
            if s.rule == "all":
                self._selector = AllFrames()
            else:
                self._selector = ClipKeyframes(self.cache, s.clip_model, s.rule, s.beta, s.top_k, s.tau, s.device,
                                               s.clip_batch_size, s.similarity)
        return self._selector

    @property
    def detector(self):
        if self._detector is None:
            s = self.settings
            self._detector = make_detector(s.detector, s.detector_model, s.threshold, s.batch_size, s.device,
                                           s.nms_iou, text_threshold=s.text_threshold)
        return self._detector

    def loaded_models(self) -> dict[str, bool]:
        return {
            "clip": bool(self._selector is not None and getattr(self._selector, "loaded", False)),
            "detector": bool(self._detector is not None and getattr(self._detector, "loaded", False)
                             and getattr(self._detector, "kind", "") != "colour_blobs"),
        }

    # -- one question --------------------------------------------------------------------------
    def resolve_types(self, types: Sequence[str] | None, notes: list[str]) -> list[str]:
        if types:
            wanted, unknown = normalise_types(types)
            if unknown:
                notes.append(f"unknown TYPE entries ignored: {unknown}")
            if wanted:
                return wanted
            notes.append("TYPE had no known entry; treated as null")
        if self.settings.on_null_type == "all":
            notes.append("TYPE=null: stating location, relation and number (on_null_type=all; the official code emits nothing)")
            return list(TYPES)
        notes.append("TYPE=null: no DET text (on_null_type=none, as the official code)")
        return []

    def detect_keyframes(self, video_hash: str, keyframes: Sequence[int], entities: Sequence[str], decode) -> tuple[
            dict[int, list[Box]], dict[int, list[int]]]:
        """Boxes and [height, width] per keyframe, cached per frame."""
        det = self.detector
        entity_set = sorted(set(entities))
        keys = {i: make_key(video=video_hash, frame=int(i), entities=entity_set, **det.identity) for i in keyframes}
        boxes: dict[int, list[Box]] = {}
        sizes: dict[int, list[int]] = {}
        missing = []
        for i in keyframes:
            got = self.cache.get_json(NAMESPACE, keys[i], group=video_hash)
            if got is None:
                missing.append(i)
            else:
                boxes[i] = [Box.from_dict(d) for d in got["boxes"]]
                sizes[i] = list(got["size"])
        if missing:
            step = max(1, int(getattr(det, "batch_size", len(missing)) or 1))
            for start in range(0, len(missing), step):
                chunk = missing[start : start + step]
                images = decode(chunk)
                for i, img, found in zip(chunk, images, det.detect(images, entity_set)):
                    size = [int(img.shape[0]), int(img.shape[1])]
                    self.cache.put_json(NAMESPACE, keys[i], group=video_hash, value={"boxes": [b.to_dict() for b in found], "size": size,
                                                             "detector": det.identity, "entities": entity_set})
                    boxes[i] = [Box.from_dict(b.to_dict()) for b in found]  # same rounding as a cache hit
                    sizes[i] = size
        return boxes, sizes

    def run(self, video_path: str, video_hash: str, frames: FrameSample, entities: Sequence[str] | None,
            types: Sequence[str] | None, decode=None) -> DetResult:
        """``decode(indices) -> frames``: where the pixels come from (default: decoded from the file)."""
        t0 = time.perf_counter()
        s = self.settings
        result = DetResult()
        result.entities, result.cleaner = clean_entities(list(entities or []), s.entity_cleaner)
        if entities and list(entities) != result.entities:
            result.notes.append(f"entities cleaned ({result.cleaner}): {list(entities)} -> {result.entities}")
        result.types = self.resolve_types(types, result.notes)
        if not result.entities:
            result.notes.append("no entities to detect: no DET text")
        if not result.entities or not result.types:
            result.seconds = time.perf_counter() - t0
            return result

        decode = _Frames(str(video_path), decode)
        selection: KeyframeSelection = self.selector.select(video_hash, frames, result.entities, decode)
        result.keyframes = list(selection.keyframes)
        result.keyframe_rule = selection.rule
        result.keyframe_scores = selection.scores
        result.keyframe_threshold = selection.threshold
        result.notes += selection.notes
        result.detector = dict(self.detector.identity)
        if result.keyframes:
            found, sizes = self.detect_keyframes(video_hash, result.keyframes, result.entities, decode)
            position = {int(i): p for p, i in enumerate(frames.indices, 1)}
            for i in result.keyframes:
                result.boxes[i] = [b.to_dict() for b in found[i]]
                result.frame_sizes[i] = sizes[i]
                text = scene_graph_text(_order(found[i], s.max_objects), result.types, s.relation_mode)
                if not text:
                    continue
                p = position[int(i)]
                ts = float(frames.timestamps[p - 1])
                result.docs.append(DetDoc("det", text, ts, ts, frame_index=int(i), position=p))
            if not result.docs:
                result.notes.append("no object detected in the keyframes")
        if decode.decoded:
            result.notes.append(f"decoded {decode.decoded} frames")
        result.seconds = time.perf_counter() - t0
        return result
