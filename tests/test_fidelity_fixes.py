"""Issue 24's smaller fidelity fixes: under ``method=official`` LLaVA-Video keeps its checkpoint's own pooling (as
the official scripts load it) and the token budget follows it; Qwen2.5-VL's budget numbers come from the cap the
locked qwen-vl-utils puts on a video frame."""

from __future__ import annotations

import ast
from types import SimpleNamespace

import pytest

from helpers import compose, write_test_video
from test_adapter_contracts import _class, _source_of

from videorag_eval.runtime.adapter_specs import SPECS

BILINEAR = {"mm_spatial_pool_mode": "bilinear", "mm_spatial_pool_stride": 2, "mm_newline_position": "grid"}


# -- (b) method=official: the checkpoint's own pooling -------------------------------------------------------------

def test_llava_vids_overwrite_false_loads_the_checkpoint_as_it_is():
    """The adapter's own switch (read from its code): with ``overwrite`` false it calls ``load_pretrained_model``
    without ``overwrite_config``, as the official scripts do; the loaded config is kept as ``_config``."""
    module, name = SPECS["llava_vid"].class_path.rsplit(".", 1)
    init = next(n for n in _class(_source_of(module)[1], name).body if isinstance(n, ast.FunctionDef) and n.name == "__init__")
    branch = next(n for n in ast.walk(init) if isinstance(n, ast.If) and ast.unparse(n.test) == "self.overwrite")

    def loads(nodes):
        return [c for n in nodes for c in ast.walk(n) if isinstance(c, ast.Call) and ast.unparse(c.func) == "load_pretrained_model"]

    assert all(any(k.arg == "overwrite_config" for k in c.keywords) for c in loads(branch.body)) and loads(branch.body)
    assert loads(branch.orelse) and not any(k.arg == "overwrite_config" for c in loads(branch.orelse) for k in c.keywords)
    assert any(ast.unparse(n) == "self._config = self._model.config" for n in ast.walk(init))


@pytest.mark.parametrize("model", ["llava_video_7b", "llava_video_72b"])
def test_official_llava_video_keeps_the_checkpoints_pooling(model):
    from videorag_eval.method.budget import PROMPT_OVERHEAD, llava_tokens_per_frame, resolve
    from videorag_eval.cell.identity import identity
    from videorag_eval.runtime.model_args import adapter_args

    official, default = compose(f"model={model}", "method=official"), compose(f"model={model}")
    assert adapter_args(official)["overwrite"] is False and "overwrite" not in adapter_args(default)
    # the configured number is LLaVA-NeXT's count for the configured pooling (average 2x2, a newline per row)
    assert llava_tokens_per_frame(27, 2, "average", "grid") == default.model.tokens_per_frame == 182
    assert llava_tokens_per_frame(27, 2, "bilinear", "grid") == 210
    assert llava_tokens_per_frame(27, 2, "max", "frame") == 170
    frames = int(official.frames)
    overhead = PROMPT_OVERHEAD + 40 + 8 * frames  # + the time instruction
    loaded = resolve(official, BILINEAR)
    assert loaded.tokens == 32768 - frames * 210 - 16 - overhead
    assert loaded.detail["tokens_per_frame"] == 210 and loaded.detail["checkpoint_pooling"] == BILINEAR
    assert resolve(official, {**BILINEAR, "mm_spatial_pool_mode": "average"}).tokens == 32768 - frames * 182 - 16 - overhead
    # before the model loads (the identity): the configured number, marked as the checkpoint's to come
    assert identity(official)["rag"]["token_budget"] == {"mode": "auto", "tokens": 32768 - frames * 182 - 16 - overhead,
                                                         "per_frame": "checkpoint"}
    assert identity(default)["rag"]["token_budget"] == {"mode": "auto", "tokens": 32768 - frames * 182 - 16 - PROMPT_OVERHEAD}
    assert resolve(default, BILINEAR).tokens == 32768 - frames * 182 - 16 - PROMPT_OVERHEAD  # its own settings: 182
    with pytest.raises(ValueError, match="mm_spatial_pool_mode='nearest'"):
        resolve(official, {**BILINEAR, "mm_spatial_pool_mode": "nearest"})


