"""Disk full during extraction is systemic (issue 19): the cell stops naming it, instead of recording
the video's ASR as failed and answering without it (which a later run would then keep)."""

import os
import shutil
import subprocess
import sys

import pytest

from conftest import REPO

pytestmark = pytest.mark.slow


def _can_mount_tmpfs(tmp_path) -> bool:
    if os.geteuid() != 0 or shutil.which("unshare") is None:
        return False
    probe = tmp_path / "probe"
    probe.mkdir()
    return subprocess.run(["unshare", "-m", "mount", "-t", "tmpfs", "-o", "size=16k", "tmpfs", str(probe)],
                          capture_output=True).returncode == 0


def test_a_full_cache_disk_during_asr_stops_the_cell(tmp_path):
    if not _can_mount_tmpfs(tmp_path):
        pytest.skip("needs root and unshare -m to mount a 12 KB tmpfs as a full cache disk")
    cache, results = tmp_path / "cache", tmp_path / "res"
    cache.mkdir()
    # a 12 KB file system: the layout marker, the task YAML and the file-hash memo fit; the ASR entry does not
    script = (f"mount -t tmpfs -o size=12k tmpfs {cache} && exec {sys.executable} -m videorag_eval rag=asr limit=1 "
              f"results_dir={results} cache_dir={cache} preflight.min_free_gb=0")  # the disk fills *during* the run
    # (with the default, the pre-flight refuses a cache disk under 1 GB free before any work: test_preflight.py)
    env = {**os.environ, "HF_DATASETS_CACHE": str(tmp_path / "hf_datasets"), "HF_HUB_OFFLINE": "1",
           "TRANSFORMERS_OFFLINE": "1"}
    proc = subprocess.run(["unshare", "-m", "sh", "-c", script], capture_output=True, text=True, cwd=REPO, env=env,
                          timeout=600)
    assert proc.returncode == 1, proc.stderr
    assert "No space left on device" in proc.stderr.splitlines()[-1]
    log = next(results.rglob("run.log")).read_text()
    assert "asr_failed" not in log  # before: the video's ASR "failed", the question was answered without it
    assert not list(results.rglob("metrics.json"))


def test_a_full_disk_while_the_dataset_is_prepared_is_named_in_one_line(tmp_path):
    # issue 25: lmms-eval prepares the task's dataset under tenacity's @retry; the datasets library's ENOSPC came
    # out as "RetryError[<Future at 0x... state=finished raised DatasetGenerationError>]", naming nothing
    if not _can_mount_tmpfs(tmp_path):
        pytest.skip("needs root and unshare -m to mount a 12 KB tmpfs as a full datasets cache")
    hf = tmp_path / "hf_datasets"
    hf.mkdir()
    script = (f"mount -t tmpfs -o size=12k tmpfs {hf} && exec {sys.executable} -m videorag_eval rag=none limit=2 "
              f"results_dir={tmp_path / 'res'} cache_dir={tmp_path / 'cache'}")
    env = {**os.environ, "HF_DATASETS_CACHE": str(hf), "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"}
    proc = subprocess.run(["unshare", "-m", "sh", "-c", script], capture_output=True, text=True, cwd=REPO, env=env,
                          timeout=600)
    assert proc.returncode == 1, proc.stderr[-3000:]
    last = proc.stderr.strip().splitlines()[-1]
    assert "No space left on device while lmms-eval prepared the task's dataset" in last and str(hf) in last, last
    assert "RetryError[" not in last
    cell = next((tmp_path / "res").rglob("failed.json")).parent
    assert not (cell / "metrics.json").exists()
