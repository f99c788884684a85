"""A headline only where questions were asked (issue 25).

- A cell in which every question failed stops as systemic, whatever the kinds and however few the videos:
  ``failed.json``, no ``metrics.json``, the message names the most common failure and its fix; fixing the data
  in place and running again asks those questions again (data failures are re-checked at resume). Before:
  with fewer than 3 videos (or a mix of kinds) the cell finished at 0.0%, exit 0, skipped by later sweeps.
- A RAG cell whose token budget dropped every auxiliary document stops too (before: a ``rag=asr_ocr`` cell
  that equals ``rag=none``, exit 0).
- A cell in which more than half of the questions failed finishes, flagged: console summary, ``status``,
  the report (marked with †, never bolded as best).
"""

import json
import shutil
import subprocess
import sys

import pandas as pd
import pytest

import synthetic
from conftest import REPO, cells_under
from helpers import read_cell, run_cell
from videorag_eval.cell.runner import CellFailed


def test_the_rule_names_the_most_common_kind_and_its_fix():
    from videorag_eval.core.failures import MOSTLY_FAILED, mostly_failed, no_question_asked

    records = [{"doc_id": i, "video": "v1.mp4", "error": f"bad_subtitles: file {i}", "error_kind": "bad_subtitles"}
               for i in range(3)] + [{"doc_id": 3, "video": None, "error": "unsafe_path: x", "error_kind": "unsafe_path"}]
    why = str(no_question_asked(records))
    assert "all 4 questions (2 video(s)) failed (3 bad_subtitles, 1 unsafe_path)" in why
    assert "most common: bad_subtitles, e.g. bad_subtitles: file 0" in why and "re-extract or fix them" in why
    assert no_question_asked(records + [{"doc_id": 9, "error": None}]) is None  # one question asked: no stop
    assert no_question_asked([]) is None
    # mostly failed: strictly more than half
    assert MOSTLY_FAILED == 0.5 and mostly_failed(4, 3) and not mostly_failed(4, 2) and not mostly_failed(0, 0)


@pytest.fixture
def two_video_copy(tmp_path):
    """A Video-MME copy of the demo's first two videos' questions (fewer than the 3 videos the "first 10 alike"
    rule needs), their videos moved away (a wrong layout)."""
    root = synthetic.make_videomme(tmp_path / "copy")
    ann = root / "videomme" / "test-00000-of-00001.parquet"
    df = pd.read_parquet(ann)
    df[df.videoID.isin(["demo_001", "demo_002"])].to_parquet(ann)
    away = tmp_path / "away"
    away.mkdir()
    for vid in ("demo_001", "demo_002"):
        shutil.move(root / "data" / f"{vid}.mp4", away / f"{vid}.mp4")
    return root, away


@pytest.mark.slow
def test_a_cell_with_no_question_asked_stops_and_a_fixed_copy_resumes(two_video_copy, tmp_path, e2e_cache):
    root, away = two_video_copy
    args = ("task=videomme", "rag=none", f"task.data_dir={root}", f"results_dir={tmp_path / 'res'}",
            f"cache_dir={e2e_cache}")
    with pytest.raises(CellFailed) as err:  # before: finished, accuracy 0.0, exit 0
        run_cell(*args)
    why = str(err.value)
    assert "no question could be asked" in why and "failed (" in why and "missing_video" in why
    assert "check task.data_dir" in why and "2 video(s)" in why
    [cell] = cells_under(tmp_path / "res")
    assert not (cell / "metrics.json").exists() and not (cell / "samples.jsonl").exists()
    assert json.loads((cell / "failed.json").read_text())["error_type"] == "SystemicFailure"
    status = subprocess.run([sys.executable, "-m", "videorag_eval.status", str(tmp_path / "res")], capture_output=True,
                            text=True, cwd=REPO, timeout=120)
    assert status.stdout.splitlines()[1].startswith("failed")

    for video in away.iterdir():  # the user fixes the copy in place and runs the same command again
        shutil.move(video, root / "data" / video.name)
    metrics, samples = read_cell(run_cell(*args))
    assert metrics["n_failed"] == 0 and metrics["resumed"] == 0  # every failed question was asked again
    assert all(s["error"] is None for s in samples)


