"""Decode once: within a cell, the probe, OCR and DET (CLIP and the detector) decode each frame of a video at
most once (``media.FrameStore``, bounded by ``decode.max_frames_mb``), and the results are those of decoding
on every read (``decode.max_frames_mb=0``, the behaviour before the store)."""

import numpy as np
import pytest

from helpers import compose
from videorag_eval.method import media
from videorag_eval.core.records import DecoupledRequest, Question

VIDEOS = ("demo_001.mp4", "demo_004.mp4")  # text on screen (OCR) and coloured shapes (DET)
REQUESTS = (  # two questions per video, each with its own entities: the detector runs for both
    DecoupledRequest(asr=None, det=("red circle", "blue square"), types=("number",), ok=True),
    DecoupledRequest(asr=None, det=("green triangle",), types=("location", "number"), ok=True),
)


def _pipeline(tmp_path, max_frames_mb, frames=4):
    from videorag_eval.lmms.factory import build_pipeline

    cfg = compose("rag=full", "rag.asr=false", f"frames={frames}", f"cache_dir={tmp_path / 'cache'}",
                  f"decode.max_frames_mb={max_frames_mb}")
    return build_pipeline(cfg)


def _ask(pipeline, demo_data):
    out = []
    doc_id = 0
    for name in VIDEOS:
        video = str(demo_data / "data" / name)
        for request in REQUESTS:
            q = Question(doc_id, f"q{doc_id}", video, "What is shown?", ("a", "b", "c", "d"), "A")
            result = pipeline.augment(q, request)
            out.append({"blocks": result.blocks, "retrieved": {s: [d.to_dict() for d in docs] for s, docs in result.retrieved.items()},
                        "det": {k: v for k, v in (result.det or {}).items() if k != "seconds"},
                        "frames": pipeline.lvlm_frames(video, result.frames)})
            doc_id += 1
    return out


@pytest.fixture(scope="module")
def runs(tmp_path_factory, demo_data):
    """The same four questions with the store (default bound), without it, and with a bound of ~2 frames."""
    out = {}
    for name, mb in (("store", 1024), ("none", 0), ("small", 0.8)):  # a 480x270 frame is 0.37 MB
        pipeline = _pipeline(tmp_path_factory.mktemp(name), mb)
        records = _ask(pipeline, demo_data)
        totals = {path: info.total_frames for path, info in pipeline._info.items()}
        out[name] = (records, pipeline.decoding(questions=len(VIDEOS) * len(REQUESTS)), totals)
    return out


def test_each_sampled_frame_is_decoded_at_most_once_per_cell(runs):
    records, decoding, totals = runs["store"]
    assert decoding["redecoded"] == 0
    # per video: the probe's two frames (the first and the last) and the sampled ones, each once
    sampled = {}
    for name, r in zip([v for v in VIDEOS for _ in REQUESTS], records):
        sampled.setdefault(name, set()).update(r["frames"]["indices"])
    expected = sum(len(ix | {0, totals[next(p for p in totals if p.endswith(name))] - 1}) for name, ix in sampled.items())
    assert decoding["frames_decoded"] == expected
    assert decoding["by_purpose"]["det"]["decoded"] == 0  # DET's frames come from the store: OCR decoded them
    assert decoding["by_purpose"]["det"]["served"] > 0
    assert decoding["store"]["evicted_frames"] == 0


def test_without_the_store_the_same_frames_are_decoded_again_and_results_are_identical(runs):
    store_records, store, _ = runs["store"]
    none_records, none, _ = runs["none"]
    assert none_records == store_records
    assert none["redecoded"] > 0 and none["frames_served"] == 0  # what the harness did before: OCR, then DET again
    assert none["frames_decoded"] > store["frames_decoded"]


def test_a_small_bound_evicts_frames_and_keeps_results(runs):
    small_records, small, _ = runs["small"]
    assert small_records == runs["store"][0]
    assert small["store"]["evicted_frames"] > 0 and small["store"]["peak_mb"] <= 0.8


def test_store_frames_equal_fresh_decodes_and_are_read_only(demo_data):
    path = str(demo_data / "data" / VIDEOS[0])
    store = media.FrameStore.from_mb(64)
    info = store.probe(path)
    idx = media.uniform_indices(info.total_frames, 8)
    first = store.read(path, idx[:5], "ocr")
    again = store.read(path, idx, "det")
    fresh = media.read_frames(path, idx)
    assert all(np.array_equal(a, b) for a, b in zip(again, fresh))
    assert all(a is b for a, b in zip(first, again[:5]))
    with pytest.raises(ValueError):
        again[0][0, 0, 0] = 1
    c = store.videos[path]
    assert c["redecoded"] == 0 and c["frames_decoded"] == len(set(idx) | {0, info.total_frames - 1})
    assert c["opens"] == 2 + 2  # probe: container + frame reader; then one read per call that missed frames


def test_decode_settings_are_not_the_cells_identity():
    from videorag_eval.cell.identity import identity

    assert identity(compose("decode.max_frames_mb=0")) == identity(compose())
    with pytest.raises(ValueError, match="max_frames_mb"):
        from videorag_eval.lmms.factory import max_frames_mb

        max_frames_mb(compose("decode.max_frames_mb=-1"))
