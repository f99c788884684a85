"""The embedded demo end to end, as a user runs it: real ASR, OCR, DET (colour blobs), retrieval,
lmms-eval's evaluator, result files; then the cheap second run, skipping and resuming."""

import json
import shutil
import subprocess
import sys

import pytest

from helpers import REPO, read_cell, run_cell

pytestmark = pytest.mark.slow

METRIC_KEYS = {"model", "task", "frames", "rag", "accuracy", "n", "n_failed", "by_category", "parser", "versions", "timings"}
SAMPLE_KEYS = {"doc_id", "question_id", "video", "prediction", "parsed", "answer", "correct", "aux", "request",
               "aux_tokens", "error"}


def _acc(samples, sources):
    picked = [s for s in samples if s["categories"]["source"] in sources]
    return 100.0 * sum(s["correct"] for s in picked) / len(picked)


@pytest.fixture(scope="module")
def results(tmp_path_factory):
    return tmp_path_factory.mktemp("results")


@pytest.fixture(scope="module")
def demo_cache(tmp_path_factory):
    """An empty cache: the demo runs as on a fresh machine, every extractor for real (not the committed cache)."""
    return tmp_path_factory.mktemp("demo_cache")


DEMO_STDERR: list[str] = []  # the demo run's stderr (the fixture's value stays (stdout, cell))


