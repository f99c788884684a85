"""Tiny random models (videorag_eval.models.tiny) through lmms-eval's REAL adapters, offline.

Each model is built once per session into a temp dir, loaded by its adapter class exactly as the
runner does (``get_model(adapter, force_simple)`` + the model config's ``model_args``), and asked
real ``Instance`` requests: a short mp4 and, where the adapter supports it, a text-only request.
The answers are noise (random weights); what is checked is that a string comes back and that
greedy decoding gives the same string twice. Wall times are printed (run with ``-s``).
"""

from __future__ import annotations

import inspect
import json
import subprocess
import sys
import time
from contextlib import contextmanager
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
CONF = REPO / "conf" / "model"
TINY_CONFIGS = ["tiny_qwen2_5_vl", "tiny_qwen2_vl", "tiny_qwen3_vl", "tiny_llava_onevision", "tiny_video_llava"]
TASK, SPLIT = "tiny_task", "test"
DOC = {"question": "What colour is the first bar?", "video": "x.mp4"}
PROMPT = "Select the best answer. What colour is the first bar?\nA. red\nB. blue\nC. green\nD. white\nAnswer:"


def _timed(label: str, fn, *args, **kwargs):
    t0 = time.perf_counter()
    out = fn(*args, **kwargs)
    print(f"\n[tiny timing] {label}: {time.perf_counter() - t0:.2f} s", flush=True)
    return out


def _gen_kwargs() -> dict:
    # A fresh dict per request: some adapters mutate it (llava_hf pops "until", adds "image_sizes").
    return {"max_new_tokens": 8, "temperature": 0, "do_sample": False, "until": []}


def _instance(args: tuple):
    from lmms_eval.api.instance import Instance

    return Instance(request_type="generate_until", arguments=args, idx=0,
                    metadata={"task": TASK, "doc_id": 0, "repeats": 1})


def _simple(model, visuals: list) -> str:
    out = model.generate_until([_instance((PROMPT, _gen_kwargs(), lambda doc: list(visuals), 0, TASK, SPLIT))])
    assert isinstance(out, list) and len(out) == 1
    return out[0]


@contextmanager
def _spy_generate(adapter):
    """Record the keyword arguments the adapter passes to ``model.generate`` (to see the frames arrive)."""
    model = adapter.model
    calls: list[dict] = []
    original = model.generate

    def generate(*args, **kwargs):
        calls.append(kwargs)
        return original(*args, **kwargs)

    model.generate = generate
    try:
        yield calls
    finally:
        del model.generate


def _text(out) -> str:
    """Simple adapters return str, chat adapters GenerationResult."""
    return out if isinstance(out, str) else out.text


def _model_cfg(name: str):
    """The model node as the app composes it (tiny configs are global: they also select aux=packaged)."""
    from helpers import compose

    cfg = compose(f"model={name}")
    assert str(cfg.aux.asr.model).startswith("packaged:")
    return cfg.model


# --------------------------------------------------------------------------- fixtures


@pytest.fixture(scope="session")
def tiny_video(tmp_path_factory) -> str:
    """A 3 s, 4 fps, 128x96 test pattern (12 frames)."""
    from helpers import write_test_video

    path = write_test_video(tmp_path_factory.mktemp("tiny_video") / "x.mp4", frames=12, fps=4, size=(128, 96))
    assert path.stat().st_size > 0
    return str(path)


