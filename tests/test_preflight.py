"""Pre-flight: a doomed cell or sweep is refused in seconds, before any extraction or model load, with
every problem and its fix; ``python -m videorag_eval.doctor`` prints the same without running."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent


def _run(args: list[str], cwd: Path, env_extra: dict | None = None, timeout: int = 300):
    env = {**os.environ, "HF_HUB_OFFLINE": "1", **(env_extra or {})}
    return subprocess.run([sys.executable, *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)


def _cells(results: Path) -> list[Path]:
    return [p for p in results.rglob("*") if p.is_dir() and (p / "identity.json").exists()] if results.exists() else []


def test_llava_video_on_videomme_without_llava_next_is_refused_before_any_work(tmp_path):
    """The issue's case: no LLaVA-NeXT, no hub, no cached weights -> exit 2, every problem in one message."""
    results = tmp_path / "results"
    proc = _run(["-m", "videorag_eval", "model=llava_video_7b", "task=videomme", f"results_dir={results}"], tmp_path)
    assert proc.returncode == 2, proc.stderr[-2000:]
    err = proc.stderr
    assert "[package] llava" in err and "git+https://github.com/LLaVA-VL/LLaVA-NeXT.git" in err
    for weight in ("lmms-lab/LLaVA-Video-7B-Qwen2", "Systran/faster-whisper-large-v3", "facebook/contriever",
                   "openai/clip-vit-large-patch14-336", "google/owlv2-base-patch16-ensemble"):
        assert weight in err, weight
    assert "HF_HUB_OFFLINE" in err  # why the hub cannot help
    assert _cells(results) == []  # no cell directory
    assert not (results / ".cache").exists() or not any((results / ".cache").rglob("*.json*"))  # nothing extracted


def _fake_package(root: Path, name: str, body: str) -> Path:
    pkg = root / name
    pkg.mkdir(parents=True)
    (pkg / "__init__.py").write_text(body)
    return root


def test_an_installed_package_whose_inner_import_fails_is_named_as_such(tmp_path):
    """Never 'install llava' for an llava that is installed: the failing import inside it is named."""
    site = _fake_package(tmp_path / "site", "llava",
                         "from transformers.modeling_utils import a_name_transformers_moved  # noqa\n")
    proc = _run(["-m", "videorag_eval.doctor", "model=llava_video_7b", "--checks=model"], tmp_path,
                {"PYTHONPATH": f"{site}{os.pathsep}{os.environ.get('PYTHONPATH', '')}"})
    assert proc.returncode == 2
    out = proc.stdout
    assert "[import] llava" in out and "is installed but" in out and "a_name_transformers_moved" in out
    import transformers

    assert f"transformers {transformers.__version__} is installed" in out
    assert "not installed" not in out and "pip install -r lock/requirements.txt" in out


def test_load_error_inside_an_installed_package_names_the_real_cause():
    from videorag_eval.runtime.weights import why_not_loaded

    exc = ImportError("cannot import name 'prune_linear_layer' from 'transformers.modeling_utils'")
    exc.name = "transformers.modeling_utils"
    text = why_not_loaded("inner model", "lmms-lab/LLaVA-Video-7B-Qwen2", exc)
    assert "transformers is installed but" in text and "prune_linear_layer" in text
    assert "missing package" not in text and "lock/requirements.txt" in text
    missing = ImportError("No module named 'surely_not_installed_pkg'")
    missing.name = "surely_not_installed_pkg"
    assert "missing package surely_not_installed_pkg" in why_not_loaded("inner model", "x", missing)


def test_every_shipped_model_config_passes_the_model_check_except_git_only_packages(tmp_path):
    """In the locked environment every adapter imports, with the transformers names its package needs;
    only LLaVA-NeXT and LongVA (git-only) and vLLM (GPU nodes only) are reported, as not installed."""
    models = sorted(p.stem for p in (REPO / "conf" / "model").glob("*.yaml"))
    proc = _run(["-m", "videorag_eval.doctor", "--json", "--checks=model", "model=" + ",".join(models)], tmp_path)
    report = json.loads(proc.stdout)
    assert report["cells"] == len(models)
    problems = {(p["check"], p["subject"]) for p in report["problems"]}
    assert problems == {("package", "llava"), ("package", "longva"), ("package", "vllm")}, report["problems"]


