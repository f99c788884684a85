"""Which jobs of a sweep `hydra/launcher=slurm` submits (no cluster needed: nothing is submitted here)."""

import subprocess
import sys

import pytest

from helpers import REPO
from videorag_eval.core.resources import CONF_DIR


@pytest.fixture()
def loader_and_config(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # cells the plan names stay in this test's folder, never the checkout's results/
    from hydra._internal.config_loader_impl import ConfigLoaderImpl
    from hydra._internal.utils import create_config_search_path
    from hydra.types import RunMode

    loader = ConfigLoaderImpl(config_search_path=create_config_search_path(str(CONF_DIR)))
    config = loader.load_configuration("config", overrides=["hydra/launcher=slurm", f"results_dir={tmp_path}"],
                                       run_mode=RunMode.MULTIRUN)
    return loader, config


def test_finished_duplicate_and_refused_cells_are_not_submitted(loader_and_config, tmp_path):
    from videorag_eval.cell.settings import ConfigError
    from videorag_eval.sweep.submit_plan import plan, summary_line

    loader, config = loader_and_config
    jobs = [["rag=none", "rag.threshold=0.3"], ["rag=none", "rag.threshold=0.5"],  # one cell: no retrieval
            ["rag=asr"], ["rag=ocr"], ["task=mlvu", "rag=subtitles"]]
    first = plan(loader, config, jobs, 0, skip_invalid=True)
    assert [p.action for p in first] == ["submit", "duplicate", "submit", "submit", "refused"]
    assert "MLVU ships no subtitles" in first[4].note
    first[2].cell.mkdir(parents=True)
    (first[2].cell / "metrics.json").write_text("{}")  # rag=asr finished meanwhile
    again = plan(loader, config, jobs, 0, skip_invalid=True)
    assert [p.action for p in again] == ["submit", "duplicate", "finished", "submit", "refused"]
    assert summary_line(again) == ("5 job(s) in the sweep: 2 submitted, 1 already finished, 0 running elsewhere, "
                                   "1 duplicate cell(s), 1 refused setting(s)")
    with pytest.raises(ConfigError):
        plan(loader, config, jobs, 0)  # by default one refused setting stops the whole sweep


def test_a_refused_setting_submits_nothing_and_exits_2(tmp_path):
    proc = subprocess.run([sys.executable, "-m", "videorag_eval", "-m", "hydra/launcher=slurm", "task=demo,mlvu",
                           "rag=subtitles", f"results_dir={tmp_path}"], cwd=REPO, capture_output=True, text=True,
                          timeout=300)
    assert proc.returncode == 2, proc.stdout[-2000:] + proc.stderr[-2000:]
    assert "MLVU ships no subtitles" in proc.stdout + proc.stderr and "nothing submitted" in proc.stdout + proc.stderr
    assert not list(tmp_path.rglob("submissions.jsonl"))
