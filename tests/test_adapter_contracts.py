"""Every real model config constructs its lmms-eval 0.7.3 adapter exactly as configured.

Read from the INSTALLED adapters' source with ``ast`` (no import: llava_vid, longva and
llava_onevision need git-only packages, and no weights are loaded): each ``model_args`` key and the
frame argument must be a named parameter of the adapter's ``__init__`` (following ``**kwargs``
forwarded to a base class); the decoupling route must be one the adapter can serve; and the facts
the harness keeps about each adapter (``adapter_specs``) must still be true of its source. Every check reads
code: comments and docstrings are blanked first (``code_of``), so a commented-out line never counts.
"""

from __future__ import annotations

import ast
import importlib.util
from pathlib import Path

import pytest
import yaml

from videorag_eval.runtime.adapter_specs import SPECS, route_error
from videorag_eval.lmms.adapters import BATCH_FIXES, TEXT_ONLY_FIXES

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


def code_of(source: str) -> str:
    """``source`` with every comment and docstring blanked (line numbers kept): what the checks may match."""
    import io
    import tokenize

    lines = source.splitlines(keepends=True)
    spans = [(t.start, t.end) for t in tokenize.generate_tokens(io.StringIO(source).readline) if t.type == tokenize.COMMENT]
    for node in ast.walk(ast.parse(source)):
        body = getattr(node, "body", None)
        if isinstance(body, list) and body and isinstance(body[0], ast.Expr) \
                and isinstance(body[0].value, ast.Constant) and isinstance(body[0].value.value, str):
            doc = body[0]
            spans.append(((doc.lineno, doc.col_offset), (doc.end_lineno, doc.end_col_offset)))
    for (r0, c0), (r1, c1) in spans:
        for r in range(r0, r1 + 1):
            line = lines[r - 1]
            start = c0 if r == r0 else 0
            end = c1 if r == r1 else len(line.rstrip("\n"))
            lines[r - 1] = line[:start] + " " * (end - start) + line[end:]
    return "".join(lines)


def _code(module: str) -> str:
    """The code (no comments, no docstrings) of an installed lmms-eval module."""
    return code_of(_source_of(module)[0].read_text())


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
    src = ast.get_source_segment(code_of(path.read_text()), init)  # code: comments and docstrings blanked
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


def _class_chain(class_path: str) -> list[tuple[ast.Module, ast.ClassDef]]:
    """The class and its lmms-eval base classes (their module trees), nearest first."""
    module, name = class_path.rsplit(".", 1)
    _, tree = _source_of(module)
    cls = _class(tree, name)
    chain = [(tree, cls)]
    for base in cls.bases:
        if isinstance(base, ast.Name) and base.id != "lmms":
            imp = next(n for n in tree.body if isinstance(n, ast.ImportFrom) and any(a.name == base.id for a in n.names))
            chain += _class_chain(f"{imp.module}.{base.id}")
    return chain


def asserts_batch_one(class_path: str) -> bool:
    """Whether the class (or a base) executes ``assert <batch size> == 1`` (code: a commented line is no assert)."""
    for _, cls in _class_chain(class_path):
        for node in ast.walk(cls):
            if isinstance(node, ast.Assert) and isinstance(node.test, ast.Compare) \
                    and any(isinstance(c, ast.Constant) and c.value == 1 for c in node.test.comparators) \
                    and "batch_size" in ast.unparse(node.test.left):
                return True
    return False


def answers_one_at_a_time(class_path: str) -> bool:
    """Whether ``generate_until`` walks the requests one by one (``for ... in [reg.args for reg in requests]``,
    no batching of them): then ``batch_size`` changes nothing."""
    for _, cls in _class_chain(class_path):
        gen = next((n for n in cls.body if isinstance(n, ast.FunctionDef) and n.name == "generate_until"), None)
        if gen is None:
            continue
        batched = any(isinstance(n, ast.Attribute) and n.attr == "get_batched" for n in ast.walk(gen))
        loops = [n for n in gen.body if isinstance(n, ast.For) and (
            ast.unparse(n.iter) == "requests" or isinstance(n.iter, ast.ListComp)
            and [ast.unparse(g.iter) for g in n.iter.generators] == ["requests"])]
        return bool(loops) and not batched
    return False


