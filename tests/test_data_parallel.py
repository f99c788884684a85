"""One cell as 2 data-parallel CPU ranks (torchrun, gloo) equals the one-process cell question for
question; a cell killed with SIGKILL mid-run and resumed (here as 2 ranks) answers every question
exactly once with the same metrics."""

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from helpers import REPO, read_cell

pytestmark = pytest.mark.slow

LIMIT = 10  # three demo videos
SETTING = ("frames=4", "rag=full")  # every source; 4 frames keeps OCR affordable
# what legitimately differs between two runs of the same question: wall time, and the DET note saying
# how many frames were decoded (none when the detections were already cached)
TIMING = {"seconds"}


def _cmd(ranks: int) -> list[str]:
    if ranks == 1:
        return [sys.executable, "-m", "videorag_eval"]
    return [sys.executable, "-m", "torch.distributed.run", "--standalone", f"--nproc_per_node={ranks}", "-m", "videorag_eval"]


def _run(ranks, results, cache, *extra, timeout=900):
    proc = subprocess.run([*_cmd(ranks), *SETTING, f"limit={LIMIT}", f"results_dir={results}", f"cache_dir={cache}", *extra],
                          cwd=REPO, capture_output=True, text=True, timeout=timeout)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    (cell,) = Path(results).glob("demo/text_only/*")
    return cell


def _comparable(sample):
    out = {k: v for k, v in sample.items() if k not in TIMING}
    if out.get("det"):
        out["det"] = {k: v for k, v in out["det"].items() if k != "seconds"}
        out["det"]["notes"] = [n for n in out["det"].get("notes", []) if not n.startswith("decoded ")]
    return out


def _same_cell(a: Path, b: Path):
    ma, sa = read_cell(a)
    mb, sb = read_cell(b)
    assert [s["doc_id"] for s in sb] == [s["doc_id"] for s in sa] == sorted({s["doc_id"] for s in sa})
    for x, y in zip(sa, sb):
        assert _comparable(x) == _comparable(y), f"doc {x['doc_id']} differs"
    for key in ("accuracy", "n", "n_failed", "by_category", "lmms_eval", "rag", "parser"):
        assert ma[key] == mb[key], key
    return mb


@pytest.fixture(scope="module")
def one_rank_cell(tmp_path_factory, e2e_cache):
    return _run(1, tmp_path_factory.mktemp("dp1"), e2e_cache)


def test_two_ranks_equal_one_rank_question_for_question(one_rank_cell, tmp_path, e2e_cache):
    cell = _run(2, tmp_path / "results", e2e_cache)
    metrics = _same_cell(one_rank_cell, cell)
    assert metrics["data_parallel"]["world_size"] == 2
    journals = {p.name: [json.loads(line)["doc_id"] for line in p.read_text().splitlines()] for p in cell.glob("journal*.jsonl")}
    assert set(journals) == {"journal.rank0.jsonl", "journal.rank1.jsonl"}
    assert all(journals.values()), "each rank answered a share"
    assert sorted(journals["journal.rank0.jsonl"] + journals["journal.rank1.jsonl"]) == list(range(LIMIT))
    # assigned by video: no video's questions were split over the two ranks
    _, samples = read_cell(cell)
    video_of = {s["doc_id"]: s["video"] for s in samples}
    v0 = {video_of[d] for d in journals["journal.rank0.jsonl"]}
    v1 = {video_of[d] for d in journals["journal.rank1.jsonl"]}
    assert not v0 & v1
    # each rank pre-extracted the videos it answers, no more
    extracted = metrics["data_parallel"]["extracted"]
    assert sorted(extracted) == ["0", "1"]
    assert extracted["0"]["videos"] == len(v0) and extracted["1"]["videos"] == len(v1)


def test_a_cell_killed_mid_run_resumes_answering_each_question_once(one_rank_cell, tmp_path):
    results, cache = tmp_path / "results", tmp_path / "cache"  # a cold cache: extraction keeps the run busy
    proc = subprocess.Popen([*_cmd(1), *SETTING, f"limit={LIMIT}", f"results_dir={results}", f"cache_dir={cache}"], cwd=REPO,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.time() + 600
        answered = 0
        while time.time() < deadline and proc.poll() is None:
            journals = list(results.glob("demo/text_only/*/journal*.jsonl"))
            answered = sum(len(p.read_text().splitlines()) for p in journals)
            if answered >= 1:
                break
            time.sleep(0.2)
        assert proc.poll() is None, "the run ended before it could be killed"
        assert 1 <= answered < LIMIT
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
    (cell,) = results.glob("demo/text_only/*")
    assert not (cell / "metrics.json").exists()
    before = {json.loads(line)["doc_id"] for line in (cell / "journal.jsonl").read_text().splitlines() if line.endswith("}")}

    from videorag_eval.status import cell_state

    assert cell_state(cell).state == "interrupted"
    resumed = _run(2, results, cache)  # resumed as two ranks: the killed run's unanswered questions are asked
    assert resumed == cell
    _same_cell(one_rank_cell, cell)
    new = [json.loads(line)["doc_id"] for p in cell.glob("journal.rank*.jsonl") for line in p.read_text().splitlines()]
    assert sorted(new) == sorted(set(range(LIMIT)) - before), "answered questions were asked again, or some never"