def test_the_budget_follows_the_loaded_checkpoint_and_the_cell_records_it(monkeypatch):
    """build_inner: once the adapter (a stand-in for llava_vid, whose LLaVA-NeXT package is git-only) has loaded,
    the budget takes the checkpoint's pooling; metrics.json records it."""
    import lmms_eval.models

    from videorag_eval.method.budget import resolve
    from videorag_eval.lmms.factory import build_inner
    from videorag_eval.scoring.metrics import checkpoint_fields

    class LlavaVidStandIn:
        def __init__(self, **kwargs):
            self.kwargs = kwargs
            self._config = SimpleNamespace(**BILINEAR)  # what the checkpoint's config.json says

    monkeypatch.setattr(lmms_eval.models, "get_model", lambda name, force_simple=False: LlavaVidStandIn)
    monkeypatch.setattr("videorag_eval.lmms.adapters.apply_adapter_fixes", lambda adapter: None)
    cfg = compose("model=llava_video_7b", "method=official")
    pipeline = SimpleNamespace(budget=resolve(cfg))
    inner = build_inner(cfg, pipeline)
    assert inner.kwargs["overwrite"] is False and "mm_spatial_pool_mode" in inner.kwargs  # ignored by the adapter then
    assert pipeline.budget.detail["tokens_per_frame"] == 210
    assert pipeline.budget.tokens == resolve(cfg, BILINEAR).tokens
    from videorag_eval.lmms.wrapper import VideoRAG

    wrapper = SimpleNamespace(inner=inner)  # what metrics.json asks the wrapper: VideoRAG's own method on this inner
    wrapper.checkpoint_pooling = lambda: VideoRAG.checkpoint_pooling(wrapper)
    assert checkpoint_fields(cfg, wrapper) == {"checkpoint_pooling": BILINEAR}
    assert checkpoint_fields(compose("model=llava_video_7b"), wrapper) == {}
    inner._config = SimpleNamespace()  # a config without pooling settings: the cell stops, saying what to do
    monkeypatch.setattr(LlavaVidStandIn, "__init__", lambda self, **kw: setattr(self, "_config", SimpleNamespace()))
    with pytest.raises(RuntimeError, match="overwrite=true"):
        build_inner(cfg, SimpleNamespace(budget=resolve(cfg)))


# -- (c) Qwen2.5-VL: the per-frame cap of the locked qwen-vl-utils --------------------------------------------------

def test_qwen2_5_vl_budget_numbers_are_qwen_vl_utils_frame_cap(tmp_path):
    """qwen-vl-utils caps a video frame at VIDEO_MAX_TOKEN_NUM tokens per 2-frame temporal patch, whatever
    max_pixels the adapter asks (its 1605632): a 1280x720 video gets at most 384 tokens per frame."""
    import math

    from qwen_vl_utils import vision_process as vp

    from videorag_eval.method.budget import PROMPT_OVERHEAD, resolve

    cfg = compose("model=qwen2_5_vl_7b")
    per_frame = vp.VIDEO_MAX_TOKEN_NUM // vp.FRAME_FACTOR  # 768 tokens per temporal patch of 2 frames
    assert cfg.model.tokens_per_frame == per_frame == 384
    assert resolve(cfg).tokens == 32768 - 32 * 384 - 16 - PROMPT_OVERHEAD
    video = write_test_video(tmp_path / "hd.mp4", frames=8, fps=4, size=(1280, 720))
    frames = vp.fetch_video({"video": str(video), "max_pixels": 1605632, "min_pixels": 256 * 28 * 28})
    _, _, height, width = frames.shape
    tokens = height * width / (28 * 28) / 2  # per frame: 28x28 pixels a token, 2 frames share one temporal patch
    assert 0.9 * per_frame < tokens <= per_frame, (height, width)  # not the 1024 the adapter's max_pixels would allow
    assert math.isclose(height / width, 720 / 1280, rel_tol=0.05)