def _comment_of(path: Path, key: str) -> str:
    line = next(ln for ln in path.read_text().splitlines() if ln.strip().startswith(f"{key}:"))
    return line.split("#", 1)[1].strip() if "#" in line else ""


@pytest.mark.parametrize("path", REAL + [p for p in CONFIGS if p.stem.startswith("tiny_")], ids=lambda p: p.stem)
def test_batch_settings_match_the_adapter(path):
    """batch_arg is the adapter's own argument; an adapter that asserts batch size 1 or answers one request at a
    time has max_batch_size 1, and the config's comment says which of the two it is."""
    node = _model_node(path)
    spec = SPECS[node["adapter"]]
    if node.get("max_batch_size") == 1:
        asserts, one_by_one = asserts_batch_one(spec.class_path), answers_one_at_a_time(spec.class_path)
        assert asserts or one_by_one, f"{path.name}: {spec.name} batches; give it a batch_arg instead"
        assert not node.get("batch_arg")
        comment = _comment_of(path, "max_batch_size")
        if asserts:
            assert "asserts batch size 1" in comment, (path.name, comment)
        else:
            assert "asserts" not in comment and "one request at a time" in comment, (path.name, comment)
    if node.get("batch_arg"):
        params, _, _ = _init_params(spec.class_path)
        assert node["batch_arg"] in params
        assert node.get("max_batch_size") is None
        assert not answers_one_at_a_time(spec.class_path)


def test_code_of_blanks_comments_and_docstrings():
    """The check that a commented-out assert is no assert (llava_vid, video_llava comment theirs out)."""
    src = 'def f():\n    """assert x == 1"""\n    # assert self.batch_size_per_gpu == 1\n    y = "# kept"  # gone\n'
    code = code_of(src)
    assert "assert" not in code and 'y = "# kept"' in code and "gone" not in code
    assert len(code.splitlines()) == len(src.splitlines())
    for name in ("llava_vid", "video_llava"):
        raw = _source_of(f"lmms_eval.models.simple.{name}")[0].read_text()
        assert "# assert self.batch_size_per_gpu == 1" in raw  # there, as a comment
        assert "assert self.batch_size_per_gpu == 1" not in _code(f"lmms_eval.models.simple.{name}")
        assert not asserts_batch_one(SPECS[name].class_path) and answers_one_at_a_time(SPECS[name].class_path)
    assert asserts_batch_one(SPECS["internvl3_5"].class_path)  # in its base class, InternVL3.__init__


def test_vllm_hands_extra_arguments_to_its_engine():
    text = _code("lmms_eval.models.simple.vllm")
    assert "self.client = LLM(" in text and "**kwargs," in text.split("self.client = LLM(", 1)[1].split(")", 1)[0]


def test_sglang_adapter_still_leaves_frame_sampling_to_its_engine():
    """Why no SGLang config ships (docs/batching.md, "SGLang"): the chat adapter hands the engine the
    video paths and its frame arguments reach only the chat-template messages. If this fails, lmms-eval changed
    the adapter: it may now fit (a frame count the engine honours) and docs/batching.md's reasons need a new look."""
    text = _code("lmms_eval.models.chat.sglang")
    assert "self.client.generate(prompt=texts, video_data=video_data, sampling_params=params)" in text
    assert "messages = chat_messages.to_hf_messages(video_kwargs)" in text  # nframes goes into the messages only
    uses = [line.rstrip() for line in text.splitlines() if "self.nframes" in line]
    assert uses == ["        self.nframes = nframes", '            kwargs["nframes"] = self.nframes'], uses
    assert not any(p.name.endswith("_sglang.yaml") for p in CONFIGS)


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
# videorag_eval.lmms.adapters.TEXT_ONLY_FIXES, answers it instead).
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
    _, tree = _source_of(module)
    _class(tree, cls)
    text = _code(module)
    if name == "internvl3_5":  # the behaviour lives in its base class
        text += _code("lmms_eval.models.simple.internvl3")
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
        appends_last = "np.append(indices, total_frames - 1)" in text  # qwen2_5_vl; qwen2_vl's is commented out
        assert appends_last == (name == "qwen2_5_vl")


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
        text = _code(module)
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

    from videorag_eval.runtime import adapter_specs
    from videorag_eval.cell.settings import ConfigError, check_config

    check_config(compose("model=internvl2_8b"))  # text_only: through our fix
    check_config(compose("model=internvl2_8b", "model.decouple_route=with_video"))  # a possible choice
    unfixed = dataclasses.replace(SPECS["internvl2"], text_only=False, text_only_fix=False,
                                  why="modality=video: `assert len(visuals) == 1`")
    monkeypatch.setitem(adapter_specs.SPECS, "internvl2", unfixed)
    with pytest.raises(ConfigError, match="with_video"):
        check_config(compose("model=internvl2_8b", "model.decouple_route=text_only"))
    check_config(compose("model=internvl2_8b", "model.decouple_route=with_video"))


