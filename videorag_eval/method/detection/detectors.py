"""Open-vocabulary object detectors behind one protocol.

``Detector.detect(frames, entities) -> list[list[Box]]``: for each RGB uint8 frame (H x W x 3) the
boxes of the entity phrases found in it, in original-frame pixels, score above the threshold.
Each detector has an ``identity`` dict (kind, model, threshold, ...) that is part of the cache key.

``Owlv2Detector`` (default)
    transformers ``Owlv2ForObjectDetection`` + ``Owlv2Processor``, default
    ``google/owlv2-base-patch16-ensemble``; the entity phrases are the text queries; batched over
    keyframes (``batch_size``). OWLv2's processor pads every image to a square (bottom/right) before
    resizing, so the predicted boxes are relative to the padded square: they are scaled by
    ``max(height, width)`` and then clipped to the frame. This is done here from the raw
    ``logits``/``pred_boxes`` (score = sigmoid of the best query's logit, as the library's
    post-processing), not by the processor's post-processing, whose scaling changed between
    transformers releases (4.x scaled by (height, width), which is wrong for non-square frames).
    Optional per-label NMS (``nms_iou``, default 0.5) removes duplicate boxes.

``GroundingDinoDetector`` (optional)
    transformers ``AutoModelForZeroShotObjectDetection`` + ``AutoProcessor``, e.g.
    ``IDEA-Research/grounding-dino-tiny``; the prompt is the entities joined as ``"a. b. c."``;
    the library's ``post_process_grounded_object_detection`` (box ``threshold`` and
    ``text_threshold``); each predicted phrase is mapped back to the entity sharing most words with
    it.

``ColourBlobDetector`` (``blobs.py``): the offline demo's detector, no model.

Models load on the first ``detect`` call only.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Sequence
from typing import Any, Protocol

from ...runtime.devices import resolve_device
from .boxes import Box, nms

log = logging.getLogger(__name__)

DETECTOR_KINDS = ("owlv2", "grounding_dino", "colour_blobs")
DEFAULT_MODELS = {
    "owlv2": "google/owlv2-base-patch16-ensemble",
    "grounding_dino": "IDEA-Research/grounding-dino-tiny",
    "colour_blobs": None,
}


class Detector(Protocol):
    kind: str

    @property
    def identity(self) -> dict[str, Any]: ...

    @property
    def loaded(self) -> bool: ...

    def detect(self, frames: Sequence, entities: Sequence[str]) -> list[list[Box]]: ...


def _frame_size(frame) -> tuple[int, int]:
    h, w = frame.shape[:2]
    return int(h), int(w)


class _TransformersDetector:
    """Shared by the transformers detectors: settings, lazy loading with a clear failure, identity."""

    kind = ""
    what = ""

    def __init__(self, model: str, threshold: float = 0.1, batch_size: int = 4, device: str = "cpu",
                 nms_iou: float | None = 0.5):
        self.model_name = str(model)
        self.threshold = float(threshold)
        self.batch_size = max(1, int(batch_size))
        self.device = device
        self.nms_iou = float(nms_iou) if nms_iou else None
        self._model = None
        self._processor = None
        self._device = None

    @property
    def identity(self) -> dict[str, Any]:
        return {"detector": self.kind, "model": self.model_name, "threshold": self.threshold, "nms_iou": self.nms_iou}

    @property
    def loaded(self) -> bool:
        return self._model is not None

    def _classes(self):
        """(processor class, model class) from transformers."""
        raise NotImplementedError

    def _load(self):
        if self._model is None:
            from ...runtime.weights import loading, resolve

            processor_cls, model_cls = self._classes()
            path = resolve(self.model_name)
            self._device = resolve_device(self.device)
            log.info("loading %s %s on %s", self.what, path, self._device)
            with loading(f"{self.what} detector", self.model_name):
                self._processor = processor_cls.from_pretrained(path)
                self._model = model_cls.from_pretrained(path).to(self._device).eval()
        return self._model, self._processor

    def detect(self, frames: Sequence, entities: Sequence[str]) -> list[list[Box]]:
        """Boxes per frame (score > threshold, clipped to the frame, NMS per frame), in batches."""
        frames = list(frames)
        entities = list(entities)
        if not frames:
            return []
        if not entities:
            return [[] for _ in frames]
        model, processor = self._load()
        results: list[list[Box]] = []
        for start in range(0, len(frames), self.batch_size):
            batch = frames[start : start + self.batch_size]
            for frame, candidates in zip(batch, self._detect_batch(model, processor, batch, entities)):
                h, w = _frame_size(frame)
                boxes = [b.clipped(w, h) for b in candidates if b.score > self.threshold]
                boxes = sorted((b for b in boxes if b.area > 0), key=lambda x: -x.score)
                results.append(nms(boxes, self.nms_iou))
        return results

    def _detect_batch(self, model, processor, batch: list, entities: list[str]) -> list[list[Box]]:
        """Candidate boxes (pixel xyxy, scores rounded to 4 places) for each frame of one batch."""
        raise NotImplementedError


class Owlv2Detector(_TransformersDetector):
    kind = "owlv2"
    what = "OWLv2"

    def __init__(self, model: str = DEFAULT_MODELS["owlv2"], threshold: float = 0.1, batch_size: int = 4,
                 device: str = "cpu", nms_iou: float | None = 0.5):
        super().__init__(model, threshold, batch_size, device, nms_iou)

    def _classes(self):
        from transformers import Owlv2ForObjectDetection, Owlv2Processor

        return Owlv2Processor, Owlv2ForObjectDetection

    def _detect_batch(self, model, processor, batch, entities):
        import torch

        inputs = processor(text=[entities] * len(batch), images=batch, return_tensors="pt", truncation=True)
        with torch.inference_mode():
            out = model(**inputs.to(self._device))
        best = out.logits.float().cpu().max(dim=-1)  # over the entities: B x Q
        scores = torch.sigmoid(best.values)
        pred = out.pred_boxes.float().cpu()  # B x Q x 4, (cx, cy, w, h) relative to the padded square
        per_frame = []
        for b, frame in enumerate(batch):
            side = float(max(_frame_size(frame)))
            boxes = []
            for q in torch.nonzero(scores[b] > self.threshold).flatten().tolist():  # thousands of queries
                cx, cy, bw, bh = (float(v) * side for v in pred[b, q])
                boxes.append(Box(entities[int(best.indices[b, q])], round(float(scores[b, q]), 4),
                                 cx - bw / 2, cy - bh / 2, cx + bw / 2, cy + bh / 2))
            per_frame.append(boxes)
        return per_frame


def _words(text: str) -> set[str]:
    return set(re.findall(r"[a-z0-9]+", str(text).lower())) - {"sep", "cls", "pad"}


def _best_entity(phrase: str, entities: Sequence[str]) -> str:
    """The entity sharing most words with a predicted phrase (ties: the earlier entity); the phrase
    itself when none shares a word."""
    words = _words(phrase)
    scored = [(len(words & _words(e)), -i, e) for i, e in enumerate(entities)]
    best = max(scored) if scored else (0, 0, "")
    return best[2] if best[0] > 0 else str(phrase).strip()


class GroundingDinoDetector(_TransformersDetector):
    kind = "grounding_dino"
    what = "Grounding DINO"

    def __init__(self, model: str = DEFAULT_MODELS["grounding_dino"], threshold: float = 0.1, batch_size: int = 4,
                 device: str = "cpu", nms_iou: float | None = 0.5, text_threshold: float = 0.25):
        super().__init__(model, threshold, batch_size, device, nms_iou)
        self.text_threshold = float(text_threshold)

    @property
    def identity(self) -> dict[str, Any]:
        return {**super().identity, "text_threshold": self.text_threshold}

    def _classes(self):
        from transformers import AutoModelForZeroShotObjectDetection, AutoProcessor

        return AutoProcessor, AutoModelForZeroShotObjectDetection

    def _detect_batch(self, model, processor, batch, entities):
        import inspect

        import torch

        prompt = " ".join(f"{e.strip().lower().rstrip('.')}." for e in entities)
        post = processor.post_process_grounded_object_detection
        # transformers >= 4.51 calls the box threshold `threshold`; earlier releases `box_threshold`.
        box_kw = "threshold" if "threshold" in inspect.signature(post).parameters else "box_threshold"
        inputs = processor(images=batch, text=[prompt] * len(batch), return_tensors="pt").to(self._device)
        with torch.inference_mode():
            out = model(**inputs)
        dets = post(out, inputs["input_ids"], **{box_kw: self.threshold}, text_threshold=self.text_threshold,
                    target_sizes=[_frame_size(f) for f in batch])
        per_frame = []
        for det in dets:
            names = det.get("text_labels")
            if names is None:
                names = det.get("labels")
            per_frame.append([Box(_best_entity(name, entities), round(float(score), 4), *map(float, xyxy))
                              for name, score, xyxy in zip(names, det["scores"].tolist(), det["boxes"].tolist())])
        return per_frame


def make_detector(kind: str, model: str | None = None, threshold: float = 0.1, batch_size: int = 4,
                  device: str = "cpu", nms_iou: float | None = 0.5, **extra: Any):
    """A detector from config values; ``model=None`` means the kind's default model."""
    if kind not in DETECTOR_KINDS:
        raise ValueError(f"detector.kind must be one of {DETECTOR_KINDS}, got {kind!r}")
    if kind == "colour_blobs":
        from .blobs import ColourBlobDetector

        return ColourBlobDetector(threshold=threshold, **{k: v for k, v in extra.items() if v is not None and k in (
            "tolerance", "min_area", "fill_cut")})
    model = model or DEFAULT_MODELS[kind]
    if kind == "owlv2":
        return Owlv2Detector(model, threshold, batch_size, device, nms_iou)
    text_threshold = extra.get("text_threshold")
    return GroundingDinoDetector(model, threshold, batch_size, device, nms_iou,
                                 text_threshold=0.25 if text_threshold is None else text_threshold)