def test_doctor_checks_a_sweep_once_per_distinct_thing(tmp_path):
    proc = _run(["-m", "videorag_eval.doctor", "-m", "model=text_only,scripted", "rag=none,full", "frames=4,8"],
                tmp_path)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "8 cell(s)" in proc.stdout and "ready" in proc.stdout
    bad = _run(["-m", "videorag_eval.doctor", "--json", "rag=none,full", "frames=4,8",
                f"task.data_dir={tmp_path / 'nowhere'}", "preflight.min_free_gb=1e9"], tmp_path)
    assert bad.returncode == 2
    report = json.loads(bad.stdout)
    assert report["cells"] == 4
    assert sorted(p["check"] for p in report["problems"]) == ["data", "disk"]  # each once, not once per cell
    assert "nowhere" in report["problems"][0]["problem"] + report["problems"][1]["problem"]


def test_a_model_argument_the_adapter_refuses_is_named(tmp_path):
    proc = _run(["-m", "videorag_eval.doctor", "model=tiny_qwen2_5_vl", "+model.model_args.bogus_arg=1",
                 "--checks=model"], tmp_path)
    assert proc.returncode == 2
    assert "[model_args]" in proc.stdout and "bogus_arg" in proc.stdout and "Qwen2_5_VL" in proc.stdout


def test_a_missing_local_weight_path_is_named(tmp_path):
    proc = _run(["-m", "videorag_eval.doctor", f"aux.asr.model={tmp_path / 'no_whisper'}", "--checks=weights"],
                tmp_path)
    assert proc.returncode == 2 and "no_whisper" in proc.stdout and "does not exist" in proc.stdout


@pytest.mark.slow
def test_a_sweep_with_one_doomed_model_starts_no_cell(tmp_path):
    """The sweep's pre-flight (Hydra callback) runs before the first cell: the good model's cells do not
    run either, and the exit code is 2."""
    results = tmp_path / "results"
    proc = _run(["-m", "videorag_eval", "-m", "model=text_only,longva_7b", "rag=none", "limit=1",
                 f"results_dir={results}"], tmp_path)
    assert proc.returncode == 2, proc.stdout[-1500:] + proc.stderr[-1500:]
    assert "sweep of 2 cell(s)" in proc.stderr and "[package] longva" in proc.stderr
    assert _cells(results) == []


def _fake_vllm(root: Path, version: str, requires: list[str]) -> Path:
    """An installed vLLM as pip leaves it (its metadata, as published) whose import would fail: the pin check
    must come first and name the mismatch."""
    (root / "vllm").mkdir(parents=True)
    (root / "vllm" / "__init__.py").write_text("raise ImportError('vLLM built for another torch')\n")
    info = root / f"vllm-{version}.dist-info"
    info.mkdir()
    info.joinpath("METADATA").write_text("Metadata-Version: 2.1\nName: vllm\nVersion: " + version + "\n"
                                         + "".join(f"Requires-Dist: {r}\n" for r in requires))
    return root


@pytest.mark.parametrize("version,requires,named", [
    ("0.23.0", ["transformers!=5.0.*,!=5.1.*,!=5.2.*,!=5.3.*,!=5.4.*,!=5.5.0,>=4.56.0", "torch==2.11.0",
                "torchaudio==2.11.0", "torchvision==0.26.0", 'zentorch==2.11.0.0; extra == "zen"'],
     ["requires torch==2.11.0; torch 2.14.1 is installed", "requires torchvision==0.26.0; torchvision 0.29.1"]),
    ("0.34.0", ["transformers<5.23,>=5.16.1", "torch==2.14.0", "torchvision==0.29.0"],
     ["requires transformers<5.23,>=5.16.1; transformers 4.57.6 is installed", "requires torch==2.14.0"]),
])
def test_a_vllm_built_for_another_torch_or_transformers_is_named_with_its_environment(tmp_path, monkeypatch, version,
                                                                                     requires, named):
    """vLLM installed into the main lock (torch 2.14.1, transformers 4.57.6): the pre-flight names what it pins
    against what is installed, and the fix is the serving environment's lock."""
    import importlib

    from videorag_eval.cell.preflight import model_problems

    monkeypatch.syspath_prepend(str(_fake_vllm(tmp_path, version, requires)))
    importlib.invalidate_caches()
    problems = model_problems("vllm", {"model": "Qwen/Qwen2.5-VL-7B-Instruct"}, "max_frame_num")
    assert [(p.check, p.subject) for p in problems] == [("package", "vllm")], problems
    text = problems[0].problem
    assert f"vllm {version} requires" in text and all(n in text for n in named), text
    assert "zentorch" not in text and "torchaudio" not in text  # an extra's pin; a package the harness does not pin
    assert "pip install -r lock/vllm/requirements.txt" in problems[0].fix and "venv" in problems[0].fix
