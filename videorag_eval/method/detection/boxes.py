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
    """Overlap area of two boxes in pixels (0 when they only touch); the scene graph's test for contact."""
    w = min(a.x1, b.x1) - max(a.x0, b.x0)
    h = min(a.y1, b.y1) - max(a.y0, b.y0)
    return w * h if w > 0 and h > 0 else 0.0


def _tensor(boxes: Sequence[Box]):
    import torch

    return torch.tensor([[b.x0, b.y0, b.x1, b.y1] for b in boxes], dtype=torch.float64).reshape(-1, 4)


def iou_matrix(a: Sequence[Box], b: Sequence[Box]) -> list[list[float]]:
    """Intersection over union of every box of ``a`` with every box of ``b`` (``torchvision.ops.box_iou``);
    a pair whose union is empty (two zero-area boxes) has IoU 0."""
    if not a or not b:
        return [[] for _ in a]
    from torchvision.ops import box_iou

    return box_iou(_tensor(a), _tensor(b)).nan_to_num(0.0).tolist()


def iou(a: Box, b: Box) -> float:
    return iou_matrix([a], [b])[0][0]


def nms(boxes: Iterable[Box], iou_threshold: float | None) -> list[Box]:
    """Per-label non-maximum suppression (``torchvision.ops.batched_nms``): a box is dropped when it
    overlaps a higher-scored box *of the same label* with IoU > ``iou_threshold``; boxes of different
    labels never suppress each other. None or <= 0 disables it.

    Equal scores are resolved in input order (the earlier box wins), and the survivors keep the input
    order, so the caller's ordering is not disturbed.
    """
    boxes = list(boxes)
    if not iou_threshold or iou_threshold <= 0 or len(boxes) < 2:
        return boxes
    import torch
    from torchvision.ops import batched_nms

    # Rank by (score desc, input position): batched_nms then sees strictly decreasing scores and
    # its result does not depend on how torch sorts ties.
    order = sorted(range(len(boxes)), key=lambda i: (-boxes[i].score, i))
    ranked = [boxes[i] for i in order]
    label_ids = {label: k for k, label in enumerate(dict.fromkeys(b.label for b in ranked))}
    keep = batched_nms(_tensor(ranked), torch.arange(len(ranked), 0, -1, dtype=torch.float64),
                       torch.tensor([label_ids[b.label] for b in ranked]), float(iou_threshold))
    return [boxes[i] for i in sorted(order[k] for k in keep.tolist())]


def boxes_to_dicts(boxes: Sequence[Box]) -> list[dict[str, Any]]:
    return [b.to_dict() for b in boxes]
