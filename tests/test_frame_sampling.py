"""The frames OCR/DET read are the frames each adapter gives its LVLM: ``frame_sampling`` checked
against the adapters' OWN sampling code (lmms-eval 0.7.3, qwen-vl-utils) on the demo videos."""

from __future__ import annotations

import ast
import importlib.util
from pathlib import Path

import numpy as np
import pytest

from videorag_eval.runtime.frame_sampling import index_rule, qwen_vl_utils_stage

REPO = Path(__file__).resolve().parent.parent
VIDEOS = sorted((REPO / "tasks" / "demo" / "data" / "data").glob("demo_00[1-4].mp4"))
LMMS = Path(importlib.util.find_spec("lmms_eval").origin).parent


def _reader(path):
    from decord import VideoReader, cpu

    return VideoReader(str(path), ctx=cpu(0), num_threads=1)


def _total_fps(path):
    vr = _reader(path)
    return len(vr), float(vr.get_avg_fps())


@pytest.mark.parametrize("video", VIDEOS, ids=lambda p: p.stem)
@pytest.mark.parametrize("n", [4, 8, 32, 300])
def test_llava_vid_load_video_is_mirrored(video, n):
    """llava_vid's own ``load_video`` (its module needs the git-only ``llava`` package, so the method
    is compiled from the installed source) returns exactly the frames at the mirrored indices."""
    from decord import VideoReader, cpu

    src = (LMMS / "models" / "simple" / "llava_vid.py").read_text()
    cls = next(c for c in ast.parse(src).body if isinstance(c, ast.ClassDef) and c.name == "LlavaVid")
    fn = next(f for f in cls.body if isinstance(f, ast.FunctionDef) and f.name == "load_video")
    ns = {"np": np, "VideoReader": VideoReader, "cpu": cpu}
    exec(compile(ast.Module(body=[fn], type_ignores=[]), "llava_vid.py", "exec"), ns)
    total, fps = _total_fps(video)
    vr = _reader(video)
    for force in (True, False):
        frames, _, _ = ns["load_video"](None, str(video), n, 1, force_sample=force)
        _, rule = index_rule("llava_vid", {"force_sample": force, "video_fps": 1})
        idx = rule(total, fps, n)
        assert np.array_equal(frames, vr.get_batch(idx).asnumpy()), (force, idx)
    if n == 8:  # unforced, a 30-s video at 1 fps has more than 8 frames -> uniform anyway; at 300 it is 1 fps
        assert index_rule("llava_vid", {"force_sample": False})[1](total, fps, 300) == list(range(0, total, 4))


@pytest.mark.parametrize("video", VIDEOS, ids=lambda p: p.stem)
def test_qwen_vl_utils_first_stage_is_mirrored(video):
    from qwen_vl_utils.vision_process import _read_video_decord

    total, fps = _total_fps(video)
    _, meta, _ = _read_video_decord({"video": str(video)})
    assert qwen_vl_utils_stage(total, fps) == list(meta["frames_indices"])
    for n in (4, 8, 16):  # qwen3_vl passes nframes=min(n, total)
        _, meta, _ = _read_video_decord({"video": str(video), "nframes": min(n, total)})
        assert index_rule("qwen3_vl")[1](total, fps, n) == list(meta["frames_indices"])


@pytest.mark.parametrize("video", VIDEOS, ids=lambda p: p.stem)
@pytest.mark.parametrize("n", [4, 8, 32])
def test_internvl_get_index_is_mirrored(video, n):
    import lmms_eval.models.simple.internvl2 as v2
    import lmms_eval.models.simple.internvl3 as v3

    total, fps = _total_fps(video)
    ours = index_rule("internvl2")[1](total, fps, n)
    assert ours == index_rule("internvl3_5")[1](total, fps, n)
    assert ours == [int(i) for i in v2.get_index(None, fps, total - 1, first_idx=0, num_segments=n)]
    assert ours == [int(i) for i in v3.get_index(None, fps, total - 1, first_idx=0, num_segments=n)]


@pytest.mark.parametrize("video", VIDEOS[:2], ids=lambda p: p.stem)
def test_uniform_adapters_are_mirrored(video):
    from lmms_eval.models.simple.llava_hf import LlavaHf

    total, fps = _total_fps(video)
    vr = _reader(video)
    for n in (8, 16):
        frames = LlavaHf.load_video(None, str(video), n)
        for adapter in ("llava_hf", "llava_onevision", "longva", "video_llava"):
            idx = index_rule(adapter)[1](total, fps, n)
            assert np.array_equal(frames, vr.get_batch(idx).asnumpy()), adapter


