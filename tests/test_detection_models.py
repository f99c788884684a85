"""The DET branch's real model code paths (CLIP keyframes, OWLv2 detection, Grounding DINO) on tiny
random models built in-process from configs, saved with ``save_pretrained`` and loaded back with
``from_pretrained(path)`` exactly as hub checkpoints are. No network."""

import json
from pathlib import Path

import numpy as np
import pytest

from videorag_eval.store.cache import Cache
from videorag_eval.method.detection.detectors import Owlv2Detector
from videorag_eval.method.detection.keyframes import ClipKeyframes, select_from_scores
from videorag_eval.method.detection.pipeline import DetectionPipeline

REPO = Path(__file__).resolve().parent.parent
VIDEO = REPO / "tasks" / "demo" / "data" / "data" / "demo_001.mp4"


# -- tiny models -------------------------------------------------------------------------------

def byte_vocab() -> dict[str, int]:
    """A CLIP-style byte-level vocabulary with no merges: every byte, alone and word-final, then the
    special tokens at the end (OWLv2 treats a query whose first id is 0 as padding)."""
    printable = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1)) + list(range(ord("®"), 256))
    codes, extra = printable[:], 0
    for b in range(256):
        if b not in printable:
            codes.append(256 + extra)
            extra += 1
    chars = [chr(c) for c in codes]
    vocab = {ch: i for i, ch in enumerate(chars)}
    vocab.update({ch + "</w>": 256 + i for i, ch in enumerate(chars)})
    vocab["<|startoftext|>"] = 512
    vocab["<|endoftext|>"] = 513
    return vocab


def tokenizer(max_len: int):
    """A byte-level CLIP tokenizer with no merges, from vocab/merges files (transformers 4.x's CLIPTokenizer
    reads files; the locked environment is 4.57)."""
    import json
    import tempfile

    from transformers import CLIPTokenizer

    root = Path(tempfile.mkdtemp(prefix="tiny_clip_tokenizer_"))
    (root / "vocab.json").write_text(json.dumps(byte_vocab()), encoding="utf-8")
    (root / "merges.txt").write_text("#version: 0.2\n", encoding="utf-8")
    return CLIPTokenizer(vocab_file=str(root / "vocab.json"), merges_file=str(root / "merges.txt"),
                         model_max_length=max_len)


def text_config(max_positions: int) -> dict:
    return dict(vocab_size=514, hidden_size=32, intermediate_size=64, num_hidden_layers=2, num_attention_heads=2,
                max_position_embeddings=max_positions, bos_token_id=512, eos_token_id=513, pad_token_id=513)


def vision_config(image_size: int, patch: int) -> dict:
    return dict(image_size=image_size, patch_size=patch, hidden_size=32, intermediate_size=64, num_hidden_layers=2,
                num_attention_heads=2)


@pytest.fixture(scope="session")
def tiny_clip(tmp_path_factory) -> str:
    import torch
    from transformers import CLIPConfig, CLIPImageProcessor, CLIPModel, CLIPProcessor

    path = tmp_path_factory.mktemp("tiny_clip")
    torch.manual_seed(0)
    CLIPModel(CLIPConfig(text_config=text_config(32), vision_config=vision_config(32, 8), projection_dim=16)
              ).save_pretrained(path)
    images = CLIPImageProcessor(size={"shortest_edge": 32}, crop_size={"height": 32, "width": 32})
    CLIPProcessor(image_processor=images, tokenizer=tokenizer(32)).save_pretrained(path)
    return str(path)


@pytest.fixture(scope="session")
def tiny_owlv2(tmp_path_factory) -> str:
    import torch
    from transformers import (
        Owlv2Config,
        Owlv2ForObjectDetection,
        Owlv2ImageProcessor,
        Owlv2Processor,
    )

    path = tmp_path_factory.mktemp("tiny_owlv2")
    torch.manual_seed(0)
    # The class head compares image embeddings projected to the text width with the query
    # embeddings: projection_dim must equal the text hidden size (as 512/512 in the real model).
    model = Owlv2ForObjectDetection(Owlv2Config(text_config=text_config(16), vision_config=vision_config(64, 16),
                                                projection_dim=32))
    with torch.no_grad():  # random box heads predict degenerate (zero-width) boxes: tame the last layer
        model.box_head.dense2.weight.mul_(0.01)
        model.box_head.dense2.bias.zero_()
    model.save_pretrained(path)
    Owlv2Processor(image_processor=Owlv2ImageProcessor(size={"height": 64, "width": 64}),
                   tokenizer=tokenizer(16)).save_pretrained(path)
    return str(path)


def frames_of(*shapes, seed=0):
    rng = np.random.default_rng(seed)
    return [rng.integers(0, 256, (h, w, 3), dtype=np.uint8) for h, w in shapes]


