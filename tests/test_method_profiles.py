"""``method=default|official|paper``: one key selects a reading of Video-RAG; it is part of the cell."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from helpers import REPO, compose

from videorag_eval.cell.identity import cell_dir, identity


def _keys(cfg):
    return (cfg.method.name, cfg.rag.order, cfg.rag.timestamps, cfg.rag.threshold, cfg.aux.asr.chunking,
            cfg.aux.ocr.dedupe, cfg.aux.det.keyframes.beta, cfg.aux.det.relation_mode, cfg.aux.det.on_null_type)


def test_profiles_set_their_readings():
    assert _keys(compose()) == ("default", "paper", True, 0.3, "file", "normalised", 3.0, "all", "all")
    assert _keys(compose("method=official")) == ("official", "code", False, 0.3, "window", "exact", 3.0, "last", "none")
    assert _keys(compose("method=paper")) == ("paper", "paper", True, 0.3, "file", "normalised", 4.0, "all", "all")
    assert compose("method=official", "task=mlvu").rag.threshold == 0.0  # the official MLVU script
    assert compose("method=official", "task=mlvu", "rag.threshold=0.5").rag.threshold == 0.5  # the user wins
    assert compose("method=official", "rag.order=paper").rag.order == "paper"


def test_profiles_are_part_of_the_cell():
    cells = {str(cell_dir(compose(f"method={m}"))) for m in ("default", "official", "paper")}
    assert len(cells) == 3
    assert identity(compose("method=official"))["method"]["name"] == "official"
    # without auxiliary text every reading is the same cell
    assert len({str(cell_dir(compose(f"method={m}", "rag=none"))) for m in ("default", "official", "paper")}) == 1


def test_rendering_without_timestamps():
    from videorag_eval.method.prompt import render_block, render_det_block
    from videorag_eval.core.records import AuxDoc

    docs = [AuxDoc("asr", "Our guide is called Maria.", 30.0, 60.0)]
    assert render_block("asr", docs).splitlines()[1].startswith("[")
    assert render_block("asr", docs, timestamps=False).splitlines()[1] == "Our guide is called Maria."
    det = [AuxDoc("det", "Number of red circle: 3", 4.25, 4.25, frame_index=17)]
    assert render_det_block(det, 8, [0, 17], timestamps=False).splitlines()[1] == "Frame 2: Number of red circle: 3"


def test_exact_ocr_dedupe_keeps_case_variants():
    from videorag_eval.method.extractors.ocr import frame_documents
    from videorag_eval.core.records import FrameSample

    frames = FrameSample((0, 10), (0.0, 2.5), 4.0, 20, 5.0)
    readings = {0: [{"text": "Gift Shop", "conf": 0.9}], 10: [{"text": "GIFT SHOP", "conf": 0.9}]}
    assert [d.text for d in frame_documents(readings, frames, 0.5)] == ["Gift Shop"]
    assert [d.text for d in frame_documents(readings, frames, 0.5, "exact")] == ["Gift Shop", "GIFT SHOP"]


@pytest.mark.slow
def test_asr_per_window_transcription_keeps_the_video_clock(session_cache):
    """method=official transcribes each 30-s chunk alone; times are shifted back to the video's."""
    from videorag_eval.method.extractors.asr import ASRSettings, WhisperASR

    manifest = {v["video_id"]: v for v in json.loads((REPO / "tasks/demo/data/manifest.json").read_text())["videos"]}
    video = manifest["006"]  # 45 s: two windows; speech at 1, 12.25, 23.5 and 34.75 s
    path = str(REPO / "tasks/demo/data" / video["file"])
    asr = WhisperASR(ASRSettings(model="packaged:whisper-tiny.en", compute_type="int8", language="en", beam_size=1,
                                 chunking="window"), session_cache)
    segs = asr.segments(path, "demo006-window-test")
    assert segs and all(0 <= s["start"] <= s["end"] <= video["duration"] + 0.5 for s in segs)
    late = [s for s in segs if s["start"] >= 30]  # the sentence at 34.75 s comes from the second chunk
    assert late and abs(late[0]["start"] - video["speech"][-1]["start"]) < 2.0
    assert "sunny" in " ".join(s["text"] for s in late).lower()
    assert asr.identity["chunking"] == "window"


@pytest.mark.slow
@pytest.mark.parametrize("method", ["official", "paper"])
def test_the_demo_runs_under_each_profile(tmp_path, e2e_cache, method):
    proc = subprocess.run([sys.executable, "-m", "videorag_eval", f"method={method}", "limit=4",
                           f"results_dir={tmp_path}", f"cache_dir={e2e_cache}"],
                          cwd=REPO, capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    cell = [ln for ln in proc.stdout.splitlines() if ln.strip().startswith("cell: ")][-1].split("cell: ", 1)[1].strip()
    metrics = json.loads((__import__("pathlib").Path(cell) / "metrics.json").read_text())
    assert metrics["method"] == method and metrics["n"] == 4 and metrics["n_failed"] == 0
