"""Keyframe selection: which of the sampled frames go to the object detector.

A ``KeyframeSelector`` returns a ``KeyframeSelection`` for (video, sampled frames, entities):

``AllFrames``
    Every sampled frame is a keyframe (no model). Used by the offline demo, and as
    ``keyframes.rule=all``.

``ClipKeyframes``
    A CLIP model (transformers ``CLIPModel`` + ``CLIPProcessor``, default
    ``openai/clip-vit-large-patch14-336`` as the official code) embeds every sampled frame and the
    prompt ``"A picture of <entity>"`` for every entity. The score of a frame against an entity is
    (``similarity``) the cosine of the two L2-normalised embeddings (``cosine``, the default), or the
    raw dot product of the unnormalised projected features, as the official code computes
    ``get_image_features(...) @ get_text_features(...).T`` (``dot``, ``method=official``): there a
    frame's feature norm weighs its score, so the two can select different keyframes. A frame's score
    ``s_i`` is the mean over the entities (the official code averages over the requested entities as well).

    Rules:

    ``paper`` (official code). The scores are normalised as ``s_i * alpha / sum_j s_j`` with
    ``alpha = beta * N / 16`` (N sampled frames), and a frame is kept when that exceeds
    ``tau = 0.3``. Equivalently::

        keep frame i  <=>  s_i > (16 * tau / beta) * mean_j(s_j)

    i.e. 1.6x the video mean for beta=3.0 (the official code) and 1.2x for beta=4.0 (what the paper
    appendix implies) -- the two ratios the reference gives; 16 and 0.3 are the constants that make
    both hold. (With ``dot`` the official formula is applied as written, ``s_i * alpha / sum_j s_j > tau``,
    which is the same whenever the scores sum to a positive number.) The rule is invariant to one scale
    for all frames, not to per-frame norms: cosines and raw dot products can keep different frames. Since
    CLIP cosines of one video are close to each other, the 1.6x bar is often not met by any frame:
    then *no* keyframe is selected and the DET branch emits nothing (recorded in the notes), as in
    the official code.

    ``top_k``. The ``top_k`` frames with the highest score (ties: earlier frame first); always
    between 1 and ``top_k`` keyframes (fewer only when fewer frames were sampled).

    Keyframes are returned in chronological order with every sampled frame's score.

CLIP image embeddings are cached per (video content hash, frame index, model) in the cache namespace
``clip_image`` (one float32 vector per frame), and prompt embeddings per (model, prompt) in
``clip_text``: the L2-normalised vector under the key of old, the raw projected feature under a key
with ``features="raw"``; a computation stores both, each mode reads its own. Frames are decoded and
the model is loaded only when an embedding is missing.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from ...core.records import FrameSample
from ...runtime.devices import resolve_device
from ...store.cache import Cache, make_key

log = logging.getLogger(__name__)

RULES = ("paper", "top_k", "all")
SIMILARITIES = ("cosine", "dot")
PROMPT = "A picture of {}"
PAPER_TAU = 0.3
PAPER_FRAMES = 16.0

Decode = Callable[[Sequence[int]], list]


@dataclass
class KeyframeSelection:
    keyframes: list[int]  # frame indices (into the video stream), chronological
    rule: str
    scores: dict[int, float] | None = None  # every sampled frame's score (None without CLIP)
    entity_scores: dict[str, list[float]] | None = None  # per entity, per sampled frame
    threshold: float | None = None  # the score bar of the paper rule
    notes: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            "rule": self.rule,
            "keyframes": list(self.keyframes),
            "scores": {str(k): round(v, 5) for k, v in self.scores.items()} if self.scores is not None else None,
            "threshold": round(self.threshold, 5) if self.threshold is not None else None,
        }


class KeyframeSelector(Protocol):
    name: str

    @property
    def loaded(self) -> bool: ...

    def select(
        self, video_hash: str, frames: FrameSample, entities: Sequence[str], decode: Decode
    ) -> KeyframeSelection: ...


class AllFrames:
    """Every sampled frame is a keyframe."""

    name = "all"
    loaded = False

    def select(self, video_hash: str, frames: FrameSample, entities: Sequence[str], decode: Decode) -> KeyframeSelection:
        return KeyframeSelection(list(frames.indices), "all")


def paper_ratio(beta: float, tau: float = PAPER_TAU) -> float:
    """The multiple of the video-mean score a frame must exceed under the paper rule (16*tau/beta)."""
    if beta <= 0:
        raise ValueError(f"keyframes.beta must be positive, got {beta}")
    return PAPER_FRAMES * tau / beta


def select_from_scores(
    indices: Sequence[int], scores: Sequence[float], rule: str, beta: float = 3.0, top_k: int = 3, tau: float = PAPER_TAU
) -> tuple[list[int], float | None]:
    """(keyframes in chronological order, threshold or None) from per-frame scores."""
    if rule not in ("paper", "top_k"):
        raise ValueError(f"keyframes.rule must be one of {RULES}, got {rule!r}")
    n = len(indices)
    if n == 0:
        return [], None
    if rule == "paper":
        mean = sum(scores) / n
        threshold = paper_ratio(beta, tau) * mean
        return [i for i, s in zip(indices, scores) if s > threshold], threshold
    k = max(1, min(int(top_k), n))
    order = sorted(range(n), key=lambda p: (-scores[p], p))[:k]
    return [indices[p] for p in sorted(order)], None


def official_paper_keep(scores: Sequence[float], beta: float, tau: float = PAPER_TAU) -> list[bool]:
    """The official code's keyframe test as written: ``s * alpha / sum(s) > tau`` with ``alpha = beta * N / 16``."""
    n = len(scores)
    total = float(sum(scores))
    if n == 0 or total == 0.0:
        return [False] * n
    alpha = beta * (n / PAPER_FRAMES)
    return [float(s) * alpha / total > tau for s in scores]