@pytest.fixture(scope="module")
def demo_run(results, demo_cache):
    """`python -m videorag_eval` with its defaults, in a subprocess, as the README says."""
    proc = subprocess.run([sys.executable, "-m", "videorag_eval", f"results_dir={results}", f"cache_dir={demo_cache}"],
                          cwd=REPO, capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    DEMO_STDERR.append(proc.stderr)
    cell_line = [ln for ln in proc.stdout.splitlines() if ln.strip().startswith("cell: ")]
    assert cell_line, proc.stdout
    from pathlib import Path

    return proc.stdout, Path(cell_line[-1].split("cell: ", 1)[1].strip())


def test_default_run_answers_speech_and_screen_text(demo_run):
    stdout, cell = demo_run
    metrics, samples = read_cell(cell)
    assert metrics["model"] == "text_only" and metrics["task"] == "demo" and metrics["frames"] == 8
    assert metrics["rag"] == {**metrics["rag"], "asr": True, "ocr": True, "det": True, "subtitles": False, "threshold": 0.3}
    assert _acc(samples, {"asr", "ocr"}) >= 80.0
    assert metrics["n_failed"] == 0 and metrics["n"] == len(samples) >= 24
    assert metrics["models_loaded"]["asr"] and metrics["models_loaded"]["ocr"]  # real Whisper and EasyOCR ran
    assert "accuracy" in stdout and "by source" in stdout and "auxiliary texts retrieved" in stdout


def test_the_demo_prints_no_library_debug_noise(demo_run):
    err = DEMO_STDERR[-1]
    assert "| DEBUG " not in err, "lmms-eval's loguru DEBUG lines reach the terminal"
    assert "could not be loaded as a task" not in err and "generation_kwargs specified through cli" not in err
    assert "accuracy" in demo_run[0] and "cell: " in demo_run[0]  # the summary itself is on stdout


def test_default_run_answers_object_questions_through_det(demo_run):
    _, cell = demo_run
    _, samples = read_cell(cell)
    det = [s for s in samples if s["categories"]["source"] == "det"]
    assert _acc(samples, {"det"}) > 50.0
    # keyframes and boxes are recorded per question
    assert all(s["det"]["keyframes"] and s["det"]["boxes"] for s in det)


def test_cell_files_follow_the_contract(demo_run):
    _, cell = demo_run
    metrics, samples = read_cell(cell)
    assert METRIC_KEYS <= set(metrics)
    assert 0.0 <= metrics["accuracy"] <= 100.0
    assert {"lmms-eval", "torch", "faster-whisper", "easyocr"} <= set(metrics["versions"])
    assert metrics["parser"] == "lmms_eval" and "source" in metrics["by_category"]
    for s in samples:
        assert SAMPLE_KEYS <= set(s)
        assert set(s["aux"]) == {"asr", "ocr", "det"}
        # text_only cannot write the decoupling JSON: null, and why
        assert s["request"] is None and "question + options" in s["request_note"]
    assert (cell / "config.yaml").read_text().count("threshold: 0.3") == 1


def test_rag_none_is_near_chance(results, demo_cache):
    metrics, samples = read_cell(run_cell("rag=none", f"results_dir={results}", f"cache_dir={demo_cache}"))
    assert _acc(samples, {"asr", "ocr", "det"}) <= 50.0
    assert all(s["aux"] == {} and s["aux_tokens"] == 0 for s in samples)
    assert metrics["n"] == len(samples)


def test_second_run_extracts_and_embeds_nothing(demo_run, results, demo_cache, monkeypatch):
    import easyocr
    import faster_whisper
    import sentence_transformers

    def refuse(*a, **k):
        raise AssertionError("a model was constructed on a fully cached run")

    monkeypatch.setattr(faster_whisper, "WhisperModel", refuse)
    monkeypatch.setattr(easyocr, "Reader", refuse)
    monkeypatch.setattr(sentence_transformers, "SentenceTransformer", refuse)
    cell = run_cell("rag=asr_ocr", "rag.threshold=0.4", f"results_dir={results}", f"cache_dir={demo_cache}")
    metrics, samples = read_cell(cell)
    assert not any(metrics["models_loaded"].values())
    assert not any(k.endswith(".miss") for k in metrics["cache"] if not k.startswith("filehash"))
    assert metrics["rag"]["threshold"] == 0.4 and _acc(samples, {"asr", "ocr"}) >= 80.0


def test_full_is_at_least_as_good_as_asr_ocr(demo_run, results, demo_cache):
    full, _ = read_cell(demo_run[1])
    asr_ocr, _ = read_cell(run_cell("rag=asr_ocr", f"results_dir={results}", f"cache_dir={demo_cache}"))
    assert full["accuracy"] >= asr_ocr["accuracy"]


def test_a_finished_cell_is_not_run_again(demo_run, results, demo_cache, capsys):
    _, cell = demo_run
    before = (cell / "metrics.json").stat().st_mtime_ns
    assert run_cell(f"results_dir={results}", f"cache_dir={demo_cache}") == cell
    assert (cell / "metrics.json").stat().st_mtime_ns == before
    assert "not run again" in capsys.readouterr().out


def test_an_interrupted_cell_resumes_keeping_answered_questions(demo_run, results, demo_cache, tmp_path):
    _, cell = demo_run
    copy_root = tmp_path / "res"
    target = copy_root / cell.relative_to(results)
    shutil.copytree(cell, target)
    lines = (target / "journal.jsonl").read_text().splitlines()
    kept = 7
    (target / "journal.jsonl").write_text("\n".join(lines[:kept]) + "\n" + lines[kept][: len(lines[kept]) // 2])
    (target / "metrics.json").unlink()
    (target / "samples.jsonl").unlink()
    resumed = run_cell(f"results_dir={copy_root}", f"cache_dir={demo_cache}")
    assert resumed == target
    metrics, samples = read_cell(target)
    assert metrics["resumed"] == kept
    original = {s["doc_id"]: s["prediction"] for s in read_cell(cell)[1]}
    assert {s["doc_id"]: s["prediction"] for s in samples} == original


def test_rag_det_alone_answers_most_object_questions(demo_run, results, demo_cache):
    metrics, samples = read_cell(run_cell("rag=det", f"results_dir={results}", f"cache_dir={demo_cache}"))
    assert _acc(samples, {"det"}) > 50.0
    assert all(s["aux"].keys() == {"det"} for s in samples)
    # detection text only helps object questions: speech and screen-text ones stay near chance
    assert _acc(samples, {"asr", "ocr"}) <= 50.0


def test_extract_precomputes_what_a_cell_needs(tmp_path, monkeypatch):
    """`python -m videorag_eval.extract` fills the cache; the cell that follows loads no extractor."""
    import easyocr
    import faster_whisper

    from helpers import compose
    from videorag_eval.cell.extraction import extract_task

    overrides = ("rag=asr_ocr", "limit=5", f"results_dir={tmp_path}", f"cache_dir={tmp_path / 'cache'}")
    counts = extract_task(compose(*overrides))
    assert counts["videos"] == 2 and counts["failed"] == 0 and counts["documents"] > 0

    def refuse(*a, **k):
        raise AssertionError("an extractor model was constructed after extract")

    monkeypatch.setattr(faster_whisper, "WhisperModel", refuse)
    monkeypatch.setattr(easyocr, "Reader", refuse)
    metrics, _ = read_cell(run_cell(*overrides))
    assert metrics["n"] == 5 and metrics["n_failed"] == 0
    assert not metrics["models_loaded"]["asr"] and not metrics["models_loaded"]["ocr"]
