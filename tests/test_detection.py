"""The DET branch without neural models: entity cleaning, keyframe rules, the colour-blob detector,
and the whole pipeline on the bundled demo videos (offline)."""

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from videorag_eval.store.cache import Cache
from videorag_eval.method.detection.blobs import ColourBlobDetector
from videorag_eval.method.detection.entities import clean_entities, entities_from_question, singularise
from videorag_eval.method.detection.keyframes import paper_ratio, select_from_scores
from videorag_eval.method.detection.pipeline import DetectionPipeline, DetSettings
from videorag_eval.method.prompt import render_det_block

REPO = Path(__file__).resolve().parent.parent
DEMO = REPO / "tasks" / "demo" / "data"
BG = (235, 235, 235)
RED, GREEN, BLUE, YELLOW = (220, 30, 30), (30, 170, 60), (30, 80, 220), (240, 200, 20)


# -- entities ----------------------------------------------------------------------------------

def test_import_is_light():
    code = (
        "import sys, videorag_eval.method.detection.pipeline, videorag_eval.method.detection.blobs, videorag_eval.method.prompt; "
        "print(sorted(m for m in ('torch', 'transformers', 'spacy') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=REPO)
    assert out.stdout.strip() == "[]"


def test_fallback_cleaner():
    got, cleaner = clean_entities(
        ["the two red circles on the left", "A man holding a cup", "3 Blue Squares", "boxes", "people",
         "berries", "knives", "red circle", "", None],
        cleaner="fallback",
    )
    assert cleaner == "fallback"
    assert got == ["red circle", "man", "blue square", "box", "person", "berry", "knife"]


def test_singularise():
    assert [singularise(w) for w in ["circles", "glass", "bus", "dishes", "toys", "tomatoes", "sheep"]] == [
        "circle", "glass", "bus", "dish", "toy", "tomato", "sheep"]


def test_entities_from_question_fallback():
    assert entities_from_question("How many red circles appear in the video?", cleaner="fallback") == ["red circle"]
    assert entities_from_question("Where is the dog relative to the sofa?", cleaner="fallback") == ["dog", "sofa"]
    assert entities_from_question(
        "What is the man holding at the beginning of the video?\nA. a cup\nB. a phone", cleaner="fallback") == ["man"]
    assert entities_from_question("What is the video mainly about?", cleaner="fallback") == []


def test_cleaner_choice():
    from videorag_eval.method.detection.entities import spacy_available

    _, used = clean_entities(["red circles"], cleaner="auto")
    assert used == ("spacy" if spacy_available() else "fallback")
    if not spacy_available():
        with pytest.raises(RuntimeError, match="spaCy"):
            clean_entities(["x"], cleaner="spacy")
    with pytest.raises(ValueError):
        clean_entities(["x"], cleaner="nltk")


def test_spacy_cleaner_when_installed():
    from videorag_eval.method.detection.entities import spacy_available

    if not spacy_available():
        pytest.skip("spaCy with an English small pipeline is not installed")
    got, cleaner = clean_entities(["the two red circles on the left", "man holding a cup", "red"], cleaner="spacy")
    assert cleaner == "spacy"
    assert got == ["red circle", "man", "red"]
    assert entities_from_question("How many red circles appear in the video?", cleaner="spacy") == ["red circle"]


# -- boxes: IoU and NMS (torchvision.ops) -----------------------------------------------------

def test_iou_values():
    from videorag_eval.method.detection.boxes import Box, iou, iou_matrix

    a, b = Box("x", 0.9, 0, 0, 10, 10), Box("x", 0.8, 5, 0, 15, 10)
    assert iou(a, b) == pytest.approx(50 / 150)
    assert iou(a, a) == 1.0
    assert iou(a, Box("x", 0.5, 10, 0, 20, 10)) == 0.0  # touching edges do not overlap
    assert iou(Box("x", 1, 3, 3, 3, 3), Box("x", 1, 3, 3, 3, 3)) == 0.0  # zero-area: no NaN
    assert iou_matrix([a, b], [b]) == [[pytest.approx(1 / 3)], [1.0]]
    assert iou_matrix([], [a]) == [] and iou_matrix([a], []) == [[]]


def test_nms_suppresses_same_label_only_and_keeps_input_order():
    from videorag_eval.method.detection.boxes import Box, nms

    weak = Box("cup", 0.6, 1, 1, 11, 11)  # IoU 0.68 with `strong`
    strong = Box("cup", 0.9, 0, 0, 10, 10)
    other = Box("plate", 0.5, 0, 0, 10, 10)  # same place, another label: both survive
    far = Box("cup", 0.3, 50, 50, 60, 60)
    assert nms([weak, strong, other, far], 0.5) == [strong, other, far]
    assert nms([weak, strong, other, far], 0.7) == [weak, strong, other, far]  # 0.68 <= 0.7: kept
    assert nms([weak, strong, other, far], None) == [weak, strong, other, far]
    assert nms([weak, strong], 0) == [weak, strong]
    assert nms([], 0.5) == [] and nms([weak], 0.5) == [weak]
    # A suppressed box suppresses nothing: c overlaps b (dropped by a) but not a, so c stays.
    a, b, c = Box("k", 0.9, 0, 0, 10, 10), Box("k", 0.8, 4, 0, 14, 10), Box("k", 0.7, 9, 0, 19, 10)
    assert nms([c, b, a], 0.3) == [c, a]
    # Equal scores: the earlier box wins, whatever the sort does.
    t1, t2 = Box("k", 0.5, 0, 0, 10, 10), Box("k", 0.5, 1, 0, 11, 10)
    assert nms([t1, t2], 0.5) == [t1] and nms([t2, t1], 0.5) == [t2]


def test_nms_matches_greedy_definition_on_random_boxes():
    """Against the textbook definition: highest score first, drop same-label boxes with IoU > t."""
    from videorag_eval.method.detection.boxes import Box, nms

    def greedy(boxes, t):
        def overlap(p, q):
            w = max(0.0, min(p.x1, q.x1) - max(p.x0, q.x0))
            h = max(0.0, min(p.y1, q.y1) - max(p.y0, q.y0))
            union = p.area + q.area - w * h
            return w * h / union if union > 0 else 0.0

        kept = []
        for i in sorted(range(len(boxes)), key=lambda i: (-boxes[i].score, i)):
            if all(boxes[j].label != boxes[i].label or overlap(boxes[i], boxes[j]) <= t for j in kept):
                kept.append(i)
        return [boxes[i] for i in sorted(kept)]

    rng = np.random.default_rng(0)
    for trial in range(50):
        n = int(rng.integers(2, 40))
        xy = rng.uniform(0, 80, (n, 2))
        wh = rng.uniform(1, 40, (n, 2))
        boxes = [Box(str(rng.choice(["a", "b", "c"])), float(rng.choice([0.2, 0.5, rng.uniform()])),
                     *map(float, xy[i]), *map(float, xy[i] + wh[i])) for i in range(n)]
        t = float(rng.choice([0.1, 0.3, 0.5, 0.7]))
        assert nms(boxes, t) == greedy(boxes, t), trial


# -- keyframe rules ----------------------------------------------------------------------------

def test_paper_rule_ratio_and_selection():
    assert paper_ratio(3.0) == pytest.approx(1.6)
    assert paper_ratio(4.0) == pytest.approx(1.2)
    idx = list(range(0, 80, 10))
    scores = [1.0] * 6 + [1.7, 2.0]  # mean 1.2125
    kf, thr = select_from_scores(idx, scores, "paper", beta=3.0)
    assert kf == [70] and thr == pytest.approx(1.6 * 1.2125)
    kf, thr = select_from_scores(idx, scores, "paper", beta=4.0)
    assert kf == [60, 70] and thr == pytest.approx(1.2 * 1.2125)
    # Flat scores (the usual CLIP case): nothing passes 1.6x the mean.
    assert select_from_scores(idx, [0.25] * 8, "paper", beta=3.0)[0] == []


def test_top_k_rule():
    idx = [0, 10, 20, 30, 40]
    assert select_from_scores(idx, [0.1, 0.5, 0.3, 0.5, 0.2], "top_k", top_k=3)[0] == [10, 20, 30]
    assert select_from_scores(idx, [0.2] * 5, "top_k", top_k=2)[0] == [0, 10]  # ties: earlier first
    assert select_from_scores(idx[:2], [0.1, 0.2], "top_k", top_k=3)[0] == [0, 10]
    assert select_from_scores(idx, [0.1] * 5, "top_k", top_k=0)[0] == [0]  # at least one
    assert select_from_scores([], [], "top_k", top_k=3)[0] == []


# -- colour blobs ------------------------------------------------------------------------------

def draw_frame(seed=0):
    """480x270 demo-like frame: 3 red circles, 2 blue squares, 1 green circle, banners with text."""
    from PIL import Image, ImageDraw

    img = Image.new("RGB", (480, 270), BG)
    d = ImageDraw.Draw(img)
    d.rectangle([0, 0, 479, 47], fill=(255, 255, 255))
    d.text((40, 14), "LUNCH MENU: PANCAKES 123", fill=(20, 20, 20))
    d.rectangle([0, 222, 479, 269], fill=(255, 255, 255))
    d.text((80, 236), "GIFT SHOP CLOSED", fill=(20, 20, 20))
    d.rectangle([400, 60, 440, 100], fill=(128, 128, 128))  # a grey square: not a palette colour
    d.rectangle([440, 150, 470, 180], fill=(10, 10, 10))  # a black square
    for x, y, r in [(60, 140, 15), (200, 100, 18), (330, 170, 12)]:
        d.ellipse([x - r, y - r, x + r, y + r], fill=RED)
    d.rectangle([120, 60, 151, 91], fill=BLUE)
    d.rectangle([250, 150, 275, 175], fill=BLUE)
    d.ellipse([100, 170, 136, 206], fill=GREEN)
    arr = np.asarray(img).astype(np.int16)
    noise = np.random.default_rng(seed).integers(-8, 9, arr.shape)  # codec-like noise
    return np.clip(arr + noise, 0, 255).astype(np.uint8)


def counts(boxes):
    out = {}
    for b in boxes:
        out[b.label] = out.get(b.label, 0) + 1
    return out


def test_colour_blobs_counts_and_banners_ignored():
    frame = draw_frame()
    det = ColourBlobDetector()
    [boxes] = det.detect([frame], ["red circle", "blue square", "green square", "yellow circle"])
    assert counts(boxes) == {"red circle": 3, "blue square": 2}
    # Every box lies in the object zone (never on a banner) and in frame pixels.
    assert all(48 <= b.y0 < b.y1 <= 222 and 0 <= b.x0 < b.x1 <= 480 for b in boxes)
    blue = sorted((b for b in boxes if b.label == "blue square"), key=lambda b: b.x0)
    assert (blue[0].x0, blue[0].y0, blue[0].x1, blue[0].y1) == (120, 60, 152, 92)
    assert all(0.1 < b.score <= 1 for b in boxes)


def test_colour_blobs_phrases():
    frame = draw_frame()
    det = ColourBlobDetector()
    assert counts(det.detect([frame], ["circle"])[0]) == {"circle": 4}
    assert counts(det.detect([frame], ["red shape"])[0]) == {"red shape": 3}
    assert counts(det.detect([frame], ["blue"])[0]) == {"blue": 2}
    assert counts(det.detect([frame], ["squares"])[0]) == {"squares": 2}
    assert det.detect([frame], ["person", "red car", "triangle", "text", "banner"]) == [[]]
    # The most specific phrase labels a blob, whatever the order of the list.
    a = counts(det.detect([frame], ["circle", "red circle"])[0])
    b = counts(det.detect([frame], ["red circle", "circle"])[0])
    assert a == b == {"red circle": 3, "circle": 1}


def test_colour_blobs_are_4_connected():
    """Two squares touching only at a corner are two blobs; sharing an edge they are one rectangle."""
    frame = np.full((60, 80, 3), BG, dtype=np.uint8)
    frame[10:20, 10:20] = RED
    frame[20:30, 20:30] = RED  # corner to corner with the first
    blobs = ColourBlobDetector(min_area=10).blobs(frame)
    assert [(b["colour"], b["shape"], b["box"]) for b in blobs] == [
        ("red", "square", (10, 10, 20, 20)), ("red", "square", (20, 20, 30, 30))]
    frame[20:30, 10:20] = BLUE  # other colours never merge with red
    frame[10:20, 20:30] = RED  # now the red pixels form an L: one blob, filling 3/4 of its box
    blobs = ColourBlobDetector(min_area=10).blobs(frame)
    assert [(b["colour"], b["box"], b["fill"]) for b in blobs] == [("red", (10, 10, 30, 30), 0.75),
                                                                   ("blue", (10, 20, 20, 30), 1.0)]


def test_colour_blobs_component_pixels():
    """Area and score come from each component's own pixels (scipy.ndimage.label + find_objects)."""
    frame = draw_frame(seed=1)
    blobs = ColourBlobDetector().blobs(frame)
    assert len(blobs) == 6
    assert sorted((b["colour"], b["shape"]) for b in blobs) == [
        ("blue", "square"), ("blue", "square"), ("green", "circle"), ("red", "circle"), ("red", "circle"),
        ("red", "circle")]
    assert all(0.75 < b["fill"] < 0.82 for b in blobs if b["shape"] == "circle")  # pi/4 ~ 0.785
    assert all(b["fill"] > 0.97 for b in blobs if b["shape"] == "square")


def test_colour_blobs_min_area_and_threshold():
    frame = np.full((100, 100, 3), BG, dtype=np.uint8)
    frame[10:15, 10:15] = RED  # 25 px: below min_area
    frame[50:80, 50:80] = RED
    assert len(ColourBlobDetector().detect([frame], ["red square"])[0]) == 1
    assert ColourBlobDetector(threshold=0.999).detect([frame], ["red square"])[0][0].score == 1.0
    assert ColourBlobDetector(min_area=10).detect([frame], ["red square"])[0].__len__() == 2


# -- pipeline (offline: colour blobs, every frame a keyframe) -----------------------------------

OFFLINE = {
    "entity_cleaner": "fallback",
    "keyframes": {"rule": "all"},
    "detector": {"kind": "colour_blobs", "model": None},
    "relation_mode": "all",
    "on_null_type": "all",
    "device": "cpu",
}


def demo_video(n=4):
    from videorag_eval.method.media import sample_frames

    path = DEMO / "data" / "demo_001.mp4"
    return path, sample_frames(path, n)


def test_pipeline_offline_demo(tmp_path, monkeypatch):
    path, frames = demo_video(4)
    cache = Cache(tmp_path)
    calls = []
    from videorag_eval.method import media

    real = media.read_frames
    monkeypatch.setattr(media, "read_frames", lambda p, idx: calls.append(list(idx)) or real(p, idx))
    pipe = DetectionPipeline(OFFLINE, cache)
    res = pipe.run(str(path), "demo001", frames, ["the three red circles", "blue squares"], ["number"])
    assert res.entities == ["red circle", "blue square"] and res.cleaner == "fallback"
    assert res.keyframes == list(frames.indices)
    assert len(res.docs) == 4 and calls == [list(frames.indices)]
    for doc, idx, ts in zip(res.docs, frames.indices, frames.timestamps):
        assert doc.source == "det" and doc.frame_index == idx and doc.start == doc.end == ts
        assert doc.text == "Number of red circle: 3; Number of blue square: 2"
    assert all(len(res.boxes[i]) == 5 for i in frames.indices)
    assert all(res.frame_sizes[i] == [270, 480] for i in frames.indices)
    block = render_det_block(res.docs, len(frames.indices))
    assert block.splitlines()[0] == "The video has 4 frames. Detected objects in specific frames:"
    assert block.splitlines()[1] == f"Frame 1 (0s): {res.docs[0].text}"
    json.dumps(res.to_dict())

    # Second run: everything comes from the cache, nothing is decoded.
    res2 = DetectionPipeline(OFFLINE, cache).run(str(path), "demo001", frames, ["red circle", "blue square"], ["number"])
    assert [d.text for d in res2.docs] == [d.text for d in res.docs] and res2.boxes == res.boxes
    assert calls == [list(frames.indices)]
    assert cache.stats["detections.hit"] == 4


def test_pipeline_demo_counts_match_manifest(tmp_path):
    """The colour-blob detector counts every demo video's shapes exactly, on the decoded frames."""
    manifest = json.loads((DEMO / "manifest.json").read_text())
    from videorag_eval.method.media import sample_frames

    pipe = DetectionPipeline(OFFLINE, Cache(tmp_path))
    for video in manifest["videos"][:4]:
        path = DEMO / video["file"]
        frames = sample_frames(path, 3)
        truth = {f"{o['colour']} {o['shape']}": o["count"] for o in video["objects"]}
        res = pipe.run(str(path), video["videoID"], frames, list(truth), ["number"])
        for i in frames.indices:
            got = {}
            for b in res.boxes[i]:
                got[b["label"]] = got.get(b["label"], 0) + 1
            assert got == truth, (video["videoID"], i)


def test_pipeline_types(tmp_path):
    path, frames = demo_video(2)
    cache = Cache(tmp_path)
    res = DetectionPipeline(OFFLINE, cache).run(str(path), "demo001", frames, ["blue square"], None)
    assert res.types == ["location", "relation", "number"]
    assert any("official code emits nothing" in n for n in res.notes)
    assert res.docs[0].text.startswith("Object 1: blue square, top-left (")
    assert "Object 1 (blue square) is " in res.docs[0].text and res.docs[0].text.endswith("Number of blue square: 2")

    none = dict(OFFLINE, on_null_type="none")
    res = DetectionPipeline(none, cache).run(str(path), "demo001", frames, ["blue square"], None)
    assert res.docs == [] and res.keyframes == [] and any("as the official code" in n for n in res.notes)
    res = DetectionPipeline(none, cache).run(str(path), "demo001", frames, ["blue square"], ["Location", "colour"])
    assert res.types == ["location"] and len(res.docs) == 2
    assert any("unknown TYPE" in n for n in res.notes)

    res = DetectionPipeline(OFFLINE, cache).run(str(path), "demo001", frames, ["the", "3"], ["number"])
    assert res.entities == [] and res.docs == [] and any("no entities" in n for n in res.notes)
    res = DetectionPipeline(OFFLINE, cache).run(str(path), "demo001", frames, ["green triangle"], ["number"])
    assert res.docs == [] and any("no object detected" in n for n in res.notes)


def test_pipeline_max_objects_and_relation_mode(tmp_path):
    path, frames = demo_video(1)
    cfg = dict(OFFLINE, max_objects=2, relation_mode="last")
    res = DetectionPipeline(cfg, Cache(tmp_path)).run(str(path), "demo001", frames, ["red circle", "blue square"],
                                                     ["relation", "number"])
    text = res.docs[0].text
    assert text.count("Object 1 (") == 1 and "Object 3" not in text  # two objects: one pair
    assert " and " not in text
    assert len(res.boxes[frames.indices[0]]) == 5  # the record keeps every box


def test_settings_defaults_and_validation():
    s = DetSettings.from_cfg({})
    assert (s.rule, s.beta, s.top_k, s.detector, s.detector_model, s.threshold, s.batch_size) == (
        "paper", 3.0, 3, "owlv2", "google/owlv2-base-patch16-ensemble", 0.1, 4)
    assert (s.relation_mode, s.on_null_type, s.entity_cleaner, s.clip_model, s.nms_iou, s.max_objects) == (
        "all", "all", "auto", "openai/clip-vit-large-patch14-336", 0.5, None)
    # Switching the kind while the model is left at another kind's default picks the kind's default.
    s = DetSettings.from_cfg({"detector": {"kind": "grounding_dino", "model": "google/owlv2-base-patch16-ensemble"}})
    assert s.detector_model == "IDEA-Research/grounding-dino-tiny"
    for bad in ({"keyframes": {"rule": "best"}}, {"detector": {"kind": "yolo"}}, {"relation_mode": "first"},
                {"on_null_type": "some"}, {"keyframes": {"beta": 0}}, {"detector": {"threshold": 1.5}}):
        with pytest.raises(ValueError):
            DetSettings.from_cfg(bad)


def test_settings_from_omegaconf():
    from omegaconf import OmegaConf

    cfg = OmegaConf.create({"device": "cpu", "det": {"keyframes": {"rule": "top_k", "top_k": 2},
                                                     "detector": {"kind": "colour_blobs", "model": None},
                                                     "device": "${device}"}})
    s = DetSettings.from_cfg(cfg.det)
    assert (s.rule, s.top_k, s.detector, s.detector_model, s.device) == ("top_k", 2, "colour_blobs", None, "cpu")
