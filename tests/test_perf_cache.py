"""Once-per-sweep work and a cluster-friendly cache (issue 13): packed entries per video, layout
versioning, concurrent writers, decoupling replies reused across cells, bounded extraction."""

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from helpers import REPO, read_cell
from videorag_eval.store.cache import Cache
from videorag_eval.store.packs import LAYOUT_VERSION, CacheLayoutError

DEMO_VIDEO = REPO / "tasks" / "demo" / "data" / "data" / "demo_001.mp4"


def _env():
    return {**os.environ, "PYTHONPATH": os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")]),
            "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1"}


def test_packed_entries_share_one_file_and_are_read_once(tmp_path):
    c = Cache(tmp_path)
    for i in range(50):
        c.put_array("text_embedding", f"k{i}", np.full(4, i, dtype="float32"), group="video1")
        c.put_json("ocr_frame", f"f{i}", {"readings": [{"text": f"t{i}", "conf": 0.9}]}, group="video1")
    files = [p for p in tmp_path.rglob("*") if p.is_file() and not p.name.startswith(".")]
    assert sorted(p.name for p in files) == ["layout.json", "video1.pack"]  # every namespace of the video
    fresh = Cache(tmp_path)  # another process: reads the pack once, however many entries it asks for
    for i in range(50):
        np.testing.assert_array_equal(fresh.get_array("text_embedding", f"k{i}", group="video1"), np.full(4, i))
        assert fresh.get_json("ocr_frame", f"f{i}", group="video1") == {"readings": [{"text": f"t{i}", "conf": 0.9}]}
    assert fresh.stats["disk.read"] == 1
    assert fresh.get_array("text_embedding", "absent", group="video1") is None
    assert fresh.stats["text_embedding.miss"] == 1


def test_damaged_pack_is_a_miss_and_is_rebuilt(tmp_path):
    c = Cache(tmp_path)
    c.put_json("ocr_frame", "a", {"readings": []}, group="v")
    path = next(tmp_path.rglob("v.pack"))
    path.write_bytes(path.read_bytes()[:-3])  # torn by some other tool
    fresh = Cache(tmp_path)
    assert fresh.get_json("ocr_frame", "a", group="v") is None and fresh.stats["pack.corrupt"] == 1
    fresh.put_json("ocr_frame", "a", {"readings": [{"text": "x", "conf": 1.0}]}, group="v")
    assert Cache(tmp_path).get_json("ocr_frame", "a", group="v") == {"readings": [{"text": "x", "conf": 1.0}]}


def test_old_layout_is_detected_and_rebuilt(tmp_path):
    # layout 1: one file per text embedding / OCR frame, no layout.json
    for ns, name in (("text_embedding", "ab/ab12.npy"), ("ocr_frame", "cd/cd34.json")):
        (tmp_path / ns / name).parent.mkdir(parents=True)
        (tmp_path / ns / name).write_bytes(b"old")
    (tmp_path / "tiny_models").mkdir()
    (tmp_path / "tiny_models" / "config.json").write_text("{}")  # not a cache namespace: left alone
    c = Cache(tmp_path)
    assert c.get_array("text_embedding", "k", group="v") is None
    assert not (tmp_path / "text_embedding" / "ab").exists() and not (tmp_path / "ocr_frame").exists()
    assert (tmp_path / "tiny_models" / "config.json").exists()
    assert json.loads((tmp_path / "layout.json").read_text())["version"] == LAYOUT_VERSION
    assert c.stats["layout.rebuilt"] == 1
    c.put_array("text_embedding", "k", np.ones(3), group="v")
    again = Cache(tmp_path)
    np.testing.assert_array_equal(again.get_array("text_embedding", "k", group="v"), np.ones(3))
    assert again.stats["layout.rebuilt"] == 0
    (tmp_path / "layout.json").write_text(json.dumps({"version": LAYOUT_VERSION + 1}))
    with pytest.raises(CacheLayoutError, match="newer videorag_eval"):
        Cache(tmp_path).get_json("ocr_frame", "x", group="v")


WRITER = """
import sys, numpy as np
from videorag_eval.store.cache import Cache
root, tag = sys.argv[1], sys.argv[2]
c = Cache(root)
for i in range(150):
    c.put_array("text_embedding", f"{tag}{i}", np.full(64, i, dtype="float32"), group="shared_video")
    c.put_json("ocr_frame", f"{tag}{i}", {"readings": [{"text": tag, "conf": i}]}, group="shared_video")
"""


def test_concurrent_writers_do_not_lose_or_tear_entries(tmp_path):
    procs = [subprocess.Popen([sys.executable, "-c", WRITER, str(tmp_path), tag], env=_env(), stderr=subprocess.PIPE)
             for tag in ("a", "b")]
    for p in procs:
        assert p.wait(timeout=300) == 0, p.stderr.read().decode()
    c = Cache(tmp_path)
    for tag in ("a", "b"):
        for i in range(150):
            np.testing.assert_array_equal(c.get_array("text_embedding", f"{tag}{i}", group="shared_video"),
                                          np.full(64, i, dtype="float32"))
            assert c.get_json("ocr_frame", f"{tag}{i}", group="shared_video") == {"readings": [{"text": tag, "conf": i}]}
    assert not [p for p in tmp_path.rglob("*.tmp")]


