"""Degraded is not failed: a video without an audio track is answered from the other sources, its
questions carry a warning (no error) and count in n_degraded, not n_failed."""

import shutil

import pandas as pd
import pytest

from helpers import read_cell, run_cell, strip_audio

pytestmark = pytest.mark.slow
SILENT, GOOD = "demo_002", "demo_004"


@pytest.fixture(scope="module")
def silent_cell(demo_data, tmp_path_factory, e2e_cache):
    root = tmp_path_factory.mktemp("silent")
    (root / "videomme").mkdir()
    (root / "data").mkdir()
    df = pd.read_parquet(demo_data / "videomme" / "test-00000-of-00001.parquet")
    df = df[df.videoID.isin([SILENT, GOOD])].reset_index(drop=True)
    df.to_parquet(root / "videomme" / "test-00000-of-00001.parquet")
    strip_audio(demo_data / "data" / f"{SILENT}.mp4", root / "data" / f"{SILENT}.mp4")
    shutil.copy(demo_data / "data" / f"{GOOD}.mp4", root / "data" / f"{GOOD}.mp4")
    cell = run_cell("rag=asr_ocr", f"task.data_dir={root}", f"results_dir={tmp_path_factory.mktemp('res')}",
                    f"cache_dir={e2e_cache}")
    return df, cell


def test_the_silent_videos_questions_have_no_error_and_a_warning(silent_cell):
    df, cell = silent_cell
    metrics, samples = read_cell(cell)
    silent = [s for s in samples if s["video"].endswith(f"{SILENT}.mp4")]
    assert len(silent) == (df.videoID == SILENT).sum()
    assert all(s["error"] is None and s["error_kind"] is None for s in silent)
    assert all([w["kind"] for w in s["warnings"]] == ["no_audio"] for s in silent)
    assert all(s["aux"]["asr"] == [] for s in silent)
    ocr = [s for s in silent if s["categories"]["source"] == "ocr"]
    assert ocr and all(s["correct"] for s in ocr)  # answered from the screen text
    assert metrics["n_failed"] == 0 and metrics["n_degraded"] == len(silent) and metrics["degraded"] == {"no_audio": len(silent)}
    good = [s for s in samples if s["video"].endswith(f"{GOOD}.mp4")]
    assert good and all(s["warnings"] == [] and s["error"] is None for s in good)
