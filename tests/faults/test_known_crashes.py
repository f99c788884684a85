"""The known crashes, each fixed: scoring a question that failed before its doc was read, a journal
line without doc_id, a mid-run decode error (classified, memoised), a failed transcription (memoised,
degraded), and a model that cannot load (says why: out of memory / missing package / missing weights)."""

import json
import shutil

import pytest

from helpers import compose
from videorag_eval.method.decoupling.parse import fallback_request
from videorag_eval.store.journal import Journal
from videorag_eval.scoring.metrics import score_fields
from videorag_eval.core.records import Question
from videorag_eval.core.failures import MissingWeights
from videorag_eval.runtime.weights import loading


@pytest.mark.parametrize("task", ["mlvu", "videomme", "longvideobench"])
def test_scoring_a_question_that_failed_before_its_doc_was_read(task):
    records = [{"doc_id": 0, "prediction": "", "error": "unsafe_path: ...", "error_kind": "unsafe_path"},
               {"doc_id": 1, "prediction": "A", "answer": "A", "letters": "ABCD", "question_id": "q1",
                "categories": {"task_type": "count", "duration": "short"}, "error": None}]
    fields, scored = score_fields(compose(f"task={task}"), records)
    assert fields["n"] == 2 and fields["n_failed"] == 1 and fields["accuracy_micro"] == 50.0
    assert scored[0]["correct"] is False
    if task == "mlvu":  # M-Avg is per task type: a question with no type read is in none, and said so
        assert fields["accuracy"] == 100.0 and fields["accuracy_untyped"] == 1
        assert "1 question(s) failed before their task type was read" in fields["accuracy_note"]
    else:
        assert fields["accuracy"] == 50.0


def test_a_journal_line_without_doc_id_is_ignored(tmp_path):
    path = tmp_path / "journal.jsonl"
    path.write_text(json.dumps({"prediction": "A"}) + "\n" + json.dumps({"doc_id": 3, "prediction": "B", "error": None}) + "\n"
                    + '{"doc_id": 4, "predic')  # and a torn last line
    journal = Journal(path)
    assert len(journal) == 1 and journal.get(3)["prediction"] == "B"


def _pipeline(tmp_path, rag):
    from videorag_eval.lmms.factory import build_pipeline

    return build_pipeline(compose(f"rag={rag}", f"cache_dir={tmp_path / 'cache'}"))


def _question(video, doc_id=0):
    return Question(doc_id, f"q{doc_id}", str(video), "What is shown?", ("a", "b", "c", "d"), "A")