@pytest.fixture(scope="session")
def tiny_root(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("tiny_cache")


def _load(name: str, root: Path, force_simple: bool | None = None, frames: int = 4):
    """Build (once) and load a tiny model the way the runner does, from its conf/model YAML."""
    from lmms_eval.models import get_model
    from omegaconf import OmegaConf

    from videorag_eval.models.tiny import ensure_tiny

    cfg = _model_cfg(name)
    path = _timed(f"build {name}", ensure_tiny, str(cfg.tiny), root)
    from videorag_eval.lmms.adapters import apply_adapter_fixes

    apply_adapter_fixes(str(cfg.adapter))  # as the runner's factory does before building the adapter
    args = OmegaConf.to_container(cfg.model_args, resolve=True)
    args["pretrained"] = path
    args[cfg.frame_arg] = int(cfg.frames_fixed or frames)
    simple = bool(cfg.force_simple) if force_simple is None else force_simple
    cls = get_model(str(cfg.adapter), force_simple=simple)
    model = _timed(f"load {name} ({cls.__module__}.{cls.__name__})", cls, **args)
    model.task_dict = {TASK: {SPLIT: {0: DOC}}}
    return model


@pytest.fixture(scope="session")
def qwen_simple(tiny_root):
    return _load("tiny_qwen2_5_vl", tiny_root, force_simple=True)


@pytest.fixture(scope="session")
def qwen_chat(tiny_root):
    return _load("tiny_qwen2_5_vl", tiny_root, force_simple=False)


@pytest.fixture(scope="session")
def onevision(tiny_root):
    return _load("tiny_llava_onevision", tiny_root)


@pytest.fixture(scope="session")
def video_llava(tiny_root):
    return _load("tiny_video_llava", tiny_root)


# --------------------------------------------------------------------------- builders


def test_import_is_light():
    code = "import sys, videorag_eval.models.tiny as t; assert t.TINY_BUILDERS; " \
           "print(sorted(m for m in ('torch', 'transformers', 'tokenizers', 'lmms_eval') if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=REPO)
    assert out.stdout.strip() == "[]"


def test_registry_and_unknown_name(tmp_path):
    from videorag_eval.models.tiny import TINY_ADAPTERS, TINY_BUILDERS, ensure_tiny

    assert set(TINY_BUILDERS) == set(TINY_ADAPTERS) == set(TINY_CONFIGS)
    with pytest.raises(ValueError, match="unknown tiny model"):
        ensure_tiny("tiny_nope", tmp_path)
    assert not (tmp_path / "tiny_models" / "tiny_nope").exists()


def test_build_is_deterministic_and_idempotent(tmp_path):
    from videorag_eval.models.tiny import MARKER, build_tiny_video_llava, ensure_tiny, is_complete

    a = _timed("build tiny_video_llava (cold)", ensure_tiny, "tiny_video_llava", tmp_path / "a")
    assert Path(a) == (tmp_path / "a" / "tiny_models" / "tiny_video_llava").resolve()
    assert is_complete(a)
    b = build_tiny_video_llava(tmp_path / "b")
    for f in ("model.safetensors", "tokenizer.json", "config.json", "processor_config.json"):
        assert (Path(a) / f).read_bytes() == (Path(b) / f).read_bytes(), f"{f} differs between two builds"
    # a second call returns at once, without rewriting anything
    mtime = (Path(a) / "model.safetensors").stat().st_mtime_ns
    assert _timed("build tiny_video_llava (cached)", ensure_tiny, "tiny_video_llava", tmp_path / "a") == a
    assert (Path(a) / "model.safetensors").stat().st_mtime_ns == mtime
    # a partial build (no marker) is replaced; no temp dirs are left behind
    (Path(b) / MARKER).unlink()
    (Path(b) / "model.safetensors").write_bytes(b"junk")
    assert build_tiny_video_llava(tmp_path / "b") == b
    assert is_complete(b) and (Path(b) / "model.safetensors").read_bytes() == (Path(a) / "model.safetensors").read_bytes()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a", "b"]


@pytest.mark.parametrize("name", TINY_CONFIGS)
def test_model_config_matches_adapter(name):
    """The YAML's adapter resolves, and its frame argument and model_args are real __init__ parameters."""
    from lmms_eval.models import get_model

    from videorag_eval.models.tiny import TINY_ADAPTERS

    cfg = _model_cfg(name)
    assert cfg.name == name and cfg.tiny == name and TINY_ADAPTERS[name] == cfg.adapter
    assert cfg.decouple_route in ("text_only", "with_video", "fallback")
    assert cfg.model_args.batch_size == 1
    params = inspect.signature(get_model(str(cfg.adapter), force_simple=bool(cfg.force_simple)).__init__).parameters
    assert cfg.frame_arg in params
    for key in cfg.model_args:
        assert key in params, f"{name}: model_args.{key} is not a parameter of the {cfg.adapter} adapter"


# --------------------------------------------------------------------------- Qwen2.5-VL (qwen2_5_vl)


@pytest.mark.slow
def test_qwen2_5_vl_simple_video_and_text(qwen_simple, tiny_video):
    assert type(qwen_simple).__module__ == "lmms_eval.models.simple.qwen2_5_vl"
    with _spy_generate(qwen_simple) as calls:
        first = _timed("run qwen2_5_vl simple video", _simple, qwen_simple, [tiny_video])
    assert isinstance(first, str)
    # max_num_frames=4 frames reach the model: 4 / temporal patch 2 = 2 temporal grid steps
    assert calls[0]["video_grid_thw"][0, 0].item() == 2 and "pixel_values_videos" in calls[0]
    assert _simple(qwen_simple, [tiny_video]) == first  # greedy: deterministic
    text = _timed("run qwen2_5_vl simple text-only", _simple, qwen_simple, [])
    assert isinstance(text, str)
    assert _simple(qwen_simple, []) == text
    print(f"[tiny answers] qwen2_5_vl simple: video={first!r} text={text!r}")


@pytest.mark.slow
def test_qwen2_5_vl_chat_video_and_text(qwen_chat, tiny_video):
    assert getattr(qwen_chat, "is_simple", True) is False
    assert type(qwen_chat).__module__ == "lmms_eval.models.chat.qwen2_5_vl"

    def ask(with_video: bool) -> str:
        content = ([{"type": "video", "url": tiny_video}] if with_video else []) + [{"type": "text", "text": PROMPT}]
        messages = [{"role": "user", "content": content}]
        out = qwen_chat.generate_until([_instance((PROMPT, lambda doc: messages, _gen_kwargs(), 0, TASK, SPLIT))])
        assert len(out) == 1
        return _text(out[0])  # the chat adapter returns GenerationResult

    with _spy_generate(qwen_chat) as calls:
        first = _timed("run qwen2_5_vl chat video", ask, True)
    assert calls[0]["video_grid_thw"][0, 0].item() == 2  # nframes = min(max_num_frames, 12) = 4
    assert isinstance(first, str) and ask(True) == first
    text = _timed("run qwen2_5_vl chat text-only", ask, False)
    assert isinstance(text, str) and ask(False) == text
    print(f"[tiny answers] qwen2_5_vl chat: video={first!r} text={text!r}")


# --------------------------------------------------------------------------- LLaVA-OneVision (llava_hf)


@pytest.mark.slow
def test_llava_onevision_video(onevision, tiny_video):
    assert type(onevision).__module__ == "lmms_eval.models.simple.llava_hf"
    assert type(onevision.model).__name__ == "LlavaOnevisionForConditionalGeneration"
    with _spy_generate(onevision) as calls:
        first = _timed("run llava_hf (onevision) video", _simple, onevision, [tiny_video])
    assert tuple(calls[0]["pixel_values_videos"].shape) == (1, 4, 3, 56, 56)  # max_frames_num=4
    assert isinstance(first, str)
    assert _simple(onevision, [tiny_video]) == first
    print(f"[tiny answers] llava_hf onevision: video={first!r}")


def _text_only_request():
    return _instance((PROMPT, _gen_kwargs(), lambda doc: [], 0, TASK, SPLIT))


@pytest.mark.slow
def test_llava_hf_text_only_through_our_fix(onevision):
    """lmms-eval 0.7.3's llava_hf itself builds no inputs for a request without visuals: it logs an error
    and answers "". Our fix (videorag_eval.lmms.adapters.TEXT_ONLY_FIXES) answers it: the question alone in
    the adapter's chat template, no visual token, the model's own greedy continuation."""
    unfixed = type(onevision).generate_until.__wrapped__  # the adapter's own method
    assert unfixed(onevision, [_text_only_request()]) == [""]
    with _spy_generate(onevision) as calls:
        got = _timed("run llava_hf (onevision) text-only", _simple, onevision, [])
    seen = calls[0]["input_ids"]
    config = onevision.model.config
    assert "pixel_values" not in calls[0] and "pixel_values_videos" not in calls[0]
    assert config.video_token_index not in seen[0].tolist() and config.image_token_index not in seen[0].tolist()
    tok = onevision.tokenizer
    text = tok.apply_chat_template([{"role": "user", "content": PROMPT}], tokenize=False, add_generation_prompt=True)
    assert PROMPT in text and "<video>" not in text and "<image>" not in text
    ids = tok(text, return_tensors="pt")
    assert seen.tolist() == ids["input_ids"].tolist()
    out = onevision.model.generate(**ids, max_new_tokens=8, do_sample=False, pad_token_id=onevision.eot_token_id,
                                   eos_token_id=onevision.eot_token_id)
    expected = tok.decode(out[0, ids["input_ids"].shape[1]:], skip_special_tokens=True)
    assert got == expected and _simple(onevision, []) == got
    print(f"[tiny answers] llava_hf onevision text-only: {got!r}")


# --------------------------------------------------------------------------- Video-LLaVA (video_llava)


@pytest.mark.slow
def test_video_llava_video(video_llava, tiny_video):
    assert type(video_llava).__module__ == "lmms_eval.models.simple.video_llava"
    assert video_llava.num_frames == 8
    with _spy_generate(video_llava) as calls:
        first = _timed("run video_llava video", _simple, video_llava, [tiny_video])
    assert tuple(calls[0]["pixel_values_videos"].shape) == (1, 8, 3, 28, 28)
    assert isinstance(first, str)
    assert _simple(video_llava, [tiny_video]) == first
    assert video_llava.tokenizer is not None  # patched: the adapter's property read an unset attribute
    print(f"[tiny answers] video_llava: video={first!r}")


@pytest.mark.slow
def test_video_llava_text_only_through_our_fix(video_llava):
    """The adapter itself asserts exactly one visual per request. Our fix (videorag_eval.lmms.adapters.
    TEXT_ONLY_FIXES) answers a request with none: the adapter's prompt without its <video> token, the
    model's own greedy continuation, decoded as the adapter does."""
    unfixed = type(video_llava).generate_until.__wrapped__  # the adapter's own method
    with pytest.raises(AssertionError):
        unfixed(video_llava, [_text_only_request()])
    with _spy_generate(video_llava) as calls:
        got = _timed("run video_llava text-only", _simple, video_llava, [])
    seen = calls[0]["input_ids"]
    config = video_llava.model.config
    assert "pixel_values_videos" not in calls[0] and "pixel_values_images" not in calls[0]
    assert config.video_token_index not in seen[0].tolist() and config.image_token_index not in seen[0].tolist()
    text = f"USER: {PROMPT}? ASSISTANT:"  # the adapter's prompt "USER: <video>{}? ASSISTANT:" without <video>
    ids = video_llava._processor.tokenizer(text, return_tensors="pt")
    assert seen.tolist() == ids["input_ids"].tolist()
    out = video_llava.model.generate(**ids, max_new_tokens=8, do_sample=False)
    expected = video_llava._processor.batch_decode(out, skip_special_tokens=True, clean_up_tokenization_spaces=False)[0]
    assert got == expected.split("ASSISTANT:")[-1].strip() and _simple(video_llava, []) == got
    print(f"[tiny answers] video_llava text-only: {got!r}")


@pytest.mark.slow
def test_video_llava_mixed_call_keeps_request_order(video_llava, tiny_video):
    """Requests with and without a video in one call: each answered by its own path, in request order."""
    video_answer, text_answer = _simple(video_llava, [tiny_video]), _simple(video_llava, [])
    reqs = [_instance((PROMPT, _gen_kwargs(), (lambda doc, v=v: v), 0, TASK, SPLIT))
            for v in ([], [tiny_video], [], [tiny_video])]
    assert video_llava.generate_until(reqs) == [text_answer, video_answer, text_answer, video_answer]


def test_video_llava_read_video_fix_is_idempotent():
    import lmms_eval.models.simple.video_llava as vl

    from videorag_eval.lmms.adapters import apply_adapter_fixes

    apply_adapter_fixes("video_llava")
    fixed = vl.read_video
    apply_adapter_fixes("video_llava")
    apply_adapter_fixes("qwen2_5_vl")  # no-op
    assert vl.read_video is fixed and getattr(fixed, "_videorag_fixed", False)
    assert "num_frm" in json.dumps(list(inspect.signature(fixed).parameters))
