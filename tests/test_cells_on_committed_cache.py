"""One end-to-end cell of each kind in the fast default (`python -m pytest`), on the committed pre-extracted demo
cache (tests/fixtures/demo_cache, made by the real extractors with tests/fixtures/make_demo_cache.py): the blind
baseline with every source, the no-RAG and ASR arms and the report over them, the real qwen2_5_vl adapter with a
tiny random Qwen2.5-VL, the scripted stand-in's decoupling requests, and the three benchmark layouts. Cells run
in-process with ``require_cache=true``: Whisper and EasyOCR never load, and a stale committed cache fails naming
the script that regenerates it. Real extraction end to end is in the slow set (tests/test_demo_e2e.py)."""

from __future__ import annotations

import csv
import json
import sys
from pathlib import Path

import pytest
from helpers import REGENERATE, REPO, compose, copy_demo_cache, read_cell, run_cached_cell

sys.path.insert(0, str(REPO / "tasks"))
import synthetic  # noqa: E402


def _acc(samples, sources) -> float:
    picked = [s for s in samples if s["categories"]["source"] in sources]
    return 100.0 * sum(s["correct"] for s in picked) / len(picked)


@pytest.fixture(scope="module")
def results(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("fast_cells")


@pytest.mark.parametrize("model,frames", [("text_only", 4), ("text_only", 8), ("tiny_qwen2_5_vl", 4)])
def test_the_committed_cache_holds_every_demo_extraction(model, frames, tmp_path):
    from videorag_eval.cell.extraction import verify_cached
    from videorag_eval.lmms.factory import build_pipeline
    from videorag_eval.method.pipeline import MissingCache

    cache = copy_demo_cache(tmp_path / "cache")  # the committed files alone, nothing a test added
    cfg = compose(f"model={model}", f"frames={frames}", "require_cache=true", f"cache_dir={cache}")
    try:
        verify_cached(cfg, build_pipeline(cfg))
    except MissingCache as exc:
        pytest.fail(f"tests/fixtures/demo_cache lacks an entry the demo needs ({exc}); regenerate it: {REGENERATE}")


@pytest.fixture(scope="module")
def full_cell(results, e2e_cache):
    return read_cell(run_cached_cell(e2e_cache, "rag=full", "limit=24", f"results_dir={results}"))


def test_the_blind_baseline_answers_from_speech_screen_text_and_objects(full_cell):
    metrics, samples = full_cell
    assert metrics["model"] == "text_only" and metrics["frames"] == 8 and metrics["n"] == len(samples) == 24
    assert metrics["n_failed"] == 0
    assert _acc(samples, {"asr", "ocr"}) >= 80.0
    assert _acc(samples, {"det"}) > 50.0
    for s in samples:  # what reached the model, per question: the cell's frames, retrieved speech where it answered
        assert len(s["frames"]["indices"]) == 8
        if s["categories"]["source"] == "asr" and s["correct"]:
            assert s["aux"]["asr"], s["question_id"]
    det = [s for s in samples if s["categories"]["source"] == "det"]
    assert det and all(s["det"]["keyframes"] and s["det"]["boxes"] for s in det)


@pytest.fixture(scope="module")
def arms(results, e2e_cache, full_cell):
    """rag=none and rag=asr next to rag=full on the same questions: no extraction (one cache)."""
    return {rag: read_cell(run_cached_cell(e2e_cache, f"rag={rag}", "limit=24", f"results_dir={results}"))
            for rag in ("none", "asr")}


def test_no_rag_is_blind_and_asr_adds_the_speech_questions(arms, full_cell):
    none_m, none_s = arms["none"]
    asr_m, asr_s = arms["asr"]
    assert all(not any(s["aux"].values()) for s in none_s)  # rag=none: no auxiliary text at all
    assert _acc(asr_s, {"asr"}) >= 80.0 > _acc(none_s, {"asr"})
    assert [s["question_id"] for s in none_s] == [s["question_id"] for s in asr_s] == \
        [s["question_id"] for s in full_cell[1]]


def test_the_report_pairs_the_arms_against_none(arms, results, tmp_path):
    from videorag_eval.report.__main__ import main as report_main

    assert report_main([str(results), "--out", str(tmp_path)]) == 0
    assert {"ablation.csv", "ablation.md", "index.html", "attribution.csv"} <= {p.name for p in tmp_path.iterdir()}
    with open(tmp_path / "ablation.csv", newline="") as fh:
        rows = {r["rag"]: r for r in csv.DictReader(fh)}
    assert {"none", "asr", "full"} <= set(rows)
    for rag, (metrics, _) in {"none": arms["none"], "asr": arms["asr"]}.items():
        assert float(rows[rag]["accuracy"]) == pytest.approx(metrics["accuracy"], abs=0.01)
        assert float(rows[rag]["ci_low"]) <= metrics["accuracy"] <= float(rows[rag]["ci_high"])
    assert float(rows["asr"]["delta_vs_none"]) == pytest.approx(arms["asr"][0]["accuracy"] - arms["none"][0]["accuracy"],
                                                                abs=0.01)


def test_the_real_qwen_adapter_gets_the_retrieved_text_and_the_cells_frames(results, e2e_cache, monkeypatch):
    """What each request hands the model, read at the model's real processor: the cell's 4 frames and a prompt
    holding the question and the auxiliary texts the record says were retrieved. The tiny random model's
    decoupling replies would be noise (and 256 slow tokens each): the query is the question and options
    (rag.decouple=fallback); its own decoupling is tested in the slow set."""
    from indexed_videos import record_processor

    calls = record_processor(monkeypatch, "qwen2_5_vl")
    metrics, samples = read_cell(run_cached_cell(e2e_cache, "model=tiny_qwen2_5_vl", "rag=full", "rag.decouple=fallback",
                                                 "frames=4", "limit=3", f"results_dir={results}"))
    assert metrics["model"] == "tiny_qwen2_5_vl" and metrics["n"] == 3 and metrics["n_failed"] == 0
    requests = [(text, video) for call in calls for text, video in zip(call["texts"], call["videos"])]
    assert len(requests) == 3  # one answer request per question, each with its video
    for s in samples:
        assert s["frames"]["rule"] == "qwen_vl_utils" and len(s["frames"]["indices"]) == 4
        (text, video), = [(t, v) for t, v in requests if s["question"] in t]
        assert len(video) == 4  # the frames the cell records (and OCR read) reached the processor
        retrieved = [doc for docs in s["aux"].values() for doc in docs]
        assert all(doc in text for doc in retrieved), s["question_id"]
    assert any(s["aux"].get("asr") or s["aux"].get("ocr") for s in samples)  # retrieved text went into the prompt


def test_the_scripted_request_drives_retrieval(results, e2e_cache, tmp_path):
    script = tmp_path / "script.json"
    script.write_text(json.dumps({"001-1": {"ASR": "the city where the museum tour starts", "DET": None, "TYPE": None},
                                  "*": {"ASR": None, "DET": None, "TYPE": None}}))
    _, samples = read_cell(run_cached_cell(e2e_cache, "model=scripted", f"model.model_args.script={script}", "limit=2",
                                           f"results_dir={results}"))
    by = {s["question_id"]: s for s in samples}
    assert by["001-1"]["request"] == {"ASR": "the city where the museum tour starts", "DET": None, "TYPE": None}
    assert by["001-1"]["aux"]["asr"]  # the request's ASR phrase retrieved speech
    assert by["001-2"]["request"] == {"ASR": None, "DET": None, "TYPE": None}


@pytest.mark.parametrize("task", ["videomme", "mlvu", "longvideobench"])
def test_each_benchmark_layout_runs_a_cell(task, results, e2e_cache, tmp_path):
    copy = {"videomme": synthetic.make_videomme, "mlvu": synthetic.make_mlvu,
            "longvideobench": synthetic.make_longvideobench}[task](tmp_path / task)
    metrics, samples = read_cell(run_cached_cell(e2e_cache, f"task={task}", f"task.data_dir={copy}", "aux=packaged", "rag=full",
                                                 "limit=6", f"results_dir={results}"))
    assert metrics["task"] == task and metrics["n"] == len(samples) == 6 and metrics["n_failed"] == 0
    assert all(s["parsed"] for s in samples)


@pytest.mark.parametrize("model", sorted(p.stem for p in (REPO / "conf" / "model").glob("*.yaml")))
def test_extract_reads_the_frames_the_cells_model_reads(model, tmp_path):
    """`python -m videorag_eval.extract model=M frames=[4,8]` samples each video at the positions M's cell reads
    (its adapter's frame rule), so that M's cells with require_cache=true find every OCR/CLIP entry."""
    from videorag_eval.cell.extraction import _pipelines
    from videorag_eval.lmms.factory import build_pipeline

    video = str(REPO / "tasks/demo/data/data/demo_001.mp4")
    extracting = _pipelines(compose(f"model={model}", "frames=[4,8]", f"cache_dir={tmp_path}"), require_cache=False)
    for pipeline, frames in zip(extracting, (4, 8)):
        cell = build_pipeline(compose(f"model={model}", f"frames={frames}", f"cache_dir={tmp_path}"))
        assert pipeline.frames == frames
        assert pipeline.open_video(video)[2].indices == cell.open_video(video)[2].indices
        assert pipeline.lvlm_frames(video)["rule"] == cell.lvlm_frames(video)["rule"]
