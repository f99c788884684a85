"""Exact wording of the DET scene graph and of the DET prompt block."""

import pytest

from videorag_eval.method.detection.boxes import Box
from videorag_eval.method.detection.pipeline import DetDoc
from videorag_eval.method.prompt import render_det_block
from videorag_eval.method.detection.scene_graph import (
    normalise_types,
    scene_graph_text,
    relation_lines,
    relations,
)
from videorag_eval.core.records import AuxDoc

# Three objects, already in left-to-right order:
#   1 red circle   x 10..40,  y 20..50
#   2 blue square  x 60..90,  y 80..110   (right of and below 1)
#   3 red circle   x 80..120, y 90..130   (overlaps 2; right of and below 1)
BOXES = [
    Box("red circle", 0.9, 10.0, 20.0, 40.0, 50.0),
    Box("blue square", 0.8, 60.4, 79.6, 90.0, 110.0),
    Box("red circle", 0.7, 80.0, 90.0, 120.0, 130.0),
]


def test_location_lines():
    text = scene_graph_text(BOXES, ["location"])
    assert text == (
        "Object 1: red circle, top-left (10, 20), size 30x30 px; "
        "Object 2: blue square, top-left (60, 80), size 30x30 px; "
        "Object 3: red circle, top-left (80, 90), size 40x40 px"
    )


def test_relation_lines_all_and_last():
    assert relation_lines(BOXES, "all") == [
        "Object 1 (red circle) is left of and above Object 2 (blue square)",
        "Object 1 (red circle) is left of and above Object 3 (red circle)",
        "Object 2 (blue square) overlaps Object 3 (red circle)",
    ]
    # The official code kept only the last relation computed for a pair.
    assert relation_lines(BOXES, "last") == [
        "Object 1 (red circle) is above Object 2 (blue square)",
        "Object 1 (red circle) is above Object 3 (red circle)",
        "Object 2 (blue square) overlaps Object 3 (red circle)",
    ]
    with pytest.raises(ValueError):
        relation_lines(BOXES, "first")


def test_relations_every_direction_and_touching_boxes():
    a = Box("a", 1, 0, 0, 10, 10)
    assert relations(a, Box("b", 1, 10, 0, 20, 10)) == ["left of"]  # touching edges do not overlap
    assert relations(Box("b", 1, 10, 0, 20, 10), a) == ["right of"]
    assert relations(a, Box("b", 1, 0, 30, 10, 40)) == ["above"]
    assert relations(Box("b", 1, 0, 30, 10, 40), a) == ["below"]
    assert relations(Box("b", 1, 20, 20, 30, 30), a) == ["right of", "below"]
    assert relations(a, Box("b", 1, 5, 5, 15, 15)) == ["overlaps"]


def test_number_lines_and_canonical_order():
    assert scene_graph_text(BOXES, ["number"]) == "Number of red circle: 2; Number of blue square: 1"
    # Whatever the request's order, sections come as location, relation, number.
    text = scene_graph_text(BOXES[:2], ["number", "relation", "location"], relation_mode="last")
    assert text == (
        "Object 1: red circle, top-left (10, 20), size 30x30 px; "
        "Object 2: blue square, top-left (60, 80), size 30x30 px; "
        "Object 1 (red circle) is above Object 2 (blue square); "
        "Number of red circle: 1; Number of blue square: 1"
    )


def test_empty_and_single():
    assert scene_graph_text([], ["location", "relation", "number"]) == ""
    assert scene_graph_text(BOXES[:1], ["relation"]) == ""  # no pair
    assert scene_graph_text(BOXES, []) == ""


def test_normalise_types():
    assert normalise_types(["Number", "locations", "relationship", "colour"]) == (
        ["location", "relation", "number"], ["colour"])
    assert normalise_types(None) == ([], [])
    assert normalise_types(["count"]) == (["number"], [])


def test_render_det_block():
    docs = [
        DetDoc("det", "Number of red circle: 3", 12.5, 12.5, frame_index=50, position=3),
        DetDoc("det", "Number of red circle: 2", 4.0, 4.0, frame_index=16, position=2),
    ]
    assert render_det_block(docs, 8) == (
        "The video has 8 frames. Detected objects in specific frames:\n"
        "Frame 2 (4s): Number of red circle: 2\n"
        "Frame 3 (12.5s): Number of red circle: 3"
    )
    # Plain AuxDocs: the position comes from the sampled indices.
    plain = [AuxDoc("det", "Number of cup: 1", 4.0, 4.0, frame_index=16)]
    assert render_det_block(plain, 4, frame_indices=[0, 16, 33, 50]) == (
        "The video has 4 frames. Detected objects in specific frames:\nFrame 2 (4s): Number of cup: 1"
    )
    assert render_det_block([], 8) == ""