def test_text_embeddings_pack_per_video(tmp_path):
    from videorag_eval.method.retrieval import EncoderSettings, TextEncoder

    settings = EncoderSettings(kind="sentence_transformers", model="packaged:all-MiniLM-L6-v2", device="cpu")
    enc = TextEncoder(settings, Cache(tmp_path))
    texts = [f"document number {i} about a red bicycle" for i in range(40)]
    with enc.scoped("videohash1"):
        first = enc.encode(texts)
    with enc.scoped("videohash2"):  # the same texts for another video: found in memory, not re-embedded
        enc.encode(texts[:5])
    assert enc.texts_encoded == 40
    packs = sorted(p.name for p in (tmp_path / "packs").rglob("*.pack"))
    assert packs == ["videohash1.pack", "videohash2.pack"]
    other = TextEncoder(settings, Cache(tmp_path))
    with other.scoped("videohash1"):
        np.testing.assert_allclose(other.encode(texts), first, atol=1e-6)
    assert other.cache.stats["disk.read"] == 1 and not other.loaded


def test_audio_windows_equal_the_whole_track():
    from faster_whisper.audio import decode_audio

    from videorag_eval.method.media import audio_windows

    whole = decode_audio(str(DEMO_VIDEO))
    windows = list(audio_windows(DEMO_VIDEO, 7.0))
    assert [round(o, 3) for o, _ in windows] == [7.0 * k for k in range(len(windows))]
    assert all(len(w) == 7 * 16000 for _, w in windows[:-1])
    np.testing.assert_array_equal(np.concatenate([w for _, w in windows]), whole)


@pytest.mark.slow
def test_ocr_decodes_frames_in_bounded_batches(tmp_path):
    from videorag_eval.method import media
    from videorag_eval.method.extractors.ocr import EasyOCRReader, OCRSettings

    frames = media.sample_frames(DEMO_VIDEO, 5)
    sizes = []

    def decode(idx):
        sizes.append(len(idx))
        return media.read_frames(DEMO_VIDEO, idx)

    reader = EasyOCRReader(OCRSettings(model_dir="packaged:easyocr-en", batch_frames=2), Cache(tmp_path))
    readings = reader.read_frames("demo001", frames, decode)
    assert sizes == [2, 2, 1] and set(readings) == set(frames.indices)
    assert any(r["text"] for rs in readings.values() for r in rs)
    assert len(list((tmp_path / "packs").rglob("*.pack"))) == 1


@pytest.mark.slow
def test_threshold_sweep_generates_decoupling_once_and_cache_is_O_videos(tmp_path):
    """A 2-cell threshold sweep with a model that writes its own request: the second cell reads every
    decoupling reply from the cache; the cache holds a few files per video, not one per text."""
    results = tmp_path / "results"
    cmd = [sys.executable, "-m", "videorag_eval", "-m", "model=tiny_qwen2_5_vl", "task=demo", "rag=asr_ocr",
           "rag.threshold=0.3,0.5", "limit=6", "frames=4", f"results_dir={results}"]
    proc = subprocess.run(cmd, env=_env(), cwd=tmp_path, capture_output=True, text=True, timeout=1200)
    assert proc.returncode == 0, proc.stderr[-3000:]
    cells = sorted((results / "demo" / "tiny_qwen2_5_vl").iterdir())
    runs = {read_cell(c)[0]["rag"]["threshold"]: read_cell(c) for c in cells}
    (m1, s1), (m2, s2) = runs[0.3], runs[0.5]
    assert m1["decoupling"]["generated"] == 6 and m1["decoupling"]["cached"] == 0
    assert m2["decoupling"]["generated"] == 0 and m2["decoupling"]["cached"] == 6
    by_q = {s["question_id"]: s for s in s1}
    assert all(s["request"] == by_q[s["question_id"]]["request"] for s in s2)  # the same replies
    assert not m2["models_loaded"]["asr"] and not m2["models_loaded"]["ocr"]
    videos = {s["video"] for s in s1}
    cache = results / ".cache"
    files = [p for p in cache.rglob("*") if p.is_file() and not p.name.startswith(".")
             and not {"tiny_models", "lmms_tasks", "hf_datasets"} & set(p.relative_to(cache).parts)]
    # one pack per video (ASR segments, OCR readings, embeddings, decoupling replies), one pack of file
    # hashes for the videos' directory, layout.json
    assert len(files) <= len(videos) + 2, sorted(str(p.relative_to(cache)) for p in files)
    from videorag_eval.store.packs import decode_pack

    entries = sum(len(decode_pack(p.read_bytes()).arrays) for p in (cache / "packs").rglob("*.pack"))
    assert entries > 4 * len(videos)  # one file per text would have been this many