def _method(class_path: str, name: str) -> ast.FunctionDef:
    for _, cls in _class_chain(class_path):
        found = next((n for n in cls.body if isinstance(n, ast.FunctionDef) and n.name == name), None)
        if found is not None:
            return found
    raise AssertionError(f"{class_path} has no {name}")


@pytest.mark.parametrize("name", sorted(BATCH_FIXES))
def test_the_batch_fix_fits_the_installed_adapter(name):
    """What ``adapters.BATCH_FIXES`` works around is still in the code: ``generate_until`` calls the module's
    ``process_vision_info`` and then cuts ``video_inputs[0]`` alone (our fix cuts the others: were lmms-eval to cut
    every video itself, a second cut would change them), by the rule ``append_last`` names; qwen2_vl hands its
    processor no padding side (the tokenizer's default)."""
    fix = BATCH_FIXES[name]
    gen = _method(fix.class_path, "generate_until")
    calls = [n for n in ast.walk(gen) if isinstance(n, ast.Call)]
    assert any(isinstance(c.func, ast.Name) and c.func.id == "process_vision_info" for c in calls)
    stores = [n for n in ast.walk(gen) if isinstance(n, ast.Subscript) and isinstance(n.ctx, ast.Store)
              and ast.unparse(n.value) == "video_inputs"]
    assert [ast.unparse(n.slice) for n in stores] == ["0"], "lmms-eval now cuts more than the first video"
    assert not any(isinstance(n, ast.For) and "video_inputs" in ast.unparse(n.iter) for n in ast.walk(gen))
    appends = any("np.append(indices, total_frames - 1)" in ast.unparse(c) for c in calls)
    assert appends == fix.append_last
    processor = [c for c in calls if ast.unparse(c.func) == "self.processor"]
    assert processor and all(any(k.arg == "padding_side" for k in c.keywords) != fix.left_padding for c in processor)


def test_qwen3_vl_needs_no_batch_fix():
    """qwen3_vl asks qwen-vl-utils for ``nframes`` per video (each video of a batch its own frames) and pads
    batches on the left."""
    assert "qwen3_vl" not in BATCH_FIXES
    text = _code("lmms_eval.models.simple.qwen3_vl")
    assert 'video_kwargs["nframes"] = self.max_num_frames' in text and "**per_video_kwargs," in text
    assert 'padding_side="left",' in text and "if self.batch_size > 1:" in text
    stores = [n for n in ast.walk(_class(_source_of("lmms_eval.models.simple.qwen3_vl")[1], "Qwen3_VL"))
              if isinstance(n, ast.Subscript) and isinstance(n.ctx, ast.Store) and ast.unparse(n.value) == "video_inputs"]
    assert not stores  # no cut after qwen-vl-utils


def test_the_vllm_fix_fits_the_installed_adapter():
    """lmms-eval's vllm adapter makes its own max_new_tokens a floor (``max(request, own)``) and builds the
    SamplingParams per request in the loop that ``_run_chat`` closes over (the last one for the whole batch)."""
    select = _method("lmms_eval.models.simple.vllm.VLLM", "_select_max_new_tokens")
    assert "max(request_max_new_tokens, self.max_new_tokens)" in ast.unparse(select)
    gen = ast.unparse(_method("lmms_eval.models.simple.vllm.VLLM", "generate_until"))
    assert "self._select_max_new_tokens(gen_kwargs.get('max_new_tokens'))" in gen
    assert "sampling_params = SamplingParams(**self._build_sampling_params_dict(gen_kwargs))" in gen
    assert "self.client.chat(sampling_params=sampling_params, messages=inputs)" in gen
