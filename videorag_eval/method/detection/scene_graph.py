"""Scene-graph text of one keyframe's detections, by the requested TYPE.

Objects are numbered 1..n in the order given (the pipeline orders them left to right, then top to
bottom). Coordinates are integer pixels of the original frame (rounded). The exact wording:

``location`` -- one line per object::

    Object 1: red circle, top-left (60, 132), size 29x29 px

``relation`` -- one line per pair (i < j) of objects::

    Object 1 (red circle) is left of Object 2 (blue square)
    Object 1 (red circle) is left of and above Object 3 (red circle)
    Object 2 (blue square) overlaps Object 3 (red circle)

  Relations from the boxes (``a`` relative to ``b``): ``overlaps`` when the boxes intersect with a
  positive area; otherwise ``left of`` (a.x1 <= b.x0), ``right of`` (a.x0 >= b.x1), ``above``
  (a.y1 <= b.y0), ``below`` (a.y0 >= b.y1) -- every pair gets at least one. Canonical order:
  overlaps, left of, right of, above, below. ``relation_mode="all"`` (default) states all of
  them; ``relation_mode="last"`` keeps only the last one in that order (so "above"/"below" wins
  over "left of"/"right of"), reproducing the official code, where each relation overwrote the
  previous one for the pair.

``number`` -- one line per label, in order of first appearance::

    Number of red circle: 3

A keyframe's text is its lines, in the order location, relation, number (whatever the order
of the request), joined with ``"; "`` so that it stays on one line of the prompt.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from ...core.records import TYPES, canonical_type
from .boxes import Box, intersection

RELATION_MODES = ("all", "last")
RELATIONS = ("overlaps", "left of", "right of", "above", "below")
SEPARATOR = "; "


def normalise_types(types: Iterable[str] | None) -> tuple[list[str], list[str]]:
    """(known types in canonical order, unknown entries) of a TYPE request; aliases accepted."""
    found, unknown = set(), []
    for t in types or []:
        key = canonical_type(t)
        if key is None:
            unknown.append(str(t))
        else:
            found.add(key)
    return [t for t in TYPES if t in found], unknown


def _px(v: float) -> int:
    return round(v)


def location_lines(boxes: Sequence[Box]) -> list[str]:
    out = []
    for i, b in enumerate(boxes, 1):
        w, h = _px(b.x1) - _px(b.x0), _px(b.y1) - _px(b.y0)
        out.append(f"Object {i}: {b.label}, top-left ({_px(b.x0)}, {_px(b.y0)}), size {w}x{h} px")
    return out


def relations(a: Box, b: Box) -> list[str]:
    """All relations of ``a`` relative to ``b``, in canonical order (see module docstring)."""
    if intersection(a, b) > 0:
        return ["overlaps"]
    out = []
    if a.x1 <= b.x0:
        out.append("left of")
    if a.x0 >= b.x1:
        out.append("right of")
    if a.y1 <= b.y0:
        out.append("above")
    if a.y0 >= b.y1:
        out.append("below")
    return out


def _phrase(rels: list[str]) -> str:
    if rels == ["overlaps"]:
        return "overlaps"
    return "is " + " and ".join(rels)


def relation_lines(boxes: Sequence[Box], mode: str = "all") -> list[str]:
    if mode not in RELATION_MODES:
        raise ValueError(f"relation_mode must be one of {RELATION_MODES}, got {mode!r}")
    out = []
    for i in range(len(boxes)):
        for j in range(i + 1, len(boxes)):
            rels = relations(boxes[i], boxes[j])
            if not rels:
                continue
            if mode == "last":
                rels = rels[-1:]
            out.append(f"Object {i + 1} ({boxes[i].label}) {_phrase(rels)} Object {j + 1} ({boxes[j].label})")
    return out


def number_lines(boxes: Sequence[Box]) -> list[str]:
    counts: dict[str, int] = {}
    for b in boxes:
        counts[b.label] = counts.get(b.label, 0) + 1
    return [f"Number of {label}: {n}" for label, n in counts.items()]


def scene_graph_lines(boxes: Sequence[Box], types: Iterable[str], relation_mode: str = "all") -> list[str]:
    wanted, _ = normalise_types(types)
    lines: list[str] = []
    if not boxes:
        return lines
    if "location" in wanted:
        lines += location_lines(boxes)
    if "relation" in wanted:
        lines += relation_lines(boxes, relation_mode)
    if "number" in wanted:
        lines += number_lines(boxes)
    return lines


def scene_graph_text(boxes: Sequence[Box], types: Iterable[str], relation_mode: str = "all") -> str:
    """One keyframe's scene-graph text ("" when there is nothing to say)."""
    return SEPARATOR.join(scene_graph_lines(boxes, types, relation_mode))