def test_a_decode_error_mid_run_is_classified_and_memoised(tmp_path, demo_data, monkeypatch):
    from videorag_eval.method import media
    from videorag_eval.method.pipeline import VideoProblem

    video = tmp_path / "v.mp4"
    shutil.copy(demo_data / "data" / "demo_001.mp4", video)
    pipeline = _pipeline(tmp_path, "ocr")
    pipeline.open_video(str(video))  # probed and sampled while the file was whole
    blob = video.read_bytes()
    video.write_bytes(blob[: len(blob) // 3])  # then the file is cut (re-extraction over it, a bad disk)
    reads = {"n": 0}
    real_read = media.read_frames

    def counting(*a, **k):
        reads["n"] += 1
        return real_read(*a, **k)

    monkeypatch.setattr(media, "read_frames", counting)
    for doc_id in range(3):
        with pytest.raises(VideoProblem) as err:
            pipeline.check_video(str(video))
            pipeline.augment(_question(video, doc_id), fallback_request("test"))
        assert err.value.kind == "unreadable_video" and "v.mp4" in str(err.value)
    assert reads["n"] == 1  # decoded once; the other questions reuse the recorded failure


def test_a_failed_transcription_is_memoised_and_degrades_its_questions(tmp_path, demo_data, monkeypatch):
    video = tmp_path / "v.mp4"
    shutil.copy(demo_data / "data" / "demo_004.mp4", video)
    pipeline = _pipeline(tmp_path, "asr")
    calls = {"n": 0}

    def broken_transcription(path, digest):  # stands in for faster-whisper failing on this file's audio
        calls["n"] += 1
        raise RuntimeError("audio stream decode failed")

    monkeypatch.setattr(pipeline.asr, "documents", broken_transcription)
    for doc_id in range(3):
        result = pipeline.augment(_question(video, doc_id), fallback_request("test"))
        assert result.problems == [("asr_failed", result.problems[0][1])] and "audio stream decode failed" in result.problems[0][1]
    assert calls["n"] == 1


def test_transcription_failing_on_three_videos_in_a_row_is_systemic(tmp_path, demo_data, monkeypatch):
    from videorag_eval.core.failures import SystemicFailure

    videos = []
    for i, name in enumerate(("demo_001", "demo_002", "demo_004", "demo_005")):
        videos.append(tmp_path / f"v{i}.mp4")
        shutil.copy(demo_data / "data" / f"{name}.mp4", videos[-1])
    pipeline = _pipeline(tmp_path, "asr")
    real = pipeline.asr.documents

    def transcription(path, digest):  # works on the first video, then fails on every one (a broken library)
        if path != str(videos[0]):
            raise RuntimeError("ctranslate2: unsupported compute type")
        return real(path, digest)

    monkeypatch.setattr(pipeline.asr, "documents", transcription)
    assert not pipeline.augment(_question(videos[0]), fallback_request("test")).problems
    for video in videos[1:3]:  # one or two videos failing: their questions are degraded, the cell goes on
        assert pipeline.augment(_question(video), fallback_request("test")).problems[0][0] == "asr_failed"
    with pytest.raises(SystemicFailure, match="3 ASR extractions .* in a row failed.*unsupported compute type"):
        pipeline.augment(_question(videos[3]), fallback_request("test"))


def test_out_of_memory_during_transcription_is_systemic(tmp_path, demo_data, monkeypatch):
    video = tmp_path / "v.mp4"
    shutil.copy(demo_data / "data" / "demo_004.mp4", video)
    pipeline = _pipeline(tmp_path, "asr")
    monkeypatch.setattr(pipeline.asr, "documents", lambda p, d: (_ for _ in ()).throw(RuntimeError("CUDA out of memory. Tried")))
    with pytest.raises(RuntimeError, match="out of memory"):
        pipeline.augment(_question(video), fallback_request("test"))


def _load_error(exc):
    with pytest.raises(MissingWeights) as err:
        with loading("inner model", "lmms-lab/LLaVA-Video-7B-Qwen2"):
            raise exc
    return str(err.value)


def test_a_model_that_cannot_load_says_why():
    oom = _load_error(RuntimeError("CUDA out of memory. Tried to allocate 2.00 GiB"))
    assert "out of memory" in oom and "fewer frames or a smaller model" in oom and "hub" not in oom
    assert "out of memory" in _load_error(MemoryError())
    pkg = _load_error(ModuleNotFoundError("No module named 'llava'", name="llava"))
    assert "missing package llava" in pkg and "pip install llava" in pkg and "hub" not in pkg
    weights = _load_error(OSError("lmms-lab/LLaVA-Video-7B-Qwen2 does not appear to have a file named config.json"))
    assert "weights are not available" in weights and "aux=packaged" in weights
    other = _load_error(ValueError("bad rope_scaling"))
    assert "bad rope_scaling" in other and "hub" not in other and "run.log" in other


def test_a_missing_package_of_a_real_adapter_is_named(tmp_path):
    """model=llava_video_7b needs the git-only LLaVA-NeXT package, absent here: the reason says so."""
    from videorag_eval.lmms.factory import build_inner

    cfg = compose("model=llava_video_7b", f"cache_dir={tmp_path}")
    try:
        import llava  # noqa: F401
        pytest.skip("LLaVA-NeXT is installed here")
    except ImportError:
        pass
    with pytest.raises(MissingWeights) as err:
        build_inner(cfg, None)
    assert "missing package" in str(err.value) and "hub" not in str(err.value)
