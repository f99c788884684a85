"""A real SLURM sweep on the local one-node cluster (tests/slurm/start_cluster.sh):
pre-extraction as a 2-shard job array, then the 4 cells `rag=none,full frames=4,8` submitted with
`hydra/launcher=slurm` in submit-and-return mode, followed with `python -m videorag_eval.status`,
and the same sweep submitted again runs nothing."""

import json
import subprocess
import sys
import time
from pathlib import Path

import pytest

from helpers import REPO
from videorag_eval.status import sweep_status

pytestmark = pytest.mark.slow

LIMIT = 4
# the local cluster has 2 CPUs, no GPU and little memory to promise
CPU_JOBS = ("hydra/launcher=slurm", "hydra.launcher.gpus_per_node=null", "hydra.launcher.cpus_per_task=1",
            "hydra.launcher.mem_gb=null", "hydra.launcher.timeout_min=30")


def _python(*args, timeout=900):
    return subprocess.run([sys.executable, *args], cwd=REPO, capture_output=True, text=True, timeout=timeout)


def _job_logs(root: Path) -> str:
    return "\n".join(f"--- {p}\n{p.read_text()[-2000:]}" for p in sorted(root.rglob("*_log.out")))


def _wait_finished(results: Path, n: int, timeout: float = 900) -> list:
    deadline = time.time() + timeout
    while time.time() < deadline:
        rows = sweep_status(results)
        assert not [r for r in rows if r.state == "failed"], [r.detail for r in rows]
        if len(rows) == n and all(r.state == "finished" for r in rows):
            return rows
        time.sleep(2)
    raise AssertionError(f"the sweep did not finish in {timeout} s: {sweep_status(results)}\n{_job_logs(results)}")


def test_require_cache_names_what_is_missing_before_loading_any_model(tmp_path):
    proc = _python("-m", "videorag_eval", "require_cache=true", "rag=asr", "limit=2", f"results_dir={tmp_path}",
                   f"cache_dir={tmp_path / 'empty_cache'}")
    assert proc.returncode == 2, proc.stdout[-2000:] + proc.stderr[-2000:]
    log = proc.stdout + proc.stderr
    assert "require_cache=true: 1 of 1 videos have no cached ASR" in log
    assert "python -m videorag_eval.extract task=demo" in log
    assert "loading faster-whisper" not in log


def test_sharded_extraction_then_a_slurm_sweep_you_can_leave(slurm_cluster, tmp_path):
    results, cache = tmp_path / "results", tmp_path / "cache"
    common = (f"limit={LIMIT}", f"results_dir={results}", f"cache_dir={cache}")

    # 1. pre-extraction as a 2-shard SLURM array (CPU only), every frame count of the sweep
    extract = _python("-m", "videorag_eval.extract", "-m", *CPU_JOBS, "shard=0,1", "num_shards=2", "frames=[4,8]", *common)
    assert extract.returncode == 0, extract.stdout[-3000:] + extract.stderr[-3000:] + _job_logs(results)
    logs = _job_logs(results)
    assert "shard 0/2: extracted" in logs and "shard 1/2: extracted" in logs, logs

    # 2. the 4-cell sweep, submitted and returned from at once; cells read the cache only
    sweep = ("-m", "videorag_eval", "-m", *CPU_JOBS, "rag=none,full", "frames=4,8", "require_cache=true", *common)
    submit = _python(*sweep, "hydra.launcher.wait=false", timeout=300)
    assert submit.returncode == 0, submit.stdout[-3000:] + submit.stderr[-3000:]
    out = submit.stdout + submit.stderr
    assert "4 job(s) in the sweep: 4 submitted, 0 already finished" in out
    assert "follow them with: python -m videorag_eval.status" in out
    record = max(results.glob(".hydra/multirun/*/submissions.jsonl"), key=lambda p: p.stat().st_mtime)
    assert len(record.read_text().splitlines()) == 4
    assert all(json.loads(line)["slurm_job_id"] for line in record.read_text().splitlines())

    rows = _wait_finished(results, 4)
    assert sorted(r.answered for r in rows) == [LIMIT] * 4
    status = _python("-m", "videorag_eval.status", str(results), timeout=60).stdout
    assert "4 cell(s): 4 finished, 0 running, 0 failed, 0 interrupted" in status
    for metrics_file in results.glob("demo/text_only/*/metrics.json"):
        metrics = json.loads(metrics_file.read_text())
        assert metrics["n"] == LIMIT and metrics["n_failed"] == 0
        assert not metrics["models_loaded"]["asr"] and not metrics["models_loaded"]["ocr"], metrics_file

    # 3. the same sweep again: nothing is submitted
    jobs_before = len(list(results.glob(".hydra/multirun/*/.submitit/*_*")))
    again = _python(*sweep, timeout=300)
    assert again.returncode == 0, again.stdout[-3000:] + again.stderr[-3000:]
    assert "4 job(s) in the sweep: 0 submitted, 4 already finished" in again.stdout + again.stderr
    assert len(list(results.glob(".hydra/multirun/*/.submitit/*_*"))) == jobs_before


def test_a_slurm_job_of_two_tasks_runs_one_cell_as_two_ranks(slurm_cluster, tmp_path, e2e_cache):
    """`hydra.launcher.tasks_per_node=2`: one task per rank (submitit exports torch.distributed's
    variables from SLURM's); the cell equals the one-process cell."""
    setting = ("rag=asr", "frames=4", "limit=10", f"cache_dir={e2e_cache}")  # 3 videos: both ranks have work
    proc = _python("-m", "videorag_eval", "-m", *CPU_JOBS, "hydra.launcher.tasks_per_node=2", *setting,
                   f"results_dir={tmp_path / 'slurm'}")
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:] + _job_logs(tmp_path)
    local = _python("-m", "videorag_eval", *setting, f"results_dir={tmp_path / 'local'}")
    assert local.returncode == 0, local.stderr[-3000:]
    (dp,) = (tmp_path / "slurm").glob("demo/text_only/*")
    (one,) = (tmp_path / "local").glob("demo/text_only/*")
    assert sorted(p.name for p in dp.glob("journal*.jsonl")) == ["journal.rank0.jsonl", "journal.rank1.jsonl"]
    metrics = json.loads((dp / "metrics.json").read_text())
    assert metrics["data_parallel"]["world_size"] == 2
    keys = ("doc_id", "prediction", "parsed", "correct", "aux", "error")
    rows = [[{k: s.get(k) for k in keys} for s in map(json.loads, (c / "samples.jsonl").read_text().splitlines())]
            for c in (dp, one)]
    assert rows[0] == rows[1] and len(rows[0]) == 10