def forbid_loading(monkeypatch):
    """Any model or processor construction from a checkpoint fails from now on."""
    import transformers

    def boom(*args, **kwargs):
        raise AssertionError("a model was loaded although everything was cached")

    for name in ("CLIPModel", "CLIPProcessor", "Owlv2ForObjectDetection", "Owlv2Processor"):
        monkeypatch.setattr(getattr(transformers, name), "from_pretrained", boom)
    from videorag_eval.method import media

    monkeypatch.setattr(media, "read_frames", lambda *a, **k: (_ for _ in ()).throw(AssertionError("decoded a frame")))


# -- OWLv2 -------------------------------------------------------------------------------------

def test_owlv2_boxes_in_original_frame_pixels(tiny_owlv2):
    """Boxes are relative to OWLv2's padded square: scaled by max(h, w), then clipped to the frame.
    Cross-checked against the library's own post-processing (transformers 5.x scales by the
    longer side too)."""
    import torch
    from transformers import Owlv2ForObjectDetection, Owlv2Processor

    shapes = [(48, 80), (90, 40), (60, 60)]
    frames = frames_of(*shapes)
    entities = ["red circle", "blue square"]
    det = Owlv2Detector(tiny_owlv2, threshold=0.0, batch_size=3, nms_iou=None)
    got = det.detect(frames, entities)
    assert det.loaded

    model = Owlv2ForObjectDetection.from_pretrained(tiny_owlv2).eval()
    proc = Owlv2Processor.from_pretrained(tiny_owlv2)
    with torch.inference_mode():
        out = model(**proc(text=[entities] * 3, images=frames, return_tensors="pt"))
    ref = proc.post_process_grounded_object_detection(out, threshold=0.0, target_sizes=shapes,
                                                      text_labels=[entities] * 3)
    for (h, w), boxes, r in zip(shapes, got, ref):
        assert boxes, "threshold 0 keeps the (non-degenerate) boxes"
        for b in boxes:
            assert 0 <= b.x0 <= b.x1 <= w and 0 <= b.y0 <= b.y1 <= h
            assert b.label in entities
        expected = []
        for label, score, xyxy in zip(r["text_labels"], r["scores"].tolist(), r["boxes"].tolist()):
            x0, y0, x1, y1 = (min(max(v, 0.0), hi) for v, hi in zip(xyxy, (w, h, w, h)))
            if (x1 - x0) * (y1 - y0) > 0 and round(score, 4) > 0:  # scores are compared rounded to 1e-4
                expected.append((label, round(score, 4), x0, y0, x1, y1))
        expected.sort(key=lambda e: -e[1])
        assert len(boxes) == len(expected)
        for b, e in zip(boxes, expected):
            assert b.label == e[0] and b.score == pytest.approx(e[1], abs=1e-4)
            assert (b.x0, b.y0, b.x1, b.y1) == pytest.approx(e[2:], abs=1e-3)


