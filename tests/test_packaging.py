"""A real package: the wheel carries conf/, tasks/ and the report's templates, and an installed copy (no source
tree) runs the demo from an unrelated directory, writing ./results there, and reports it."""

import json
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
SOURCES = ("pyproject.toml", "setup.py", "README.md", "videorag_eval", "hydra_plugins", "conf", "tasks")


def tracked_files(folder: str) -> set[str]:
    out = subprocess.run(["git", "-C", str(REPO), "ls-files", folder], capture_output=True, text=True, check=True)
    return {line for line in out.stdout.splitlines() if line}


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    """Build the wheel from a copy of the sources (the checkout is left untouched)."""
    src = tmp_path_factory.mktemp("src")
    for name in SOURCES:
        path = REPO / name
        if path.is_dir():
            shutil.copytree(path, src / name, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
        else:
            shutil.copy2(path, src / name)
    out = tmp_path_factory.mktemp("wheel")
    subprocess.run([sys.executable, "-m", "pip", "wheel", str(src), "--no-deps", "--no-build-isolation", "-q",
                    "-w", str(out)], check=True, capture_output=True, text=True)
    (whl,) = out.glob("videorag_eval-*.whl")
    return whl


def test_wheel_ships_every_config_and_task_file(wheel):
    names = set(zipfile.ZipFile(wheel).namelist())
    for folder in ("conf", "tasks"):
        expected = {f"videorag_eval/{f}" for f in tracked_files(folder)}
        assert expected, f"git lists no files under {folder}/"
        missing = sorted(expected - names)
        assert not missing, f"the wheel lacks {missing[:5]}"
    # hydra/launcher=slurm needs its plugin where Hydra looks for plugins
    assert "hydra_plugins/videorag_eval_launcher/slurm.py" in names
    # the report's pages are drawn from its templates
    templates = tracked_files("videorag_eval/report/templates")
    assert {"videorag_eval/report/templates/index.html.j2", "videorag_eval/report/templates/cell.html.j2"} <= templates
    assert not sorted(templates - names), f"the wheel lacks {sorted(templates - names)}"


@pytest.mark.slow
def test_installed_wheel_runs_the_demo_from_another_directory(wheel, tmp_path):
    site = tmp_path / "site"
    subprocess.run([sys.executable, "-m", "pip", "install", "--no-deps", "-q", "--target", str(site), str(wheel)],
                   check=True, capture_output=True, text=True)
    workdir = tmp_path / "elsewhere"
    workdir.mkdir()
    env = {**os.environ, "PYTHONPATH": str(site), "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1",
           "HF_DATASETS_OFFLINE": "1"}
    where = subprocess.run([sys.executable, "-c", "import videorag_eval.core.resources as r; print(r.CONF_DIR)"],
                           cwd=workdir, env=env, capture_output=True, text=True, check=True)
    assert Path(where.stdout.strip()).is_relative_to(site), "the installed copy, not the checkout, must be used"
    run = subprocess.run([sys.executable, "-m", "videorag_eval", "limit=2", "rag=asr"], cwd=workdir, env=env,
                         capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, run.stderr[-3000:]
    (metrics,) = (workdir / "results").glob("demo/text_only/*/metrics.json")
    data = json.loads(metrics.read_text())
    assert data["n"] == 2 and data["n_failed"] == 0
    assert data["versions"]["git_commit"] is None  # an installed copy has no checkout to name
    assert "accuracy" in run.stdout
    # the report of those results, from the installed copy's templates
    report = subprocess.run([sys.executable, "-m", "videorag_eval.report", "results", "--bootstrap", "200"], cwd=workdir,
                            env=env, capture_output=True, text=True, timeout=600)
    assert report.returncode == 0, report.stderr[-3000:]
    index = (workdir / "results" / "report" / "index.html").read_text()
    assert "Ablation: one row per cell" in index and "text_only" in index
    (page,) = (workdir / "results" / "report" / "cells").glob("*.html")
    assert page.read_text().count("<tr class=\"q ") == 2
