"""The frame indices an inner LVLM sees, mirrored from its lmms-eval 0.7.3 adapter.

OCR and DET read exactly these frames, and the DET block's "the video has N frames ... Frame k"
speaks of them, so the auxiliary text describes the frames the model was given. Each rule mirrors
the adapter's own code (``tests/test_frame_sampling.py`` checks it against the real functions on
the demo videos):

- ``uniform``: ``np.linspace(0, total - 1, n, dtype=int)`` (llava_onevision, longva, video_llava,
  llava_hf; weight-free models);
- ``llava_vid``: every round(fps / video_fps)-th frame (1 fps) unless there are more than
  ``max_frames_num`` of them or ``force_sample`` is set, then uniform (the shipped configs set
  ``force_sample: true``);
- ``qwen_vl_utils`` (qwen2_vl, qwen2_5_vl): qwen-vl-utils reads the video at 2 fps (at least 4,
  at most 768 frames, even count), then the adapter keeps ``np.unique(linspace(0, T - 1, n))`` of those;
- ``qwen3_vl``: qwen-vl-utils reads ``min(n, total)`` frames rounded to an even count, uniformly;
- ``internvl_segments`` (internvl2, internvl3/3.5): the middle frame of each of n equal segments;
- ``uniform_last`` (vllm): ``uniform``, plus the last frame when it is not among them (n or n+1 frames).
"""

from __future__ import annotations

from typing import Any, Callable

IndexRule = Callable[[int, float, int], list[int]]  # (total_frames, fps, n) -> indices


def _uniform(total: int, fps: float, n: int) -> list[int]:
    import numpy as np

    return [int(i) for i in np.linspace(0, total - 1, n, dtype=int)]


def _uniform_last(total: int, fps: float, n: int) -> list[int]:
    idx = _uniform(total, fps, n)
    return idx if total - 1 in idx else idx + [total - 1]


def _llava_vid(video_fps: float, force_sample: bool) -> IndexRule:
    def rule(total: int, fps: float, n: int) -> list[int]:
        step = max(1, round(fps / video_fps))
        idx = list(range(0, total, step))
        if len(idx) > n or force_sample:
            return _uniform(total, fps, n)
        return idx

    return rule


def _round_by(x: float, f: int) -> int:
    return round(x / f) * f


def _torch_linspace_round(start: int, end: int, n: int) -> list[int]:
    import torch

    return torch.linspace(start, end, n).round().long().tolist()


def qwen_vl_utils_stage(total: int, fps: float, ele: dict[str, Any] | None = None) -> list[int]:
    """The frames qwen-vl-utils 0.0.14 reads for a video item (``smart_nframes`` + linspace)."""
    import math

    ele = ele or {}
    if "nframes" in ele:
        nframes = _round_by(ele["nframes"], 2)
    else:
        target_fps = ele.get("fps", 2.0)
        min_frames = math.ceil(ele.get("min_frames", 4) / 2) * 2
        max_frames = math.floor(ele.get("max_frames", min(768, total)) / 2) * 2
        nframes = total / fps * target_fps
        nframes = min(min(max(nframes, min_frames), max_frames), total)
        nframes = math.floor(nframes / 2) * 2
    if not (2 <= nframes <= total):
        raise ValueError(f"qwen-vl-utils cannot sample {nframes} frames from a {total}-frame video")
    return _torch_linspace_round(0, total - 1, nframes)


def qwen_trim_positions(t: int, n: int, append_last: bool) -> list[int]:
    """Which of qwen-vl-utils' ``t`` frames the qwen2_vl / qwen2_5_vl adapters keep for ``max_num_frames=n``:
    ``np.unique(linspace(0, t - 1, n))``, plus the last one for qwen2_5_vl. (The adapters apply it to the first
    video of a batch only; ``adapters.fix_batched_frames`` applies it to every other one.)"""
    import numpy as np

    sel = np.unique(np.linspace(0, t - 1, n, dtype=int))
    if append_last and t - 1 not in sel:
        sel = np.unique(np.append(sel, t - 1))
    return [int(i) for i in sel]


def _qwen_two_stage(append_last: bool) -> IndexRule:
    def rule(total: int, fps: float, n: int) -> list[int]:
        first = qwen_vl_utils_stage(total, fps)
        return [int(first[i]) for i in qwen_trim_positions(len(first), n, append_last)]

    return rule


def _qwen3(total: int, fps: float, n: int) -> list[int]:
    return qwen_vl_utils_stage(total, fps, {"nframes": min(n, total)})


def _internvl(total: int, fps: float, n: int) -> list[int]:
    import numpy as np

    max_frame = total - 1
    start_idx = max(0, round(-100000.0 * fps))
    end_idx = min(round(100000.0 * fps), max_frame)
    seg = float(end_idx - start_idx) / n
    return [int(start_idx + seg / 2 + np.round(seg * i)) for i in range(n)]


def index_rule(adapter: str, model_args: dict[str, Any] | None = None) -> tuple[str, IndexRule]:
    """(rule name, rule) for an adapter configured with ``model_args``."""
    from .adapter_specs import spec_of

    args = model_args or {}
    spec = spec_of(adapter)
    kind = spec.sampler if spec is not None else "uniform"
    if kind == "llava_vid":
        force = bool(args.get("force_sample", False))
        return (f"llava_vid(force_sample={force})", _llava_vid(float(args.get("video_fps", 1)), force))
    if kind == "qwen_vl_utils":
        if args.get("fps") is not None:
            raise ValueError(f"{adapter}: model_args.fps is not mirrored by the harness; leave it unset")
        return kind, _qwen_two_stage(append_last=adapter == "qwen2_5_vl")
    if kind == "qwen3_vl":
        if args.get("fps") is not None or args.get("total_pixels") is not None:
            raise ValueError(f"{adapter}: model_args.fps/total_pixels are not mirrored by the harness; leave them unset")
        return kind, _qwen3
    if kind == "internvl_segments":
        return kind, _internvl
    if kind == "uniform_last":
        return kind, _uniform_last
    return "uniform", _uniform
