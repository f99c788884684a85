"""What lmms-eval's vllm adapter hands its engine, request by request: frames, text and generation length.

vLLM cannot generate without a GPU, so its engine (``vllm.LLM``) is the one stand-in here, named as such: it
records each ``chat`` call's messages and SamplingParams and answers "A". Everything else is real: the harness,
the cell, the adapter's ``generate_until`` (its own decoding and PNG encoding of the frames) and, where vLLM is
installed (the serving environment, ``lock/vllm/requirements.txt``), vLLM's own ``SamplingParams``; elsewhere a
stand-in that keeps its arguments. The ``qwen2_5_vl_7b_vllm`` config runs with the tiny Qwen2.5-VL's checkpoint
as its model.
"""

from __future__ import annotations

import base64
import io
from pathlib import Path

import pytest

from helpers import read_cell, run_cell
from indexed_videos import FRAMES, QUESTIONS, expected_indices, index_of, make_indexed_videomme, tag_of

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def indexed_videomme(tmp_path_factory) -> Path:
    return make_indexed_videomme(tmp_path_factory.mktemp("indexed_vmme"))


class _Output:
    def __init__(self, text: str):
        self.outputs = [type("Completion", (), {"text": text})()]


class _SamplingParamsStandIn:
    """vLLM's SamplingParams where vLLM is not installed: keeps what the adapter asks for."""

    def __init__(self, max_tokens=16, temperature=1.0, top_p=1.0, **kwargs):
        self.max_tokens, self.temperature, self.top_p = max_tokens, temperature, top_p
        self.extra = kwargs


def engine_stand_in(monkeypatch) -> list:
    """Replace the adapter's ``LLM`` (and ``SamplingParams`` without vLLM); returns the list of chat calls."""
    import lmms_eval.models.simple.vllm as mod

    calls: list = []

    class EngineStandIn:  # vllm.LLM needs a GPU
        def __init__(self, model, **kwargs):
            self.model, self.kwargs = model, kwargs

        def chat(self, messages, sampling_params=None, chat_template=None):
            calls.append({"messages": messages, "sampling_params": sampling_params})
            return [_Output("A") for _ in messages]

    monkeypatch.setattr(mod, "LLM", EngineStandIn)
    try:
        from vllm import SamplingParams  # noqa: F401 -- the serving environment: the real one
    except ImportError:
        monkeypatch.setattr(mod, "SamplingParams", _SamplingParamsStandIn)
    return calls


def _frames(content: list) -> list[int]:
    import numpy as np
    from PIL import Image

    out = []
    for item in content:
        if item.get("type") == "image_url":
            data = base64.b64decode(item["image_url"]["url"].split(",", 1)[1])
            out.append(index_of(np.asarray(Image.open(io.BytesIO(data)).convert("RGB"))))
    return out


def test_the_engine_gets_each_requests_frames_text_and_generation_length(indexed_videomme, tmp_path, e2e_cache,
                                                                         monkeypatch):
    from helpers import compose
    from videorag_eval.models.tiny import ensure_tiny

    tiny = ensure_tiny("tiny_qwen2_5_vl", e2e_cache)
    model_args = dict(compose("model=qwen2_5_vl_7b_vllm").model.model_args)
    for batch in (1, 2, 4):
        calls = engine_stand_in(monkeypatch)
        cell = run_cell("model=qwen2_5_vl_7b_vllm", f"model.model_args.model={tiny}", "aux=packaged", "rag=asr",
                        "task=videomme", f"task.data_dir={indexed_videomme}", f"frames={FRAMES}", f"batch_size={batch}",
                        "preflight.enabled=false", f"results_dir={tmp_path / f'r{batch}'}", f"cache_dir={tmp_path / 'c'}")
        metrics, samples = read_cell(cell)
        asked = {}
        for call in calls:
            texts = [m[0]["content"][0]["text"] for m in call["messages"]]
            frames = [_frames(m[0]["content"]) for m in call["messages"]]
            answering = all(frames)  # an answer call: every request with its frames; decoupling: none, text only
            assert answering or not any(frames), "a call mixed answer and decoupling requests"
            # what reaches SamplingParams: 16 new tokens for answers (the benchmark's), the decoupling's own 256
            assert call["sampling_params"].max_tokens == (16 if answering else 256), (batch, answering)
            assert call["sampling_params"].temperature == 0
            assert len(texts) <= batch
            if answering:
                for text, got in zip(texts, frames):
                    assert tag_of(text) not in asked
                    asked[tag_of(text)] = {"text": text, "frames": got}
        assert metrics["batching"]["inner_calls"]["answer"] == -(-len(QUESTIONS) // batch)
        assert len(asked) == len(QUESTIONS) and all(s["error"] is None for s in samples)
        for s in samples:
            got = asked[tag_of(s["question"])]
            want = expected_indices("vllm", model_args, Path(s["video"]), FRAMES)
            assert got["frames"] == want == s["frames"]["indices"], (batch, s["video"], got["frames"], want)
            assert s["question"] in got["text"]
            assert all(o.split(". ", 1)[-1] in got["text"] for o in s["options"])
