"""Every real model config constructs its lmms-eval 0.7.3 adapter exactly as configured.

Read from the INSTALLED adapters' source with ``ast`` (no import: llava_vid, longva and
llava_onevision need git-only packages, and no weights are loaded): each ``model_args`` key and the
frame argument must be a named parameter of the adapter's ``__init__`` (following ``**kwargs``
forwarded to a base class); the decoupling route must be one the adapter can serve; and the facts
the harness keeps about each adapter (``adapter_specs``) must still be true of its source.
"""

from __future__ import annotations

import ast
import importlib.util
from pathlib import Path

import pytest
import yaml

from videorag_eval.adapter_specs import SPECS, route_error

REPO = Path(__file__).resolve().parent.parent
CONFIGS = sorted((REPO / "conf" / "model").glob("*.yaml"))
OWN = ("videorag_text_only", "videorag_scripted")


def _model_node(path: Path) -> dict:
    data = yaml.safe_load(path.read_text())
    return data.get("model", data) if "adapter" not in data else data


def _source_of(module: str) -> tuple[Path, ast.Module]:
    base = Path(importlib.util.find_spec("lmms_eval").origin).parent
    rel = module.removeprefix("lmms_eval.").replace(".", "/") + ".py"
    path = base / rel
    assert path.is_file(), f"{module}: no source file {path}"
    return path, ast.parse(path.read_text())


def _class(tree: ast.Module, name: str) -> ast.ClassDef:
    found = [n for n in tree.body if isinstance(n, ast.ClassDef) and n.name == name]
    assert found, f"class {name} not found"
    return found[0]


def _init_params(class_path: str) -> tuple[set[str], bool, str]:
    """(named parameters, whether unknown keys are refused, the __init__ source) through the bases
    that ``**kwargs`` is forwarded to."""
    module, name = class_path.rsplit(".", 1)
    path, tree = _source_of(module)
    cls = _class(tree, name)
    init = next(n for n in cls.body if isinstance(n, ast.FunctionDef) and n.name == "__init__")
    args = init.args
    names = {a.arg for a in args.args + args.kwonlyargs} - {"self"}
    src = ast.get_source_segment(path.read_text(), init)
    strict = "assert kwargs == {}" in src
    if args.kwarg is not None and "super().__init__(" in src and f"**{args.kwarg.arg}" in src.split("super().__init__(", 1)[1].split(")")[0]:
        base = cls.bases[0].id  # e.g. InternVL3_5(InternVL3): imported from its own module
        imp = next(n for n in tree.body if isinstance(n, ast.ImportFrom) and any(a.name == base for a in n.names))
        more, strict_base, base_src = _init_params(f"{imp.module}.{base}")
        return names | more, strict_base, src + base_src
    return names, strict, src


REAL = [p for p in CONFIGS if _model_node(p)["adapter"] not in OWN]
# Keys an adapter hands on to its engine through **kwargs (checked in its source below).
PASSED_ON = {"vllm": {"limit_mm_per_prompt"}}
# The source line by which an adapter refuses more than one request per batch.
BATCH_ONE_EVIDENCE = {
    "llava_vid": "assert self.batch_size_per_gpu == 1",
    "llava_onevision": "assert self.batch_size_per_gpu == 1",
    "longva": "assert self.batch_size_per_gpu == 1",
    "video_llava": "assert self.batch_size_per_gpu == 1",
    "llava_hf": "assert self.batch_size_per_gpu == 1",
    "internvl2": "assert batch_size == 1",
}


def test_vllm_hands_extra_arguments_to_its_engine():
    path, _ = _source_of("lmms_eval.models.simple.vllm")
    text = path.read_text()
    assert "self.client = LLM(" in text and "**kwargs," in text.split("self.client = LLM(", 1)[1].split(")", 1)[0]


@pytest.mark.parametrize("path", REAL, ids=lambda p: p.stem)
def test_batch_settings_match_the_adapter(path):
    """batch_arg is the adapter's own argument; an adapter that asserts batch size 1 has max_batch_size 1."""
    node = _model_node(path)
    spec = SPECS[node["adapter"]]
    module, _ = spec.class_path.rsplit(".", 1)
    text = _source_of(module)[0].read_text()
    if node["adapter"] in BATCH_ONE_EVIDENCE:
        assert BATCH_ONE_EVIDENCE[node["adapter"]] in text
        assert node.get("max_batch_size") == 1 and not node.get("batch_arg"), path.name
    if node.get("batch_arg"):
        params, _, _ = _init_params(spec.class_path)
        assert node["batch_arg"] in params
        assert node.get("max_batch_size") is None


