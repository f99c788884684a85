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
from videorag_eval.adapters import TEXT_ONLY_FIXES

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


def test_sglang_adapter_still_leaves_frame_sampling_to_its_engine():
    """Why no SGLang config ships (README "Batches and serving backends"): the chat adapter hands the engine the
    video paths and its frame arguments reach only the chat-template messages. If this fails, lmms-eval changed
    the adapter: it may now fit (a frame count the engine honours) and the README's reasons need a new look."""
    text = _source_of("lmms_eval.models.chat.sglang")[0].read_text()
    assert "self.client.generate(prompt=texts, video_data=video_data, sampling_params=params)" in text
    assert "messages = chat_messages.to_hf_messages(video_kwargs)" in text  # nframes goes into the messages only
    uses = [line for line in text.splitlines() if "self.nframes" in line]
    assert uses == ["        self.nframes = nframes", '            kwargs["nframes"] = self.nframes'], uses
    assert not any(p.name.endswith("_sglang.yaml") for p in CONFIGS)


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


@pytest.mark.parametrize("path", REAL, ids=lambda p: p.stem)
def test_every_lvlm_decouples_text_only_as_the_official_code(path):
    """The decoupling prompt goes without the video (the official Video-RAG code); ``with_video`` is a
    choice one makes on the command line, never a shipped default."""
    assert _model_node(path)["decouple_route"] == "text_only", path.name


# The source line that decides that an adapter itself cannot answer a request with no visual (our fix,
# videorag_eval.adapters.TEXT_ONLY_FIXES, answers it instead).
NO_TEXT_ONLY_EVIDENCE = {
    "llava_vid": "if len(visuals) == 1:",
    "longva": "if type(visual[0]) is PIL.Image.Image:",
    "internvl2": 'assert len(visuals) == 1, f"Only one video is supported',
    "internvl3_5": 'assert len(visuals) == 1, f"Only one video is supported',
    "video_llava": "assert len(visuals) == 1",
    "llava_hf": 'task_type = "text"',  # set, but only the image and video branches build `inputs`
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
    if spec.text_only_fix:  # the adapter itself cannot; our fix is what makes it text_only
        assert spec.text_only and name in TEXT_ONLY_FIXES and "our fix" in spec.why
        assert NO_TEXT_ONLY_EVIDENCE[name] in text
        if name == "llava_hf":
            body = text.split("def generate_until(", 1)[1].split("def generate_until_multi_round(", 1)[0]
            assert body.count("inputs = self._image_processor(") == 2  # images, videos: none for text
    elif spec.text_only:
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


def _module_names(tree: ast.Module) -> set[str]:
    """Names a module defines or imports at top level (also inside top-level try/if blocks)."""
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            names |= {(a.asname or a.name).split(".")[0] for a in node.names}
        elif isinstance(node, ast.Assign) and node.col_offset == 0:
            names |= {t.id for t in node.targets if isinstance(t, ast.Name)}
    return names


def _class_attributes(module: str, name: str) -> set[str]:
    """``self.X = ...`` targets and methods/properties of a class and of its bases in lmms-eval."""
    _, tree = _source_of(module)
    cls = _class(tree, name)
    attrs = {n.name for n in cls.body if isinstance(n, ast.FunctionDef)}
    for node in ast.walk(cls):
        if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id == "self" \
                and isinstance(node.ctx, ast.Store):
            attrs.add(node.attr)
    for base in cls.bases:
        if isinstance(base, ast.Name) and base.id != "lmms":
            imp = next(n for n in tree.body if isinstance(n, ast.ImportFrom) and any(a.name == base.id for a in n.names))
            attrs |= _class_attributes(imp.module, base.id)
    return attrs


@pytest.mark.parametrize("name", sorted(TEXT_ONLY_FIXES))
def test_text_only_fix_reads_only_what_the_adapter_has(name):
    """Every name our text-only path reads from the adapter's module, and every attribute it reads from
    the adapter, exists in the installed source (llava_vid / longva cannot be imported here: this is
    what ties the stand-ins of tests/test_text_only_fixes.py to the real adapters)."""
    fix = TEXT_ONLY_FIXES[name]
    assert fix.class_path == SPECS[name].class_path
    _, tree = _source_of(fix.names_module)
    missing = set(fix.module_names) - _module_names(tree)
    assert not missing, f"{fix.names_module} has no {sorted(missing)}"
    module, cls = fix.class_path.rsplit(".", 1)
    attrs = _class_attributes(module, cls)
    missing = set(fix.attributes) - attrs
    assert not missing, f"{fix.class_path} has no {sorted(missing)}"


def test_the_llava_family_fix_reads_what_the_adapters_themselves_call():
    """The calls our LLaVA/LongVA path makes are the ones the adapters make for their video requests."""
    for module in ("lmms_eval.models.simple.llava_vid", "lmms_eval.models.simple.longva"):
        text = _source_of(module)[0].read_text()
        assert "tokenizer_image_token(prompt" in text and "IMAGE_TOKEN_INDEX" in text
        assert "conv_templates[self.conv_template].copy()" in text
        assert "conv.append_message(conv.roles[0]" in text and "conv.append_message(conv.roles[1], None)" in text


def test_llava_video_configs_sample_uniformly():
    """llava_vid samples 1 fps unless force_sample: the shipped configs ask for uniform frames."""
    for name in ("llava_video_7b", "llava_video_72b"):
        node = _model_node(REPO / "conf" / "model" / f"{name}.yaml")
        assert node["model_args"]["force_sample"] is True


def test_text_only_route_for_an_adapter_that_cannot_is_refused_before_any_work(monkeypatch):
    """Every configured adapter serves text_only now (six through our fix); an adapter row that could not
    (as internvl2 without the fix) would be refused before any work, and with_video stays a choice."""
    import dataclasses

    from helpers import compose

    from videorag_eval import adapter_specs
    from videorag_eval.settings import ConfigError, check_config

    check_config(compose("model=internvl2_8b"))  # text_only: through our fix
    check_config(compose("model=internvl2_8b", "model.decouple_route=with_video"))  # a possible choice
    unfixed = dataclasses.replace(SPECS["internvl2"], text_only=False, text_only_fix=False,
                                  why="modality=video: `assert len(visuals) == 1`")
    monkeypatch.setitem(adapter_specs.SPECS, "internvl2", unfixed)
    with pytest.raises(ConfigError, match="with_video"):
        check_config(compose("model=internvl2_8b", "model.decouple_route=text_only"))
    check_config(compose("model=internvl2_8b", "model.decouple_route=with_video"))