@pytest.mark.slow
def test_qwen2_5_vl_adapter_sees_the_mirrored_frames(tmp_path, monkeypatch):
    """The real qwen2_5_vl adapter (tiny random model) on a demo video: every frame handed to the
    processor is tagged with its source index, and they are exactly ``index_rule("qwen2_5_vl")``."""
    import torch
    from lmms_eval.api.instance import Instance
    from qwen_vl_utils.vision_process import _read_video_decord

    import lmms_eval.models.simple.qwen2_5_vl as q
    from videorag_eval.models.tiny import ensure_tiny

    video = str(VIDEOS[0])
    total, fps = _total_fps(video)
    first = _read_video_decord({"video": video})[1]["frames_indices"]
    real_pvi = q.process_vision_info

    def tagged(messages, *a, **k):
        images, videos = real_pvi(messages, *a, **k)[:2]
        videos = [torch.stack([torch.full_like(v[0], i % 256) for i in range(v.shape[0])]) for v in videos]
        return images, videos

    monkeypatch.setattr(q, "process_vision_info", tagged)
    path = ensure_tiny("tiny_qwen2_5_vl", tmp_path)
    from videorag_eval.lmms.adapters import apply_adapter_fixes

    apply_adapter_fixes("qwen2_5_vl")  # as the runner's factory does before building the adapter
    n = 8
    model = q.Qwen2_5_VL(pretrained=path, device="cpu", device_map="cpu", batch_size=1, min_pixels=3136,
                         max_pixels=12544, max_num_frames=n)
    seen: list = []
    real_proc = model.processor

    class Spy:
        def __getattr__(self, name):
            return getattr(real_proc, name)

        def __call__(self, *a, videos=None, **k):
            seen.extend(int(f.flatten()[0]) for f in videos[0])
            return real_proc(*a, videos=videos, **k)

    model.processor = Spy()
    model.task_dict = {"t": {"test": {0: {}}}}
    req = Instance(request_type="generate_until", idx=0, metadata={"task": "t", "doc_id": 0, "repeats": 1},
                   arguments=("Answer:", {"max_new_tokens": 2, "temperature": 0, "do_sample": False, "until": []},
                              lambda doc: [video], 0, "t", "test"))
    model.generate_until([req])
    assert [first[i] for i in seen] == index_rule("qwen2_5_vl")[1](total, fps, n)


def test_pipeline_reads_the_adapters_frames(tmp_path):
    """The pipeline built for a model config samples (and records) that adapter's frames."""
    from helpers import compose

    from videorag_eval.lmms.factory import build_pipeline

    video = str(VIDEOS[0])
    total, fps = _total_fps(video)
    for model, rule_name in (("qwen2_5_vl_7b", "qwen_vl_utils"), ("internvl2_8b", "internvl_segments"),
                             ("llava_video_7b", "llava_vid(force_sample=True)"), ("text_only", "uniform")):
        cfg = compose(f"model={model}", f"cache_dir={tmp_path}", "frames=8")
        pipeline = build_pipeline(cfg)
        rec = pipeline.lvlm_frames(video)
        assert rec["rule"] == rule_name
        assert rec["indices"] == index_rule(cfg.model.adapter, dict(cfg.model.model_args))[1](total, fps, 8)
    # the qwen adapters do not see uniform frames of the video: the mirroring matters
    assert index_rule("qwen2_5_vl")[1](total, fps, 8) != index_rule("text_only")[1](total, fps, 8)


@pytest.mark.parametrize("video", VIDEOS[:2], ids=lambda p: p.stem)
@pytest.mark.parametrize("n", [4, 8, 300])
def test_vllm_encode_video_is_mirrored(video, n, monkeypatch):
    """The vllm adapter's own encode_video (vLLM itself not needed): the frames it reads are ours."""
    import lmms_eval.models.simple.vllm as vllm_adapter

    from videorag_eval.runtime.frame_sampling import index_rule

    real, read = vllm_adapter.VideoReader, []

    class Recording:
        def __init__(self, path, ctx=None):
            self._vr = real(path, ctx=ctx)

        def __len__(self):
            return len(self._vr)

        def get_batch(self, indices):
            read.append([int(i) for i in indices])
            return self._vr.get_batch(indices)

    monkeypatch.setattr(vllm_adapter, "VideoReader", Recording)
    adapter = vllm_adapter.VLLM.__new__(vllm_adapter.VLLM)  # no engine: only its frame reading runs
    adapter.max_frame_num = n
    adapter._maybe_resize_image = lambda image: image
    frames = adapter.encode_video(str(video))
    total, fps = _total_fps(video)
    name, rule = index_rule("vllm", {})
    assert name == "uniform_last" and read == [rule(total, fps, n)] and len(frames) == len(read[0])
