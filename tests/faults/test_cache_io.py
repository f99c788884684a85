"""A file-system error on the extraction cache is the cache's, never a video's (issue 25): a pack path that is a
directory (IsADirectoryError), no permission on a group-shared cache (PermissionError), a full disk -- wherever an
extractor reads or writes the cache -- stops the cell naming the file and the fix; the video is not marked failed,
and once the file is dealt with the next run computes what it should hold. Before: filed as the video's
``asr_failed``, the cell finished "degraded" with those questions answered without ASR (and every later cell of
that video on that cache the same)."""

import errno
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from conftest import REPO, cells_under
from helpers import read_cell, run_cell
from videorag_eval.store.cache import Cache
from videorag_eval.cell.runner import CellFailed

DEMO_VIDEO = REPO / "tasks" / "demo" / "data" / "data" / "demo_001.mp4"


def _pack_of(cache_dir: Path, video: Path) -> Path:
    digest = Cache(cache_dir).file_hash(video)  # packs are keyed by the video's content hash
    return Cache(cache_dir).packs.path(digest)


@pytest.mark.slow
def test_a_pack_path_that_is_a_directory_stops_the_cell_and_never_fails_the_video(tmp_path):
    cache = tmp_path / "cache"
    pack = _pack_of(cache, DEMO_VIDEO)
    pack.mkdir(parents=True)  # e.g. a half-done copy of a cache, or a stray mkdir
    args = ("rag=asr", "limit=2", f"results_dir={tmp_path / 'res'}", f"cache_dir={cache}")
    with pytest.raises(CellFailed) as err:
        run_cell(*args)
    why = str(err.value)
    assert "CacheIOError" in why and str(pack) in why and "IsADirectoryError" in why
    assert f"delete {pack}" in why and "no video is marked failed" in why
    [cell] = cells_under(tmp_path / "res")
    assert not (cell / "metrics.json").exists()
    log = (cell / "run.log").read_text()
    assert "asr_failed" not in log  # before: the video's ASR "failed" and its questions were answered without it

    pack.rmdir()  # what the message says to do; the next run transcribes the video
    metrics, samples = read_cell(run_cell(*args))
    assert metrics["n_degraded"] == 0 and all(s["aux"]["asr"] for s in samples)
    assert pack.is_file()


def test_every_cache_read_and_write_error_is_the_cache_s(tmp_path, monkeypatch):
    from videorag_eval.store.cache import CacheIOError

    cache = Cache(tmp_path / "cache")
    cache.put_json("asr_segments", "k1", {"segments": []}, group="g1")
    pack = cache.packs.path("g1")
    real_read = Path.read_bytes

    def denied(self):  # root ignores file modes: a PermissionError as a group-shared cache gives it
        if self == pack:
            raise PermissionError(errno.EACCES, "Permission denied", str(self))
        return real_read(self)

    monkeypatch.setattr(Path, "read_bytes", denied)
    with pytest.raises(CacheIOError) as err:
        Cache(tmp_path / "cache").get_json("asr_segments", "k1", group="g1")
    assert "Permission denied" in str(err.value) and "umask 002" in str(err.value) and str(pack) in str(err.value)
    monkeypatch.undo()

    # single-file entries: a directory where the entry belongs, on read (array and JSON) and on write
    for get, ext in ((cache.get_array, "npy"), (cache.get_json, "json")):
        path = cache._path("some_ns", "k2", ext)
        path.mkdir(parents=True)
        with pytest.raises(CacheIOError, match="IsADirectoryError"):
            get("some_ns", "k2")
        with pytest.raises(CacheIOError, match=f"delete {path}"):
            (cache.put_array if ext == "npy" else cache.put_json)("some_ns", "k2", np.zeros(2) if ext == "npy" else {})

    # a full disk while a pack is written: named as such, with its fix
    def full(*_args, **_kwargs):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr("videorag_eval.store.packs.write_atomic", full)
    with pytest.raises(CacheIOError) as err:
        cache.put_json("asr_segments", "k3", {"segments": []}, group="g2")
    assert "No space left on device" in str(err.value) and "free space on the cache's disk" in str(err.value)


@pytest.mark.slow
def test_extract_stops_in_one_line_on_a_cache_error(tmp_path):
    cache = tmp_path / "cache"
    pack = _pack_of(cache, DEMO_VIDEO)
    pack.mkdir(parents=True)
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1"}
    proc = subprocess.run([sys.executable, "-m", "videorag_eval.extract", "rag=asr", "limit=2", f"cache_dir={cache}",
                           f"results_dir={tmp_path / 'res'}"], capture_output=True, text=True, cwd=REPO, env=env,
                          timeout=600)
    out = proc.stdout + proc.stderr
    assert proc.returncode == 1, out[-3000:]
    assert "extraction stopped" in out and str(pack) in out and "Traceback" not in out
