"""``ColourBlobDetector``: a simple, fully offline detector for the synthetic demo benchmark only.

The demo videos (``tasks/demo/generate.py``) draw solid circles and squares in four exact colours
on a light-grey background, with black-on-white text banners. This detector finds them without
any model, so the whole DET branch (keyframes -> detections -> scene graph -> prompt) runs with no
downloads. It is never a default for real benchmarks: on real videos it would find nothing
meaningful.

How it works, per frame:

1. every pixel within ``tolerance`` (Euclidean RGB distance, default 60) of a palette colour --
   red (220,30,30), green (30,170,60), blue (30,80,220), yellow (240,200,20) -- is assigned to the
   nearest one; greys, black and white (background, banners, text) are never within tolerance;
2. 4-connected components per colour (``scipy.ndimage.label``): shapes that touch only at a corner
   are two blobs;
3. components smaller than ``min_area`` pixels (default 50) are dropped (codec speckle);
4. the shape is classified by the fill ratio ``area / (bbox width * bbox height)``: a square fills
   ~1.0 of its box, a disc ~0.785 (pi/4); the cut is ``fill_cut`` (default 0.89, the midpoint);
5. the score is ``1 - mean colour distance / tolerance`` of the component's pixels (~0.9-1.0
   for the solid shapes).

Entity phrases it answers (case-insensitive, plural or singular): a colour word and/or a shape word
-- "red circle", "blue squares", "circle" (any colour), "red shape" / "red object" (any shape),
"yellow". Shape words: circle, disc, disk, dot, ball, round -> circle; square, box, block,
rectangle -> square; shape, object, blob, thing -> any shape. A phrase with any other noun
("person", "red car", "triangle") matches nothing. When several phrases match one blob, the box is
labelled with the most specific one (colour and shape > one of them), ties broken alphabetically,
so the result does not depend on the order of the entity list.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from .boxes import Box
from .entities import singularise

PALETTE: dict[str, tuple[int, int, int]] = {
    "red": (220, 30, 30),
    "green": (30, 170, 60),
    "blue": (30, 80, 220),
    "yellow": (240, 200, 20),
}
SHAPE_WORDS = {
    "circle": "circle", "disc": "circle", "disk": "circle", "dot": "circle", "ball": "circle", "round": "circle",
    "square": "square", "box": "square", "block": "square", "rectangle": "square",
}
ANY_SHAPE_WORDS = {"shape", "object", "blob", "thing", "item", "figure"}
_FILLER = {"a", "an", "the", "coloured", "colored", "solid", "filled", "of", "color", "colour"}


def parse_query(phrase: str) -> tuple[str | None, str | None] | None:
    """(colour or None, shape or None) that a phrase asks for, or None if it is not about our shapes."""
    words = [singularise(w) for w in str(phrase).lower().replace("-", " ").split()]
    colour = shape = None
    known = False
    for w in words:
        if w in PALETTE:
            colour, known = w, True
        elif w in SHAPE_WORDS:
            shape, known = SHAPE_WORDS[w], True
        elif w in ANY_SHAPE_WORDS:
            known = True
        elif w in _FILLER:
            continue
        else:
            return None
    return (colour, shape) if known else None


def _components(mask) -> list[tuple[Any, Any]]:
    """4-connected components of a boolean mask as (ys, xs) pixel arrays, in label order (row-major
    order of each component's first pixel)."""
    import numpy as np
    from scipy import ndimage

    labels, n = ndimage.label(mask)  # the default structure: 4-connectivity in 2-D
    out = []
    for label, box in enumerate(ndimage.find_objects(labels), 1):
        if box is None:
            continue
        ys, xs = np.nonzero(labels[box] == label)
        out.append((ys + box[0].start, xs + box[1].start))
    return out


class ColourBlobDetector:
    """Solid palette-coloured circles/squares on a light background (the offline demo's detector)."""

    kind = "colour_blobs"

    def __init__(self, threshold: float = 0.1, tolerance: float = 60.0, min_area: int = 50, fill_cut: float = 0.89):
        self.threshold = float(threshold)
        self.tolerance = float(tolerance)
        self.min_area = int(min_area)
        self.fill_cut = float(fill_cut)
        self.loaded = True  # nothing to load

    @property
    def identity(self) -> dict[str, Any]:
        return {
            "detector": self.kind, "version": 1, "model": None, "threshold": self.threshold,
            "tolerance": self.tolerance, "min_area": self.min_area, "fill_cut": self.fill_cut,
            "palette": PALETTE,
        }

    def blobs(self, frame) -> list[dict[str, Any]]:
        """Every palette blob of one RGB frame: colour, shape, fill, score, box (x0, y0, x1, y1)."""
        import numpy as np

        img = np.asarray(frame)[..., :3].astype(np.int32)
        names = list(PALETTE)
        cols = np.array([PALETTE[n] for n in names], dtype=np.int32)
        d2 = ((img[:, :, None, :] - cols[None, None, :, :]) ** 2).sum(-1)  # H x W x K
        nearest = d2.argmin(-1)
        dist = np.sqrt(d2.min(-1))
        within = dist <= self.tolerance
        out = []
        for k, name in enumerate(names):
            for ys, xs in _components(within & (nearest == k)):
                area = int(ys.size)
                if area < self.min_area:
                    continue
                x0, x1, y0, y1 = int(xs.min()), int(xs.max()) + 1, int(ys.min()), int(ys.max()) + 1
                fill = area / float((x1 - x0) * (y1 - y0))
                score = float(max(0.0, 1.0 - dist[ys, xs].mean() / self.tolerance))
                out.append({
                    "colour": name, "shape": "square" if fill >= self.fill_cut else "circle",
                    "fill": round(fill, 3), "score": round(score, 4), "box": (x0, y0, x1, y1),
                })
        out.sort(key=lambda b: (b["box"][0], b["box"][1]))
        return out

    def detect(self, frames: Sequence, entities: Sequence[str]) -> list[list[Box]]:
        queries = [(e, parse_query(e)) for e in entities]
        queries = [(e, q) for e, q in queries if q is not None]
        results = []
        for frame in frames:
            boxes = []
            if queries:
                for blob in self.blobs(frame):
                    if blob["score"] <= self.threshold:
                        continue
                    matches = [
                        (-(c is not None) - (s is not None), e)
                        for e, (c, s) in queries
                        if (c is None or c == blob["colour"]) and (s is None or s == blob["shape"])
                    ]
                    if not matches:
                        continue
                    label = min(matches)[1]
                    x0, y0, x1, y1 = blob["box"]
                    boxes.append(Box(label, blob["score"], float(x0), float(y0), float(x1), float(y1)))
            results.append(boxes)
        return results
