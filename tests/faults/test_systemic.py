"""Data failures vs systemic failures: a systemic error stops the cell without metrics.json, keeps its
journal of good answers, writes failed.json, and a resume re-asks the questions it did not answer."""

import json
import shutil

import pandas as pd
import pytest

from conftest import cells_under, run_cli
from helpers import read_cell, run_cell
from videorag_eval.cell.runner import CellFailed


def test_a_bug_stops_the_cell_and_a_resume_reasks_what_it_did_not_answer(tmp_path, monkeypatch, e2e_cache):
    from videorag_eval.models.text_only import TextOnlyMatcher

    real, calls = TextOnlyMatcher.generate_until, {"n": 0}

    def buggy(self, requests):  # stands in for a bug / a crash of the inner model from the 3rd question on
        calls["n"] += 1
        if calls["n"] > 2:
            raise RuntimeError("simulated bug in the inner model")
        return real(self, requests)

    monkeypatch.setattr(TextOnlyMatcher, "generate_until", buggy)
    args = ("rag=none", "limit=4", f"results_dir={tmp_path}", f"cache_dir={e2e_cache}")
    with pytest.raises(CellFailed) as err:
        run_cell(*args)
    assert "RuntimeError: simulated bug in the inner model" in str(err.value)
    [cell] = cells_under(tmp_path)
    assert not (cell / "metrics.json").exists() and not (cell / "samples.jsonl").exists()
    failed = json.loads((cell / "failed.json").read_text())
    assert failed["error_type"] == "RuntimeError" and failed["answered"] == 2 and "simulated bug" in failed["error"]
    journal = [json.loads(line) for line in (cell / "journal.jsonl").read_text().splitlines()]
    assert len(journal) == 2 and all(r["error"] is None and r["prediction"] for r in journal)  # no failure journalled

    monkeypatch.setattr(TextOnlyMatcher, "generate_until", real)
    assert run_cell(*args) == cell
    metrics, samples = read_cell(cell)
    assert metrics["n"] == 4 and metrics["n_failed"] == 0 and metrics["resumed"] == 2
    assert not (cell / "failed.json").exists()


@pytest.fixture(scope="module")
def no_videos(demo_data, tmp_path_factory):
    """A Video-MME copy whose annotation file is there but whose videos are not (a wrong data_dir)."""
    root = tmp_path_factory.mktemp("no_videos")
    (root / "videomme").mkdir()
    shutil.copy(demo_data / "videomme" / "test-00000-of-00001.parquet", root / "videomme")
    return root


def test_every_question_failing_alike_is_systemic(no_videos, tmp_path, e2e_cache):
    df = pd.read_parquet(no_videos / "videomme" / "test-00000-of-00001.parquet")
    assert df.videoID[:10].nunique() >= 3
    proc = run_cli("rag=none", "limit=12", f"task.data_dir={no_videos}", f"results_dir={tmp_path}", f"cache_dir={e2e_cache}")
    assert proc.returncode == 1, proc.stderr[-3000:]
    assert "all failed alike (missing_video)" in proc.stderr and "task.data_dir" in proc.stderr
    [cell] = cells_under(tmp_path)
    assert not (cell / "metrics.json").exists()
    assert json.loads((cell / "failed.json").read_text())["error_type"] == "SystemicFailure"


def test_a_journalled_non_data_failure_is_asked_again(tmp_path):
    """Older runs journalled every failure; only data failures count as done on resume."""
    from videorag_eval.store.journal import Journal

    path = tmp_path / "journal.jsonl"
    lines = [{"doc_id": 0, "prediction": "A", "error": None},
             {"doc_id": 1, "prediction": "", "error": "ValueError: rag.order", "error_kind": "error"},
             {"doc_id": 2, "prediction": "", "error": "missing_video: x", "error_kind": "missing_video"}]
    path.write_text("".join(json.dumps(r) + "\n" for r in lines))
    journal = Journal(path)
    assert journal.get(0) and journal.get(2) and journal.get(1) is None
