"""Batched phases: with ``batch_size=B`` a cell of n questions makes ceil(n/B) answer calls and at most
as many decoupling calls, gives the same samples as ``batch_size=1`` with the scripted stand-in, sends
whole batches through the real qwen2_5_vl adapter, refuses B>1 for adapters that cannot batch (they assert
batch size 1 or answer one request at a time), and a cell killed in the middle of an answer batch resumes
with each question answered exactly once. What each request of a batch hands the model: test_batched_frames.py."""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
from pathlib import Path

import pytest
from helpers import compose, copy_demo_cache, read_cell, run_cell

pytestmark = pytest.mark.slow

SCRIPT = {
    "001-1": {"ASR": "the city where the museum tour starts", "DET": None, "TYPE": None},
    "001-3": {"ASR": None, "DET": ["sign", "lunch menu"], "TYPE": None},
    "001-4": {"ASR": None, "DET": ["red circle"], "TYPE": ["number"]},
    "002-1": "Sorry, I can only answer after watching the video.",
    "*": {"ASR": "what is said", "DET": ["sign"], "TYPE": None},
}
KEYS = ("doc_id", "question_id", "prediction", "parsed", "correct", "aux", "request", "request_note", "error",
        "error_kind", "warnings", "frames", "aux_tokens")


def _script(root: Path) -> Path:
    path = root / "script.json"
    path.write_text(json.dumps(SCRIPT))
    return path


def _scripted(root: Path, cache: Path, batch: int, limit: int = 11, results: str = "results") -> Path:
    return run_cell("model=scripted", f"model.model_args.script={_script(root)}", f"limit={limit}",
                    f"batch_size={batch}", f"results_dir={root / results}", f"cache_dir={cache}")


def test_batches_give_the_same_samples_as_one_at_a_time(tmp_path):
    n = 11
    # each a copy of the committed pre-extracted cache: extraction entries only, so both generate their replies
    one = _scripted(tmp_path, copy_demo_cache(tmp_path / "cache1"), 1, n, "r1")
    four = _scripted(tmp_path, copy_demo_cache(tmp_path / "cache4"), 4, n, "r4")
    m1, s1 = read_cell(one)
    m4, s4 = read_cell(four)
    assert one != four  # batch_size is part of the cell's identity when > 1
    assert [{k: s.get(k) for k in KEYS} for s in s1] == [{k: s.get(k) for k in KEYS} for s in s4]
    assert m1["accuracy"] == m4["accuracy"]
    assert m1["batching"]["inner_calls"] == {"decouple": n, "answer": n}
    calls = m4["batching"]["inner_calls"]
    assert calls["answer"] == math.ceil(n / 4)
    assert 1 <= calls["decouple"] <= math.ceil(n / 4)
    assert m4["batching"]["batch_sizes"]["answer"] == {"3": 1, "4": 2}
    assert m4["decoupling"]["generated"] == n and m4["decoupling"]["cached"] == 0


def test_cached_decoupling_replies_are_not_asked_again_in_batches(tmp_path):
    cache = copy_demo_cache(tmp_path / "cache")  # extraction entries only: the first run generates the replies
    _scripted(tmp_path, cache, 4, 8, "first")
    again = _scripted(tmp_path, cache, 4, 8, "second")  # same cache, new results: a new cell
    metrics, _ = read_cell(again)
    assert metrics["batching"]["inner_calls"] == {"decouple": 0, "answer": 2}
    assert metrics["decoupling"]["cached"] == 8


def test_a_cell_killed_inside_an_answer_batch_answers_each_question_once(tmp_path):
    n, batch = 12, 4
    args = [sys.executable, "-m", "videorag_eval", "model=scripted", f"model.model_args.script={_script(tmp_path)}",
            f"limit={n}", f"batch_size={batch}", f"results_dir={tmp_path / 'results'}",
            f"cache_dir={copy_demo_cache(tmp_path / 'cache')}"]
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "VIDEORAG_SCRIPTED_KILL_AT_ANSWER_CALL": "2"}
    killed = subprocess.run(args, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=600)
    assert killed.returncode == -9, killed.stderr[-2000:]
    journal = next((tmp_path / "results").rglob("journal.jsonl"))
    first = [json.loads(line) for line in journal.read_text().splitlines() if line.strip()]
    assert len(first) == batch  # the first batch; nothing of the batch being answered
    env.pop("VIDEORAG_SCRIPTED_KILL_AT_ANSWER_CALL")
    resumed = subprocess.run(args, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=600)
    assert resumed.returncode == 0, resumed.stderr[-2000:]
    lines = [json.loads(line) for line in journal.read_text().splitlines() if line.strip()]
    doc_ids = [r["doc_id"] for r in lines]
    assert sorted(doc_ids) == list(range(n))  # each question answered exactly once over both runs
    metrics, samples = read_cell(journal.parent)
    assert metrics["n"] == n and metrics["resumed"] == batch
    assert metrics["batching"]["inner_calls"]["answer"] == math.ceil((n - batch) / batch)


def test_a_batch_larger_than_the_adapter_allows_is_refused():
    from videorag_eval.cell.settings import ConfigError, check_config

    with pytest.raises(ConfigError, match=r"batch_size=4 is not allowed for model=llava_video_7b; allowed: 1 to 1"):
        check_config(compose("model=llava_video_7b", "batch_size=4"))
    check_config(compose("model=qwen2_5_vl_7b", "batch_size=8"))


def test_batch_size_one_keeps_the_cells_identity():
    from videorag_eval.cell.identity import cell_dir

    assert cell_dir(compose("batch_size=1")) == cell_dir(compose())
    assert cell_dir(compose("batch_size=2")) != cell_dir(compose())


def test_the_tiny_qwen_adapter_receives_whole_batches(tmp_path, e2e_cache):
    """Through the real qwen2_5_vl adapter: its batch_size is the cell's, and each answer call carries a batch.
    Padding may change a random tiny model's argmax: how many predictions differ is measured in bench/."""
    n = 6
    cell = run_cell("model=tiny_qwen2_5_vl", "rag=none", f"limit={n}", "batch_size=3", "frames=4",
                    f"results_dir={tmp_path / 'results'}", f"cache_dir={e2e_cache}")
    metrics, samples = read_cell(cell)
    assert metrics["batching"]["inner_calls"]["answer"] == 2
    assert metrics["batching"]["batch_sizes"]["answer"] == {"3": 2}
    assert len(samples) == n and all(s["error"] is None for s in samples)
    from omegaconf import OmegaConf

    assert OmegaConf.load(cell / "config.yaml").batch_size == 3
