"""lmms-eval's own CLI runs a cell's configuration through the ``videorag`` plugin model
(``lmms-eval --model videorag --model_args config=<cell>/config.yaml``), with the same parts as
``python -m videorag_eval``: the decoupling replies of the cell are reused, not generated again."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys

import pytest
from omegaconf import OmegaConf

from helpers import read_cell, run_cell

pytestmark = pytest.mark.slow


def test_lmms_eval_cli_runs_a_cell_config_with_its_decoupling_cache(tmp_path, e2e_cache):
    from videorag_eval.lmms.tasks import prepare_task

    script = tmp_path / "script.json"  # its own script: its own decoupling-cache key
    script.write_text(json.dumps({"*": {"ASR": "what the narrator says", "DET": None, "TYPE": None}}))
    cell = run_cell("model=scripted", f"model.model_args.script={script}", "rag=asr", "limit=3",
                    f"results_dir={tmp_path / 'results'}", f"cache_dir={e2e_cache}")
    metrics, samples = read_cell(cell)
    assert metrics["decoupling"]["generated"] == 3 and not any(s["request_cached"] for s in samples)

    cli_cell = tmp_path / "cli_cell"
    cli_cell.mkdir()
    shutil.copy(cell / "config.yaml", cli_cell / "config.yaml")
    cfg = OmegaConf.load(cli_cell / "config.yaml")
    task, include_path, _ = prepare_task(cfg.task, cfg.cache_dir)
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1"}
    proc = subprocess.run(
        [sys.executable, "-m", "lmms_eval", "--model", "videorag", "--model_args", f"config={cli_cell / 'config.yaml'}",
         "--tasks", task, "--include_path", include_path, "--limit", "3", "--output_path", str(tmp_path / "out")],
        capture_output=True, text=True, env=env, cwd=tmp_path, timeout=600)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-3000:]
    assert f"{task}_accuracy" in proc.stdout
    journal = [json.loads(line) for line in (cli_cell / "journal.jsonl").read_text().splitlines()]
    assert sorted(r["doc_id"] for r in journal) == [0, 1, 2]
    assert all(r["request_cached"] for r in journal), "the CLI path generated decoupling replies the cell had"
    by_doc = {s["doc_id"]: s for s in samples}
    for r in journal:
        assert r["request"] == by_doc[r["doc_id"]]["request"]
        assert r["prediction"] == by_doc[r["doc_id"]]["prediction"]
