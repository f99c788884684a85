"""Each model config sets its own default ``frames``: 64 for LLaVA-Video (its lmms-eval recipe and the
official Video-RAG scripts), the adapter's own lmms-eval default otherwise (read from the installed
adapter's source); ``frames=N`` on the command line wins; the demo and test models stay at 8, and
cells found before per-model defaults keep their directories."""

import ast
import importlib.util
from pathlib import Path

import pytest
import yaml

from helpers import compose
from videorag_eval.runtime.adapter_specs import SPECS

REPO = Path(__file__).resolve().parent.parent
MODELS = sorted(p.stem for p in (REPO / "conf" / "model").glob("*.yaml"))
RECIPE = {"llava_video_7b": 64, "llava_video_72b": 64}  # LLaVA-Video's lmms-eval recipe, the official scripts
TEST_MODELS = {"text_only", "scripted", "tiny_qwen2_5_vl", "tiny_qwen2_vl", "tiny_qwen3_vl", "tiny_llava_onevision",
               "tiny_video_llava"}


def _adapter_default(class_path: str, arg: str):
    """The default of ``arg`` in the adapter's ``__init__`` (through the base its **kwargs go to), by ast."""
    module, name = class_path.rsplit(".", 1)
    base = Path(importlib.util.find_spec("lmms_eval").origin).parent
    tree = ast.parse((base / (module.removeprefix("lmms_eval.").replace(".", "/") + ".py")).read_text())
    cls = next(n for n in tree.body if isinstance(n, ast.ClassDef) and n.name == name)
    init = next(n for n in cls.body if isinstance(n, ast.FunctionDef) and n.name == "__init__")
    params = init.args.args[len(init.args.args) - len(init.args.defaults):]
    for p, d in zip(params, init.args.defaults):
        if p.arg == arg:
            return ast.literal_eval(d)
    base_name = cls.bases[0].id
    imp = next(n for n in tree.body if isinstance(n, ast.ImportFrom) and any(a.name == base_name for a in n.names))
    return _adapter_default(f"{imp.module}.{base_name}", arg)


def _node(name: str) -> dict:
    data = yaml.safe_load((REPO / "conf" / "model" / f"{name}.yaml").read_text())
    return data.get("model", data)


@pytest.mark.parametrize("name", MODELS)
def test_default_frames_per_model(name):
    node = _node(name)
    cfg = compose(f"model={name}")
    if name in RECIPE:
        expected = RECIPE[name]
    elif name in TEST_MODELS:
        expected = 8  # the demo's 93.5% and the tests' speed
    else:
        expected = _adapter_default(SPECS[node["adapter"]].class_path, node["frame_arg"])
    assert cfg.frames == expected == node["frames"]


def test_llava_video_reads_64_frames_and_the_command_line_wins():
    assert compose("model=llava_video_7b", "task=videomme").frames == 64
    assert compose("model=llava_video_7b", "task=videomme", "frames=16").frames == 16
    assert compose("model=qwen2_vl_7b", "frames=8").frames == 8
    assert compose().frames == 8  # the demo


def test_cell_directories_did_not_move():
    """Cells written when every model defaulted to 8 frames are found again (same identity hash)."""
    from videorag_eval.cell.identity import cell_dir

    assert cell_dir(compose()).name == "f8-asr+ocr+det_t0.3-7eb689bb"
    # cells decoupled with the video (llava_vid's former default route) and without the token budget (issue 18)
    # are found again with those settings; the text_only default (our fix) and the budget make other cells
    assert cell_dir(compose("model=llava_video_7b", "task=videomme", "frames=64", "model.decouple_route=with_video",
                            "rag.token_budget=none")).name == "f64-asr+ocr+det_t0.3-329771f9"
    assert cell_dir(compose("model=llava_video_7b", "task=videomme", "frames=64")).name == "f64-asr+ocr+det_t0.3-210310a1"
    assert cell_dir(compose("model=tiny_qwen2_5_vl", "rag=none")).name == "f8-none-e2e35a80"