def test_every_model_config_is_checked():
    adapters = {_model_node(p)["adapter"] for p in CONFIGS}
    assert adapters <= set(SPECS), f"no adapter_specs row for {adapters - set(SPECS)}"
    names = {p.stem for p in REAL}
    assert {"llava_video_7b", "llava_video_72b", "internvl2_8b", "qwen3_vl_8b", "internvl3_5_8b"} <= names


@pytest.mark.parametrize("path", REAL, ids=lambda p: p.stem)
def test_model_args_are_accepted_by_the_adapter(path):
    node = _model_node(path)
    spec = SPECS[node["adapter"]]
    params, strict, _ = _init_params(spec.class_path)
    keys = set(node.get("model_args") or {})
    for per_method in (node.get("method_args") or {}).values():  # merged over model_args under that method
        keys |= set(per_method or {})
    if node.get("frame_arg"):
        keys.add(node["frame_arg"])
    if node.get("tiny"):
        keys.add("pretrained")  # the runner passes the built model's path
    if node.get("batch_arg"):
        keys.add(node["batch_arg"])
    unknown = sorted(keys - params - PASSED_ON.get(node["adapter"], set()))
    how = "asserts kwargs == {}: construction fails" if strict else "ignores unknown keys: the setting would be silently lost"
    assert not unknown, f"{path.name}: {spec.name}.__init__ has no parameter {unknown} ({how})"


@pytest.mark.parametrize("path", REAL, ids=lambda p: p.stem)
def test_decouple_route_is_one_the_adapter_serves(path):
    node = _model_node(path)
    assert node["decouple_route"] in ("text_only", "with_video", "fallback")
    assert route_error(node["adapter"], node["decouple_route"]) is None, path.name


# The source line that decides whether an adapter can answer a request with no visual.
NO_TEXT_ONLY_EVIDENCE = {
    "llava_vid": "if len(visuals) == 1:",
    "longva": "assert len(batched_visuals) == 1",
    "internvl2": 'assert len(visuals) == 1, f"Only one video is supported',
    "internvl3_5": 'assert len(visuals) == 1, f"Only one video is supported',
    "video_llava": "assert len(visuals) == 1",
}
TEXT_ONLY_EVIDENCE = {
    "llava_onevision": "if visual is None or visual == []",
    "qwen2_vl": "processed_visuals + [{\"type\": \"text\"",
    "qwen2_5_vl": "processed_visuals + [{\"type\": \"text\"",
    "qwen3_vl": "processed_visuals + [{\"type\": \"text\"",
    "vllm": "if None in visuals:",
}


@pytest.mark.parametrize("name", sorted(set(SPECS) - set(OWN)))
def test_adapter_facts_hold_in_the_installed_source(name):
    spec = SPECS[name]
    module, cls = spec.class_path.rsplit(".", 1)
    path, tree = _source_of(module)
    _class(tree, cls)
    text = path.read_text()
    if name == "internvl3_5":  # the behaviour lives in its base class
        text += _source_of("lmms_eval.models.simple.internvl3")[0].read_text()
    if spec.text_only:
        assert TEXT_ONLY_EVIDENCE[name] in text
    elif name in NO_TEXT_ONLY_EVIDENCE:
        assert NO_TEXT_ONLY_EVIDENCE[name] in text
    if spec.video_suffixes is not None and name == "vllm":  # substring tests, one per suffix
        assert all(f'"{suffix}" in visual' in text for suffix in spec.video_suffixes)
    elif spec.video_suffixes is not None:  # the adapter only treats these names as video
        assert f"visual.endswith({spec.video_suffixes!r})".replace("'", '"') in text
    if spec.sampler == "llava_vid":
        assert "if len(frame_idx) > max_frames_num or force_sample:" in text
    if spec.sampler == "uniform_last":
        assert "np.linspace(0, total_frame_num - 1, self.max_frame_num, dtype=int)" in text
        assert "uniform_sampled_frames = np.append(uniform_sampled_frames, total_frame_num - 1)" in text
    if spec.sampler == "qwen_vl_utils":
        assert "indices = np.linspace(" in text and "indices = np.unique(indices)" in text


def test_llava_video_configs_sample_uniformly():
    """llava_vid samples 1 fps unless force_sample: the shipped configs ask for uniform frames."""
    for name in ("llava_video_7b", "llava_video_72b"):
        node = _model_node(REPO / "conf" / "model" / f"{name}.yaml")
        assert node["model_args"]["force_sample"] is True


def test_text_only_route_for_an_adapter_that_cannot_is_refused_before_any_work():
    from helpers import compose

    from videorag_eval.settings import ConfigError, check_config

    cfg = compose("model=internvl2_8b", "model.decouple_route=text_only")
    with pytest.raises(ConfigError, match="with_video"):
        check_config(cfg)
    check_config(compose("model=internvl2_8b"))