def test_owlv2_threshold_and_batching(tiny_owlv2):
    frames = frames_of((48, 80), (48, 80), (70, 50), (30, 30), seed=1)
    entities = ["red circle", "blue square", "cup"]
    everything = Owlv2Detector(tiny_owlv2, threshold=0.0, batch_size=4, nms_iou=None).detect(frames, entities)
    scores = sorted(b.score for boxes in everything for b in boxes)
    cut = scores[len(scores) // 2]
    assert 0 < cut < 1
    kept = Owlv2Detector(tiny_owlv2, threshold=cut, batch_size=4, nms_iou=None).detect(frames, entities)
    assert all(b.score > cut for boxes in kept for b in boxes)
    assert [len(k) for k in kept] == [sum(b.score > cut for b in e) for e in everything]
    # Batch size changes nothing.
    one = Owlv2Detector(tiny_owlv2, threshold=cut, batch_size=1, nms_iou=None).detect(frames, entities)
    assert [[(b.label, b.score) for b in k] for k in one] == [[(b.label, b.score) for b in k] for k in kept]
    # NMS only removes boxes.
    nmsed = Owlv2Detector(tiny_owlv2, threshold=cut, batch_size=4, nms_iou=0.3).detect(frames, entities)
    assert all(len(n) <= len(k) for n, k in zip(nmsed, kept))
    assert Owlv2Detector(tiny_owlv2).detect(frames[:1], []) == [[]]


# -- CLIP keyframes ----------------------------------------------------------------------------

def test_clip_keyframes_scores_rules_and_cache(tiny_clip, tmp_path, monkeypatch):
    from videorag_eval.method.media import read_frames, sample_frames

    frames = sample_frames(VIDEO, 6)
    decoded = []

    def decode(indices):
        decoded.append(list(indices))
        return read_frames(VIDEO, indices)

    cache = Cache(tmp_path)
    sel = ClipKeyframes(cache, tiny_clip, rule="top_k", top_k=2, batch_size=4).select("v1", frames, ["red circle", "blue square"],
                                                                                      decode)
    assert len(sel.keyframes) == 2 and set(sel.keyframes) <= set(frames.indices)
    assert sel.keyframes == sorted(sel.keyframes)
    assert set(sel.scores) == set(frames.indices) and all(-1 <= s <= 1 for s in sel.scores.values())
    assert set(sel.entity_scores) == {"red circle", "blue square"}
    assert sel.keyframes == select_from_scores(list(frames.indices), [sel.scores[i] for i in frames.indices], "top_k",
                                               top_k=2)[0]
    assert sorted(i for chunk in decoded for i in chunk) == list(frames.indices)
    assert cache.stats["clip_image.miss"] == 6
    # packed: the video's 6 image features in its one entry, each entity text in a shared text bucket
    packs = [p for p in tmp_path.rglob("*.pack")]
    assert len([p for p in packs if p.stem == "v1"]) == 1 and len(packs) <= 1 + 2

    # Paper rule from the same cached embeddings: no model, no decoding.
    forbid_loading(monkeypatch)
    paper = ClipKeyframes(cache, tiny_clip, rule="paper", beta=3.0).select("v1", frames, ["red circle", "blue square"],
                                                                           decode)
    assert paper.scores == pytest.approx(sel.scores)
    mean = sum(paper.scores.values()) / 6
    assert paper.threshold == pytest.approx(1.6 * mean)
    assert paper.keyframes == [i for i in frames.indices if paper.scores[i] > 1.6 * mean]
    if not paper.keyframes:
        assert "selected no frame" in paper.notes[0]
    assert len(decoded) == 2  # the first selection's two CLIP batches only


# -- the whole pipeline ------------------------------------------------------------------------

def test_pipeline_with_tiny_clip_and_owlv2(tiny_clip, tiny_owlv2, tmp_path, monkeypatch):
    from videorag_eval.method.media import sample_frames

    frames = sample_frames(VIDEO, 5)
    cfg = {
        "entity_cleaner": "fallback",
        "keyframes": {"rule": "top_k", "top_k": 2, "clip_model": tiny_clip},
        "detector": {"kind": "owlv2", "model": tiny_owlv2, "threshold": 0.3, "batch_size": 2},
        "device": "auto",
    }
    cache = Cache(tmp_path)
    pipe = DetectionPipeline(cfg, cache)
    assert pipe.loaded_models() == {"clip": False, "detector": False}
    res = pipe.run(str(VIDEO), "demo001", frames, ["the red circles", "a blue square"], ["location", "number"])
    assert pipe.loaded_models() == {"clip": True, "detector": True}
    assert res.entities == ["red circle", "blue square"]
    assert res.keyframe_rule == "top_k" and len(res.keyframes) == 2
    assert set(res.keyframe_scores) == set(frames.indices)
    assert res.detector["model"] == tiny_owlv2 and res.detector["threshold"] == 0.3
    assert set(res.boxes) == set(res.keyframes)
    for i in res.keyframes:
        assert res.frame_sizes[i] == [270, 480]
        for b in res.boxes[i]:
            assert b["score"] > 0.3 and b["label"] in res.entities
            assert 0 <= b["x0"] <= b["x1"] <= 480 and 0 <= b["y0"] <= b["y1"] <= 270
    with_boxes = [i for i in res.keyframes if res.boxes[i]]
    assert [d.frame_index for d in res.docs] == with_boxes
    for d in res.docs:
        p = list(frames.indices).index(d.frame_index)
        assert d.source == "det" and d.start == d.end == frames.timestamps[p] and d.position == p + 1
        assert d.text.startswith("Object 1: ") and "Number of " in d.text
    record = json.loads(json.dumps(res.to_dict()))
    assert record["keyframes"] == res.keyframes and record["cleaner"] == "fallback"

    # Second run, new pipeline: everything cached -> no model is constructed, no frame decoded.
    forbid_loading(monkeypatch)
    pipe2 = DetectionPipeline(cfg, cache)
    res2 = pipe2.run(str(VIDEO), "demo001", frames, ["red circle", "blue square"], ["location", "number"])
    assert pipe2.loaded_models() == {"clip": False, "detector": False}
    assert res2.keyframes == res.keyframes and res2.boxes == res.boxes
    assert [d.text for d in res2.docs] == [d.text for d in res.docs]
    assert cache.stats["detections.hit"] == 2

    # Another threshold is another cache entry: frames must be decoded and the detector run.
    other = dict(cfg, detector=dict(cfg["detector"], threshold=0.5))
    with pytest.raises(AssertionError, match="decoded a frame|was loaded"):
        DetectionPipeline(other, cache).run(str(VIDEO), "demo001", frames, ["red circle", "blue square"], ["number"])


# -- Grounding DINO (optional detector) ----------------------------------------------------------

@pytest.fixture(scope="session")
def tiny_grounding_dino(tmp_path_factory) -> str:
    import torch
    from transformers import (
        BertTokenizer,
        GroundingDinoConfig,
        GroundingDinoForObjectDetection,
        GroundingDinoImageProcessor,
        GroundingDinoProcessor,
    )

    path = tmp_path_factory.mktemp("tiny_gdino")
    words = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", ".", "red", "circle", "blue", "square", "cup"]
    words += list("abcdefghijklmnopqrstuvwxyz")
    (path / "vocab.txt").write_text("\n".join(words) + "\n", encoding="utf-8")  # transformers 4.x reads a file
    tok = BertTokenizer(vocab_file=str(path / "vocab.txt"), model_max_length=32)
    torch.manual_seed(0)
    cfg = GroundingDinoConfig(
        backbone_config=dict(model_type="swin", image_size=64, patch_size=4, embed_dim=8, depths=[1, 1, 1, 1],
                             num_heads=[1, 1, 1, 1], window_size=2, out_indices=[2, 3, 4]),
        text_config=dict(model_type="bert", vocab_size=len(words), hidden_size=32, num_hidden_layers=1,
                         num_attention_heads=2, intermediate_size=64, max_position_embeddings=64),
        d_model=32, encoder_layers=1, decoder_layers=2, encoder_ffn_dim=64, decoder_ffn_dim=64,
        encoder_attention_heads=2, decoder_attention_heads=2, num_queries=10, max_text_len=32,
        encoder_n_points=2, decoder_n_points=2)  # decoder_layers >= 2: the box heads are tied across layers
    GroundingDinoForObjectDetection(cfg).save_pretrained(path)
    images = GroundingDinoImageProcessor(size={"shortest_edge": 64, "longest_edge": 96})
    GroundingDinoProcessor(image_processor=images, tokenizer=tok).save_pretrained(path)
    return str(path)


def test_grounding_dino_detector(tiny_grounding_dino):
    from videorag_eval.method.detection.detectors import GroundingDinoDetector

    entities = ["red circle", "blue square"]
    # Frames of one video share a size; mixed sizes would be padded per batch (which changes DINO's output).
    shapes = [(48, 80), (48, 80), (90, 40)]
    frames = frames_of(*shapes, seed=2)
    det = GroundingDinoDetector(tiny_grounding_dino, threshold=0.0, text_threshold=0.0, nms_iou=None, batch_size=2)
    everything = det.detect(frames[:2], entities) + det.detect(frames[2:], entities)
    assert all(everything)
    for (h, w), boxes in zip(shapes, everything):
        for b in boxes:
            assert 0 <= b.x0 <= b.x1 <= w and 0 <= b.y0 <= b.y1 <= h and b.label in entities
    scores = sorted(b.score for boxes in everything[:2] for b in boxes)
    cut = scores[len(scores) // 2]
    kept = GroundingDinoDetector(tiny_grounding_dino, threshold=cut, text_threshold=0.0, nms_iou=None,
                                 batch_size=1).detect(frames[:2], entities)
    assert all(b.score > cut for k in kept for b in k)
    assert [len(k) for k in kept] == [sum(b.score > cut for b in e) for e in everything[:2]]


@pytest.mark.slow
def test_a_cell_runs_on_the_real_clip_and_owlv2_path(tiny_clip, tiny_owlv2, tmp_path):
    """A whole evaluation cell with rag=det through CLIP keyframes + OWLv2 (tiny random weights):
    one process, no service, keyframes and boxes recorded per question."""
    from helpers import read_cell, run_cell

    cell = run_cell("rag=det", "limit=4", f"results_dir={tmp_path}", f"cache_dir={tmp_path / 'cache'}",
                    "aux.det.keyframes.rule=top_k", "aux.det.keyframes.top_k=2", f"aux.det.keyframes.clip_model={tiny_clip}",
                    "aux.det.detector.kind=owlv2", f"aux.det.detector.model={tiny_owlv2}", "aux.det.detector.threshold=0.3",
                    "aux.det.device=cpu")
    metrics, samples = read_cell(cell)
    assert metrics["n"] == 4 and metrics["n_failed"] == 0
    assert metrics["models_loaded"]["det_clip"] and metrics["models_loaded"]["det_detector"]
    for s in samples:
        det = s["det"]
        assert det["keyframe_rule"] == "top_k" and 1 <= len(det["keyframes"]) <= 2
        assert set(map(int, det["boxes"])) == set(det["keyframes"])
        assert det["detector"]["model"] == tiny_owlv2
