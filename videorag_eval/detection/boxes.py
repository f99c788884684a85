"""Detected boxes: the record every detector returns, and the geometry shared by the stages.

Coordinates are pixels of the *original* decoded frame: ``x0, y0`` the top-left corner, ``x1, y1``
the bottom-right corner (exclusive), ``0 <= x0 <= x1 <= width`` and ``0 <= y0 <= y1 <= height``.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass
from typing import Any


@dataclass(frozen=True)
class Box:
    label: str  # the entity phrase that was detected
    score: float
    x0: float
    y0: float
    x1: float
    y1: float

    @property
    def width(self) -> float:
        return max(0.0, self.x1 - self.x0)

    @property
    def height(self) -> float:
        return max(0.0, self.y1 - self.y0)

    @property
    def area(self) -> float:
        return self.width * self.height

    def to_dict(self) -> dict[str, Any]:
        """JSON form: coordinates rounded to 0.01 px, score to 4 decimals (detectors compare the
        rounded score with their threshold, so a stored box always passes it)."""
        d = asdict(self)
        d["score"] = round(float(self.score), 4)
        for k in ("x0", "y0", "x1", "y1"):
            d[k] = round(float(d[k]), 2)
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Box:
        return cls(str(d["label"]), float(d["score"]), float(d["x0"]), float(d["y0"]), float(d["x1"]), float(d["y1"]))

    def clipped(self, width: int, height: int) -> Box:
        def c(v: float, hi: int) -> float:
            return float(min(max(v, 0.0), float(hi)))

        return Box(self.label, self.score, c(self.x0, width), c(self.y0, height), c(self.x1, width), c(self.y1, height))


def intersection(a: Box, b: Box) -> float:
    w = min(a.x1, b.x1) - max(a.x0, b.x0)
    h = min(a.y1, b.y1) - max(a.y0, b.y0)
    return w * h if w > 0 and h > 0 else 0.0


def iou(a: Box, b: Box) -> float:
    inter = intersection(a, b)
    union = a.area + b.area - inter
    return inter / union if union > 0 else 0.0


def nms(boxes: Iterable[Box], iou_threshold: float | None) -> list[Box]:
    """Greedy per-label non-maximum suppression (highest score first); None or <= 0 disables it.

    The survivors keep the input order, so the caller's ordering is not disturbed.
    """
    boxes = list(boxes)
    if not iou_threshold or iou_threshold <= 0:
        return boxes
    order = sorted(range(len(boxes)), key=lambda i: -boxes[i].score)
    kept: list[int] = []
    for i in order:
        if all(boxes[j].label != boxes[i].label or iou(boxes[i], boxes[j]) <= iou_threshold for j in kept):
            kept.append(i)
    return [boxes[i] for i in sorted(kept)]


def boxes_to_dicts(boxes: Sequence[Box]) -> list[dict[str, Any]]:
    return [b.to_dict() for b in boxes]