@pytest.fixture
def lvb_all_failing(tmp_path):
    """A LongVideoBench copy whose subtitle files lmms-eval cannot read (most questions), one row whose video
    path leaves the copy, and one whose subtitle file is missing: every question of rag=subtitles fails."""
    root = synthetic.make_longvideobench(tmp_path / "lvb")
    rows = json.loads((root / "lvb_val.json").read_text())[:8]
    for sub in (root / "subtitles").iterdir():
        sub.write_text('[{"start": "00:00:01.000", "end": 5, "line": "a float end lmms-eval cannot read"}]')
    rows[0] = {**rows[0], "video_path": "../../elsewhere.mp4"}
    rows[1] = {**rows[1], "subtitle_path": "not_there.json"}
    (root / "lvb_val.json").write_text(json.dumps(rows))
    return root


@pytest.mark.slow
def test_every_question_failing_in_a_mix_of_kinds_stops_naming_the_most_common(lvb_all_failing, tmp_path, e2e_cache):
    with pytest.raises(CellFailed) as err:  # before: 0.0% finished (9 bad_subtitles, 3 unsafe_path in the probe)
        run_cell("task=longvideobench", "rag=subtitles", "aux=packaged", f"task.data_dir={lvb_all_failing}",
                 f"results_dir={tmp_path / 'res'}", f"cache_dir={e2e_cache}")
    why = str(err.value)
    assert "no question could be asked: all 8 questions" in why
    assert "6 bad_subtitles, 1 unsafe_path, 1 missing_subtitles" in why and "most common: bad_subtitles" in why
    assert "re-extract or fix them" in why
    [cell] = cells_under(tmp_path / "res")
    assert not (cell / "metrics.json").exists() and (cell / "failed.json").exists()


@pytest.mark.slow
def test_a_budget_that_drops_every_document_stops_the_rag_cell(tmp_path, e2e_cache):
    # auto budget: 100 tokens of context left beside 8 frames x 10 tokens, 16 new tokens and the overhead: every
    # question's own prompt is longer, so no auxiliary document fits (the settings check cannot know the prompts)
    common = ("rag=asr_ocr", "rag.threshold=-1", "limit=3", f"cache_dir={e2e_cache}", "+model.tokens_per_frame=10")
    with pytest.raises(CellFailed) as err:  # before: finished as a RAG cell with no auxiliary text, exit 0
        run_cell(*common, f"+model.context_tokens={8 * 10 + 16 + 64 + 20}", f"results_dir={tmp_path / 'small'}")
    why = str(err.value)
    assert "the token budget left no room for auxiliary text" in why and "rag.token_budget" in why
    [cell] = cells_under(tmp_path / "small")
    assert not (cell / "metrics.json").exists()
    journal = [json.loads(line) for line in (cell / "journal.jsonl").read_text().splitlines()]
    assert journal and all(r["aux_dropped"] and not any(r["aux"].get(s) for s in ("asr", "ocr")) for r in journal)
    # the same cell with room for some text finishes
    metrics, _ = read_cell(run_cell(*common, "+model.context_tokens=1000000", f"results_dir={tmp_path / 'large'}"))
    assert metrics["n"] == 3 and metrics["token_budget"]["docs_dropped"] == 0


# -- mostly failed cells: finished, flagged everywhere their number is shown ------------------------------------

def _metrics(n: int, n_failed: int, accuracy: float, rag: str) -> dict:
    return {"model": "m", "task": "demo", "frames": 8, "n": n, "n_failed": n_failed, "parser": "lmms_eval",
            "accuracy": accuracy, "failures": {"missing_video": n_failed} if n_failed else {},
            "rag": {"asr": rag == "full", "ocr": rag == "full", "det": rag == "full", "subtitles": False,
                    "threshold": 0.3, "label": rag}, "timings": {"total": 1.0}}


