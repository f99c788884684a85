"""Sweep status from the cell files alone (CELL_PROTOCOL), video-wise rank assignment, journals of
several ranks. No model runs here."""

import fcntl
import json
import os
import subprocess
import sys

from helpers import REPO
from videorag_eval.store.journal import Journal
from videorag_eval.runtime.parallel import assign_by_video
from videorag_eval.status import cell_state, sweep_status


def _cell(root, name, files):
    cell = root / "demo" / "text_only" / name
    cell.mkdir(parents=True)
    for fname, text in files.items():
        (cell / fname).write_text(text)
    return cell


def _lines(*doc_ids):
    return "".join(json.dumps({"doc_id": d, "prediction": "A"}) + "\n" for d in doc_ids)


def test_status_names_each_state_with_answered_counts(tmp_path):
    cfg = "limit: 5\n"
    _cell(tmp_path, "f8-none-n5-aaaa", {"config.yaml": cfg, "journal.jsonl": _lines(0, 1, 2, 3, 4),
                                        "metrics.json": json.dumps({"n": 5, "accuracy": 60.0, "n_failed": 0})})
    running = _cell(tmp_path, "f8-asr_t0.3-n5-bbbb", {"config.yaml": cfg, "journal.rank0.jsonl": _lines(0, 2),
                                                     "journal.rank1.jsonl": _lines(1)})
    _cell(tmp_path, "f8-ocr_t0.3-n5-cccc", {"config.yaml": cfg, "journal.jsonl": _lines(0),
                                            "failed.json": json.dumps({"error": "CUDA out of memory", "error_type": "OutOfMemoryError"})})
    # interrupted: two ranks' journals, one torn last line (killed mid-write), a doc answered twice
    _cell(tmp_path, "f4-none-n5-dddd", {"config.yaml": cfg, "journal.rank0.jsonl": _lines(0, 2) + '{"doc_id": 4, "pred',
                                        "journal.rank1.jsonl": _lines(1, 2)})
    (tmp_path / ".cache" / "x").mkdir(parents=True)  # never listed as a cell

    lock = running / ".lock"
    lock.write_text(json.dumps({"pid": os.getpid(), "host": "here", "started": "now"}))
    fd = os.open(lock, os.O_RDWR)
    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    try:
        rows = {r.cell.split("/")[-1]: r for r in sweep_status(tmp_path)}
        assert {k: (r.state, r.answered) for k, r in rows.items()} == {
            "f8-none-n5-aaaa": ("finished", 5), "f8-asr_t0.3-n5-bbbb": ("running", 3),
            "f8-ocr_t0.3-n5-cccc": ("failed", 1), "f4-none-n5-dddd": ("interrupted", 3)}
        assert "OutOfMemoryError" in rows["f8-ocr_t0.3-n5-cccc"].detail
        assert f"pid {os.getpid()}" in rows["f8-asr_t0.3-n5-bbbb"].detail

        out = subprocess.run([sys.executable, "-m", "videorag_eval.status", str(tmp_path)], capture_output=True,
                             text=True, cwd=REPO, check=True).stdout
        assert "4 cell(s): 1 finished, 1 running, 1 failed, 1 interrupted" in out
        assert "3/5" in out  # answered out of the cell's limit
    finally:
        os.close(fd)
    # the lock holder died (here: released): the cell is no longer running
    assert cell_state(running).state == "interrupted"


def test_status_of_a_missing_directory_is_a_clear_error(tmp_path):
    proc = subprocess.run([sys.executable, "-m", "videorag_eval.status", str(tmp_path / "nope")], capture_output=True,
                          text=True, cwd=REPO)
    assert proc.returncode == 2 and "no such directory" in proc.stderr


def test_questions_are_assigned_by_whole_videos_and_balanced():
    items = [(0, "a"), (1, "a"), (2, "b"), (3, "c"), (4, "a"), (5, "c"), (6, "d"), (7, "b")]
    owner = assign_by_video(items, 2)
    for video in "abcd":
        assert len({owner[d] for d, v in items if v == video}) == 1, f"video {video} split over ranks"
    loads = [sum(owner[d] == r for d, _ in items) for r in (0, 1)]
    assert sorted(loads) == [4, 4]
    assert owner == assign_by_video(items, 2)  # every rank computes the same assignment
    assert set(assign_by_video(items, 1).values()) == {0}


def test_a_rank_journal_sees_every_rank_and_a_torn_line_never_swallows_the_next(tmp_path):
    (tmp_path / "journal.rank1.jsonl").write_text(_lines(1, 3))
    (tmp_path / "journal.rank0.jsonl").write_text(_lines(0) + '{"doc_id": 2, "predic')  # killed mid-write
    journal = Journal(tmp_path / "journal.rank0.jsonl", siblings=True)
    assert sorted(journal.records) == [0, 1, 3]
    journal.append({"doc_id": 2, "prediction": "B"})
    assert sorted(Journal(tmp_path / "journal.jsonl", siblings=True).records) == [0, 1, 2, 3]
    assert sorted(Journal(tmp_path / "journal.rank0.jsonl").records) == [0, 2]  # its own file only