def pooled(output) -> Any:
    """Feature tensor from ``get_image_features``/``get_text_features``.

    transformers 4.x returns the projected tensor; 5.x returns a model output whose
    ``pooler_output`` holds it.
    """
    import torch

    if isinstance(output, torch.Tensor):
        return output
    value = getattr(output, "pooler_output", None)
    if value is None:
        value = output[0]
    return value


class ClipKeyframes:
    """CLIP-scored keyframes (rules ``paper`` and ``top_k``), with cached embeddings."""

    name = "clip"

    def __init__(
        self,
        cache: Cache,
        model: str = "openai/clip-vit-large-patch14-336",
        rule: str = "paper",
        beta: float = 3.0,
        top_k: int = 3,
        tau: float = PAPER_TAU,
        device: str = "cpu",
        batch_size: int = 8,
        similarity: str = "cosine",
    ):
        if similarity not in SIMILARITIES:
            raise ValueError(f"keyframes.similarity must be one of {SIMILARITIES}, got {similarity!r}")
        if rule not in ("paper", "top_k"):
            raise ValueError(f"ClipKeyframes rule must be 'paper' or 'top_k', got {rule!r}")
        paper_ratio(beta, tau)  # validates beta
        if int(top_k) < 1:
            raise ValueError(f"keyframes.top_k must be >= 1, got {top_k}")
        self.cache = cache
        self.model_name = str(model)
        self.rule = rule
        self.beta = float(beta)
        self.top_k = int(top_k)
        self.tau = float(tau)
        self.device = device
        self.batch_size = max(1, int(batch_size))
        self.similarity = similarity
        self._model = None
        self._processor = None
        self._device = None

    @property
    def loaded(self) -> bool:
        return self._model is not None

    def _load(self):
        if self._model is None:
            from transformers import CLIPModel, CLIPProcessor

            from ...runtime.weights import loading, resolve

            path = resolve(self.model_name)
            self._device = resolve_device(self.device)
            log.info("loading CLIP %s on %s", path, self._device)
            with loading("CLIP model", self.model_name):
                self._processor = CLIPProcessor.from_pretrained(path)
                model = CLIPModel.from_pretrained(path)
            self._model = model.to(self._device).eval()
        return self._model, self._processor

    # -- embeddings ------------------------------------------------------------------------
    def image_features(self, video_hash: str, indices: Sequence[int], decode: Decode, raw: bool | None = None):
        """Image embeddings (len(indices) x D): normalised, or the raw projected features (``raw``; default:
        ``similarity == "dot"``), from the cache or computed for the misses (both forms are stored)."""
        import numpy as np

        raw = self.similarity == "dot" if raw is None else bool(raw)
        plain = {i: make_key(video=video_hash, frame=int(i), model=self.model_name) for i in indices}
        unnormed = {i: make_key(video=video_hash, frame=int(i), model=self.model_name, features="raw") for i in indices}
        keys = unnormed if raw else plain
        feats: dict[int, Any] = {}
        missing = []
        for i in indices:
            got = self.cache.get_array("clip_image", keys[i], group=video_hash)
            if got is None:
                missing.append(i)
            else:
                feats[i] = got
        if missing:
            import torch

            model, processor = self._load()
            for start in range(0, len(missing), self.batch_size):
                chunk = missing[start : start + self.batch_size]
                images = decode(chunk)
                inputs = processor(images=list(images), return_tensors="pt").to(self._device)
                with torch.inference_mode():
                    out = pooled(model.get_image_features(pixel_values=inputs["pixel_values"])).float()
                normed = torch.nn.functional.normalize(out, dim=-1).cpu().numpy().astype(np.float32)
                out = out.cpu().numpy().astype(np.float32)
                for i, vec, unit in zip(chunk, out, normed):
                    self.cache.put_array("clip_image", unnormed[i], vec, group=video_hash)
                    self.cache.put_array("clip_image", plain[i], unit, group=video_hash)
                    feats[i] = vec if raw else unit
        return np.stack([feats[i] for i in indices]) if indices else np.zeros((0, 0), dtype=np.float32)

    def text_features(self, prompts: Sequence[str], raw: bool | None = None):
        import numpy as np

        raw = self.similarity == "dot" if raw is None else bool(raw)
        plain = {p: make_key(model=self.model_name, prompt=p) for p in prompts}
        unnormed = {p: make_key(model=self.model_name, prompt=p, features="raw") for p in prompts}
        keys = unnormed if raw else plain
        groups = {p: plain[p][:2] for p in prompts}  # both forms of a prompt in the plain key's bucket
        feats: dict[str, Any] = {}
        missing = []
        for p in prompts:
            got = self.cache.get_array("clip_text", keys[p], group=groups[p])
            if got is None:
                missing.append(p)
            else:
                feats[p] = got
        if missing:
            import torch

            model, processor = self._load()
            inputs = processor(text=list(missing), return_tensors="pt", padding=True, truncation=True).to(self._device)
            with torch.inference_mode():
                out = pooled(model.get_text_features(input_ids=inputs["input_ids"], attention_mask=inputs["attention_mask"])).float()
            normed = torch.nn.functional.normalize(out, dim=-1).cpu().numpy().astype(np.float32)
            out = out.cpu().numpy().astype(np.float32)
            for p, vec, unit in zip(missing, out, normed):
                self.cache.put_array("clip_text", unnormed[p], vec, group=plain[p][:2])  # one bucket per prompt
                self.cache.put_array("clip_text", plain[p], unit, group=plain[p][:2])
                feats[p] = vec if raw else unit
        return np.stack([feats[p] for p in prompts])

    # -- selection -------------------------------------------------------------------------
    def select(self, video_hash: str, frames: FrameSample, entities: Sequence[str], decode: Decode) -> KeyframeSelection:
        import numpy as np

        indices = [int(i) for i in frames.indices]
        if not entities or not indices:
            return KeyframeSelection([], self.rule, notes=["no entities: no keyframes"])
        img = self.image_features(video_hash, indices, decode)
        txt = self.text_features([PROMPT.format(e) for e in entities])
        sims = img @ txt.T  # frames x entities: cosines, or raw dot products (similarity=dot, the official code)
        scores = [float(v) for v in (sims.astype(np.float64) if self.similarity == "dot" else sims).mean(axis=1)]
        keyframes, threshold = select_from_scores(indices, scores, self.rule, self.beta, self.top_k, self.tau)
        if self.similarity == "dot" and self.rule == "paper":  # the official formula as written (any sign of the sum)
            keyframes = [i for i, keep in zip(indices, official_paper_keep(scores, self.beta, self.tau)) if keep]
        sel = KeyframeSelection(
            keyframes=keyframes,
            rule=self.rule,
            scores=dict(zip(indices, scores)),
            entity_scores={e: [round(float(v), 5) for v in sims[:, j]] for j, e in enumerate(entities)},
            threshold=threshold,
        )
        if not keyframes:
            sel.notes.append(
                f"paper keyframe rule selected no frame (max score {max(scores):.4f} <= "
                f"{paper_ratio(self.beta, self.tau):.2f} x mean {sum(scores) / len(scores):.4f}); no DET text"
            )
        return sel
