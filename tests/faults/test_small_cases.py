"""The smaller cases of issue 19: a 0-byte annotation file is refused up front naming it (exit 2, no cell
directory); ``frames`` above the video's frame count is capped (the record does not hold 100,000
indices); temporaries left by killed writers are cleaned up (cache and cell), live ones are not."""

import json
import os
import time

import pytest

import synthetic
from conftest import cells_under, run_cli
from helpers import compose, read_cell, run_cell
from videorag_eval.cell import identity as cells
from videorag_eval.store.cache import Cache

HOUR_AGO = time.time() - 2 * 3600


def test_a_zero_byte_annotation_file_is_refused_before_a_cell_exists(tmp_path):
    root = synthetic.make_videomme(tmp_path / "copy")
    ann = root / "videomme" / "test-00000-of-00001.parquet"
    ann.write_bytes(b"")  # an interrupted copy
    results = tmp_path / "res"
    proc = run_cli("task=videomme", "rag=none", f"task.data_dir={root}", f"results_dir={results}",
                   f"cache_dir={tmp_path / 'cache'}")
    assert proc.returncode == 2, proc.stderr  # before: RetryError[... ArrowInvalid], exit 1, a failed cell
    assert f"{ann} is empty (0 bytes)" in proc.stderr and "Traceback" not in proc.stderr
    assert cells_under(results) == []


def _stale(path):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"half a file")
    os.utime(path, (HOUR_AGO, HOUR_AGO))
    return path


def test_stale_temporaries_in_the_cache_are_removed_and_live_ones_kept(tmp_path):
    stale = [_stale(tmp_path / "packs" / "ab" / ".abcd.pack.k2j3h4.tmp"), _stale(tmp_path / ".layout.json.x1y2z3.tmp"),
             _stale(tmp_path / "lmms_tasks" / "0123" / ".videorag_demo.yaml.q9w8e7.tmp")]
    live = tmp_path / "packs" / "cd" / ".cdef.pack.a1b2c3.tmp"  # another process writing it right now
    live.parent.mkdir(parents=True)
    live.write_bytes(b"being written")
    kept = _stale(tmp_path / "packs" / "ab" / "notes.tmp")  # not a write_atomic temporary: not ours to remove
    cache = Cache(tmp_path)
    assert cache.get_json("ns", "k" * 64, group="video") is None  # the first access of the process sweeps
    assert not any(p.exists() for p in stale)
    assert live.exists() and kept.exists()
    assert cache.stats["tmp.removed"] == len(stale)


@pytest.fixture(scope="module")
def capped_cell(tmp_path_factory):
    results = tmp_path_factory.mktemp("res")
    args = ("frames=100000", "rag=none", "limit=1", f"results_dir={results}",
            f"cache_dir={tmp_path_factory.mktemp('cache')}")
    cell = cells.cell_dir(compose(*args))
    stale = _stale(cell / ".samples.jsonl.a8s7d6.tmp")  # a killed run's half-written file
    return run_cell(*args), stale


@pytest.mark.slow
def test_frames_above_the_video_length_are_capped_in_the_record(capped_cell):
    cell, _ = capped_cell
    _, samples = read_cell(cell)
    frames = samples[0]["frames"]
    # the demo videos have 120 frames: each once, in order (before: 100,000 indices, mostly repeats)
    assert len(frames["indices"]) == 120 and frames["indices"] == sorted(set(frames["indices"]))
    assert frames["capped_from"] == 100000 and "capped" in frames["note"]
    assert len(json.dumps(samples[0])) < 20000


@pytest.mark.slow
def test_a_stale_temporary_in_a_cell_is_removed_when_the_cell_runs(capped_cell):
    cell, stale = capped_cell
    assert not stale.exists()
    assert not [p for p in cell.iterdir() if p.name.endswith(".tmp")]
