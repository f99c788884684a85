"""Sweeps go on past a refused cell (a real Hydra multirun), and one writer per cell (flock)."""

import json
import signal
import subprocess
import sys
import time

import pytest

from conftest import REPO, cells_under, run_cli
from helpers import compose, run_cell
from videorag_eval.cell import identity as cells
from videorag_eval.cell.lock import CellBusy, CellLock, is_locked


@pytest.mark.slow
def test_a_sweep_with_one_invalid_cell_finishes_the_others(tmp_path, e2e_cache):
    proc = run_cli("-m", "rag=none", "limit=2", "frames=4,0,8", f"results_dir={tmp_path}", f"cache_dir={e2e_cache}")
    assert proc.returncode == 2, proc.stderr[-3000:]  # every failed cell was a refused setting
    assert "1 cell(s) of this sweep did not finish" in proc.stderr and "frames=0" in proc.stderr
    finished = [c for c in cells_under(tmp_path) if (c / "metrics.json").exists()]
    assert sorted(json.loads((c / "metrics.json").read_text())["frames"] for c in finished) == [4, 8]
    assert len(cells_under(tmp_path)) == 2  # the refused cell left no directory


HOLD = ("import sys, time; from pathlib import Path; from videorag_eval.cell.lock import CellLock; "
        "l = CellLock(Path(sys.argv[1])).__enter__(); print('held', flush=True); time.sleep(600)")


def test_a_second_writer_is_refused_and_a_dead_one_holds_nothing(tmp_path, e2e_cache):
    args = ("rag=none", "limit=2", f"results_dir={tmp_path}", f"cache_dir={e2e_cache}")
    cell = cells.cell_dir(compose(*args))
    holder = subprocess.Popen([sys.executable, "-c", HOLD, str(cell)], stdout=subprocess.PIPE, text=True, cwd=REPO)
    try:
        assert holder.stdout.readline().strip() == "held"
        assert is_locked(cell)
        with pytest.raises(CellBusy) as err:
            run_cell(*args)
        assert f'"pid": {holder.pid}' in str(err.value) and "another process" in str(err.value)
        assert not (cell / "journal.jsonl").exists() and not (cell / "config.yaml").exists()
    finally:
        holder.send_signal(signal.SIGKILL)
        holder.wait()
    assert not is_locked(cell)  # the kernel released the dead process's lock
    run_cell(*args)
    assert (cell / "metrics.json").exists() and not is_locked(cell)
    with CellLock(cell):  # and it is free again after a normal run
        assert is_locked(cell)
