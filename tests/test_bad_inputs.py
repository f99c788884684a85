"""A missing video, a video without audio and a truncated mp4: each is recorded, none ends the run."""

import shutil

import pandas as pd
import pytest

from helpers import read_cell, run_cell, stream_types, strip_audio, truncate

pytestmark = pytest.mark.slow

MISSING, SILENT, TRUNCATED, GOOD = "demo_001", "demo_002", "demo_003", "demo_004"


@pytest.fixture(scope="module")
def broken_copy(demo_data, tmp_path_factory):
    """A local copy of the demo in Video-MME layout with three broken videos and one good one."""
    root = tmp_path_factory.mktemp("broken_demo")
    (root / "videomme").mkdir()
    (root / "data").mkdir()
    df = pd.read_parquet(demo_data / "videomme" / "test-00000-of-00001.parquet")
    df = df[df.videoID.isin([MISSING, SILENT, TRUNCATED, GOOD])].reset_index(drop=True)
    df.to_parquet(root / "videomme" / "test-00000-of-00001.parquet")
    src = demo_data / "data"
    strip_audio(src / f"{SILENT}.mp4", root / "data" / f"{SILENT}.mp4")
    assert stream_types(root / "data" / f"{SILENT}.mp4") == ["video"]
    truncate(src / f"{TRUNCATED}.mp4", root / "data" / f"{TRUNCATED}.mp4", 1 / 3)
    shutil.copy(src / f"{GOOD}.mp4", root / "data" / f"{GOOD}.mp4")
    return root, df


@pytest.fixture(scope="module")
def cell(broken_copy, tmp_path_factory, e2e_cache):
    root, _ = broken_copy
    out = tmp_path_factory.mktemp("results")
    return run_cell("rag=asr_ocr", f"task.data_dir={root}", f"results_dir={out}", f"cache_dir={e2e_cache}")


def test_the_run_completes_and_counts_every_failure(cell, broken_copy):
    _, df = broken_copy
    metrics, samples = read_cell(cell)
    assert metrics["n"] == len(df) == len(samples)
    per_video = df.videoID.value_counts()
    assert metrics["failures"] == {
        "missing_video": per_video[MISSING],
        "unreadable_video": per_video[TRUNCATED],
    }
    assert metrics["n_failed"] == per_video[MISSING] + per_video[TRUNCATED]
    # degraded is not failed: the silent video's questions were answered from the other sources
    assert metrics["n_degraded"] == per_video[SILENT] and metrics["degraded"] == {"no_audio": per_video[SILENT]}


def test_each_failed_question_says_which_file_and_what_to_do(cell):
    _, samples = read_cell(cell)
    by_video = {}
    for s in samples:
        by_video.setdefault(s["question_id"].split("-")[0], []).append(s)
    for s in by_video["001"]:
        assert s["error_kind"] == "missing_video" and f"{MISSING}.mp4" in s["error"] and "task.data_dir" in s["error"]
        assert s["prediction"] == "" and s["correct"] is False
    for s in by_video["003"]:
        assert s["error_kind"] == "unreadable_video" and f"{TRUNCATED}.mp4" in s["error"]
        assert "truncated or corrupt" in s["error"]
    log = (cell / "run.log").read_text()
    assert f"{MISSING}.mp4" in log and f"{TRUNCATED}.mp4" in log and "no audio track" in log


def test_the_silent_video_is_still_answered_from_screen_text(cell):
    _, samples = read_cell(cell)
    silent = [s for s in samples if s["video"].endswith(f"{SILENT}.mp4")]
    assert silent and all(s["error"] is None for s in silent)
    assert all([w["kind"] for w in s["warnings"]] == ["no_audio"] for s in silent)
    ocr_questions = [s for s in silent if s["categories"]["source"] == "ocr"]
    assert ocr_questions and all(s["correct"] for s in ocr_questions)
    assert all(s["aux"]["asr"] == [] for s in silent)


def test_the_good_video_is_unaffected(cell):
    _, samples = read_cell(cell)
    good = [s for s in samples if s["video"].endswith(f"{GOOD}.mp4")]
    assert all(s["error"] is None for s in good)
    assert all(s["correct"] for s in good if s["categories"]["source"] in ("asr", "ocr"))


@pytest.fixture(scope="module")
def bad_subtitles_cell(demo_data, tmp_path_factory):
    """rag=subtitles on a demo copy where one video's SRT has a garbled timing line in its second cue."""
    root = tmp_path_factory.mktemp("bad_srt_demo")
    shutil.copytree(demo_data, root, dirs_exist_ok=True, ignore=shutil.ignore_patterns("manifest.json"))
    srt = root / "subtitle" / f"{SILENT}.srt"
    cues = srt.read_text().split("\n\n")
    cues[1] = cues[1].replace(" --> ", " -> ", 1)
    srt.write_text("\n\n".join(cues))
    out = tmp_path_factory.mktemp("results")
    return run_cell("rag=subtitles", f"task.data_dir={root}", f"results_dir={out}", "limit=12"), srt


def test_a_malformed_subtitle_file_fails_its_questions_only(bad_subtitles_cell):
    cell, srt = bad_subtitles_cell
    metrics, samples = read_cell(cell)
    broken = [s for s in samples if s["video"].endswith(f"{SILENT}.mp4")]
    others = [s for s in samples if not s["video"].endswith(f"{SILENT}.mp4")]
    assert broken and others and metrics["n"] == len(samples) == 12
    for s in broken:
        assert f"{srt}: cue 2 (line 6) is malformed" in s["error"] and s["prediction"] == ""
    assert all(s["error"] is None and s["aux"]["subtitles"] for s in others)
    assert metrics["n_failed"] == len(broken)
