"""The DET branch of Video-RAG: requested entities -> keyframes -> boxes -> scene-graph text.

For one question the decoupled request gives entity phrases (``DET``) and the facts wanted
(``TYPE``: location / relation / number). The branch

1. cleans the phrases into short entity names (``entities``: spaCy noun filter, or a documented
   pure-Python fallback); without a DET list, entities come from the question text;
2. picks keyframes among the frames given to the LVLM (``keyframes``: CLIP with the official
   ``paper`` rule or ``top_k``; or every frame);
3. detects the entities in the keyframes (``detectors``: OWLv2 by default, Grounding DINO, or the
   offline demo's ``ColourBlobDetector`` in ``blobs``);
4. turns each keyframe's boxes into scene-graph text (``scene_graph``) and one ``AuxDoc`` per
   keyframe (``pipeline.DetectionPipeline``), rendered into the prompt by ``render_det_block``.

CLIP embeddings and detections are cached (namespaces ``clip_image``, ``clip_text``,
``detections``); models load only on a cache miss. Importing this package imports no torch,
transformers or spaCy: names are resolved lazily.

Public API::

    clean_entities(phrases, cleaner="auto") -> (list[str], "spacy" | "fallback")
    entities_from_question(text, cleaner="auto", max_entities=5) -> list[str]
    Box(label, score, x0, y0, x1, y1)                       # original-frame pixels
    KeyframeSelector / AllFrames() / ClipKeyframes(cache, model, rule, beta, top_k, tau, device)
    Detector / Owlv2Detector(model, threshold, batch_size, device, nms_iou)
        / GroundingDinoDetector(...) / ColourBlobDetector(threshold, tolerance, min_area, fill_cut)
    scene_graph_text(boxes, types, relation_mode="all") -> str
    DetectionPipeline(cfg, cache).run(video_path, video_hash, frames, entities, types) -> DetResult
    render_det_block(docs, n_frames, frame_indices=None) -> str

See ``pipeline`` for the config keys and their defaults.
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

_EXPORTS = {
    "clean_entities": "entities",
    "entities_from_question": "entities",
    "singularise": "entities",
    "spacy_available": "entities",
    "Box": "boxes",
    "iou": "boxes",
    "nms": "boxes",
    "KeyframeSelector": "keyframes",
    "KeyframeSelection": "keyframes",
    "AllFrames": "keyframes",
    "ClipKeyframes": "keyframes",
    "select_from_scores": "keyframes",
    "paper_ratio": "keyframes",
    "Detector": "detectors",
    "Owlv2Detector": "detectors",
    "GroundingDinoDetector": "detectors",
    "make_detector": "detectors",
    "ColourBlobDetector": "blobs",
    "TYPES": "scene_graph",
    "scene_graph_text": "scene_graph",
    "scene_graph_lines": "scene_graph",
    "location_lines": "scene_graph",
    "relation_lines": "scene_graph",
    "number_lines": "scene_graph",
    "relations": "scene_graph",
    "DetectionPipeline": "pipeline",
    "DetResult": "pipeline",
    "DetDoc": "pipeline",
    "DetSettings": "pipeline",
    "render_det_block": "pipeline",
}

__all__ = list(_EXPORTS)  # names resolved lazily by __getattr__


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(import_module(f"{__name__}.{module}"), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