def _cell(root, name: str, rag: str, correct: list[int], failed: int):
    cell = root / "demo" / "m" / name
    cell.mkdir(parents=True)
    rows = [{"doc_id": i, "question_id": f"q{i}", "video": f"v{i % 3}.mp4", "correct": bool(c), "answer": "A",
             "prediction": "A" if c else "", "parsed": "A" if c else None, "categories": {"source": "asr"},
             "error": "missing_video: x" if i < failed else None, "error_kind": "missing_video" if i < failed else None}
            for i, c in enumerate(correct)]
    (cell / "samples.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    (cell / "config.yaml").write_text("model:\n  name: m\ntask:\n  name: demo\nframes: 8\nlimit: 8\n")
    accuracy = round(100 * sum(correct) / len(correct), 2)
    (cell / "metrics.json").write_text(json.dumps(_metrics(len(correct), failed, accuracy, rag)))
    return cell


@pytest.fixture
def flagged_tree(tmp_path):
    # none: 2 of 8 right, nothing failed; full: 5 of 8 failed, the 3 asked all right (37.5%, the best number)
    _cell(tmp_path, "f8-none-n8-aaaa", "none", [1, 1, 0, 0, 0, 0, 0, 0], 0)
    _cell(tmp_path, "f8-full-n8-bbbb", "full", [0, 0, 0, 0, 0, 1, 1, 1], 5)
    return tmp_path


def test_status_flags_a_mostly_failed_cell(flagged_tree):
    proc = subprocess.run([sys.executable, "-m", "videorag_eval.status", str(flagged_tree)], capture_output=True,
                          text=True, cwd=REPO, timeout=120)
    assert proc.returncode == 0, proc.stderr
    full = next(line for line in proc.stdout.splitlines() if "f8-full" in line)
    assert full.startswith("finished") and "mostly failed: 5 of 8 questions failed (62%)" in full
    none = next(line for line in proc.stdout.splitlines() if "f8-none" in line)
    assert "mostly failed" not in none
    assert "; 1 of the finished mostly failed" in proc.stdout


def test_the_report_marks_a_mostly_failed_cell_and_never_bolds_it(flagged_tree):
    proc = subprocess.run([sys.executable, "-m", "videorag_eval.report", str(flagged_tree), "--bootstrap", "200"],
                          capture_output=True, text=True, cwd=REPO, timeout=300)
    assert proc.returncode == 0, proc.stderr
    assert "f8-full-n8-bbbb: mostly failed: 5 of 8 questions failed (62%)" in proc.stdout
    ablation = pd.read_csv(flagged_tree / "report" / "ablation.csv")
    assert dict(zip(ablation["rag"], ablation["mostly_failed"])) == {"none": False, "full": True}
    paper = (flagged_tree / "report" / "paper_table.md").read_text()
    assert "37.5 †" in paper and "**37.5" not in paper  # the highest number, but not the best: not bolded
    assert "**25.0**" in paper  # the best of the cells whose questions were asked
    assert "37.5 †" in (flagged_tree / "report" / "ablation.md").read_text()
    assert "mostly failed" in (flagged_tree / "report" / "index.html").read_text()


def test_the_console_summary_warns_about_a_mostly_failed_cell(tmp_path, capsys):
    from videorag_eval.report.summary import print_summary

    print_summary(_metrics(8, 5, 37.5, "full"), tmp_path)
    out = capsys.readouterr().out
    assert "WARNING: mostly failed: 5 of 8 questions failed (62%)" in out
    print_summary(_metrics(8, 4, 37.5, "full"), tmp_path)  # half is not "mostly"
    assert "mostly failed" not in capsys.readouterr().out
