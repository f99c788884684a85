"""Videos whose every frame carries its own index in its colour, and a Video-MME-layout copy of them: a test
reads back from the pixels a model was handed which frames it got (``tests/test_batched_frames.py``,
``tests/test_vllm_path.py``)."""

from __future__ import annotations

from pathlib import Path

FPS = 10
# (video, frames, container): lengths from 3.7 s to 25.1 s; only the first is named .mp4
VIDEOS = [("vid_a.mp4", 37, "mp4"), ("vid_b.MP4", 251, "mp4"), ("vid_c.mkv", 64, "matroska"),
          ("vid_d.MP4", 120, "mp4"), ("vid_e.mkv", 90, "matroska")]
# (video, question): every question names itself ("Q<k>"), so a text is traced to its request; vid_a's question is
# the longest, so lmms-eval's collator (longest prompt first) puts it first in its batch and the others after it
QUESTIONS = [("vid_a", "Q0 " + "Which colour does the screen show at the very end of the whole clip, after all "
              "the colours before it have been shown one by one? Think about it."),
             ("vid_b", "Q1 Which colour comes first?"), ("vid_c", "Q2 Which colour is last?"),
             ("vid_d", "Q3 How many colours?"), ("vid_e", "Q4 Is it green?"), ("vid_b", "Q5 Is it red?")]
FRAMES = 4


def colour(i: int) -> tuple[int, int, int]:
    """Frame ``i``'s colour: three base-8 digits of its index, 32 levels apart (codec error is < 8)."""
    return 16 + 32 * (i % 8), 16 + 32 * ((i // 8) % 8), 16 + 32 * (i // 64)


def index_of(frame) -> int:
    """The index a frame carries, from its mean colour (HWC or CHW, any scale the readers use: 0-255)."""
    import numpy as np

    a = np.asarray(frame, dtype=np.float64)
    channels = a.reshape(3, -1).mean(1) if a.shape[0] == 3 else a.reshape(-1, 3).mean(0)
    r, g, b = (int(round((v - 16) / 32)) for v in channels)
    return r + 8 * g + 64 * b


def write_indexed_video(path: Path, frames: int, container: str, size=(128, 96)) -> Path:
    import av
    import numpy as np

    width, height = size
    with av.open(str(path), "w", format=container) as out:
        stream = out.add_stream("mpeg4", rate=FPS)
        stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
        stream.options = {"qscale": "1"}
        for i in range(frames):
            img = np.zeros((height, width, 3), np.uint8)
            img[:] = colour(i)
            for packet in stream.encode(av.VideoFrame.from_ndarray(img, format="rgb24")):
                out.mux(packet)
        for packet in stream.encode():
            out.mux(packet)
    return path


def make_indexed_videomme(root: Path) -> Path:
    """A Video-MME-layout copy of the videos above, one question each (vid_b two)."""
    import pandas as pd

    (root / "data").mkdir()
    (root / "subtitle").mkdir()
    (root / "videomme").mkdir()
    for name, frames, container in VIDEOS:
        write_indexed_video(root / "data" / name, frames, container)
    rows = [{"video_id": f"{k:03d}", "duration": "short", "domain": "Knowledge", "sub_category": "Humanity & History",
             "url": "synthetic://indexed", "videoID": vid, "question_id": f"{vid}-{k}", "task_type": "Information Synopsis",
             "question": q, "options": ["A. red", "B. green", "C. blue", "D. grey"], "answer": "A", "source": "none"}
            for k, (vid, q) in enumerate(QUESTIONS)]
    pd.DataFrame(rows).to_parquet(root / "videomme" / "test-00000-of-00001.parquet")
    return root


def tag_of(text: str) -> str:
    """The "Q<k>" of the one question a text carries (an assertion error if it carries none or several)."""
    tags = [f"Q{k}" for k in range(len(QUESTIONS)) if f"Q{k} " in text]
    assert len(tags) == 1, f"a text carries {tags}: {text[:200]}"
    return tags[0]


def expected_indices(adapter: str, model_args: dict, video: Path, n: int) -> list[int]:
    """What ``frame_sampling`` gives OCR and DET for this video (the mirrored rule, on the container's frames)."""
    from decord import VideoReader

    from videorag_eval.runtime.frame_sampling import index_rule

    vr = VideoReader(str(video))
    return index_rule(adapter, model_args)[1](len(vr), float(vr.get_avg_fps()), n)


# --------------------------------------------------------------------------- what a model receives


class RecordingProcessor:
    """The model's real processor; every call's texts, videos (as frame indices) and padding are kept."""

    def __init__(self, real, calls: list):
        self._real = real
        self._calls = calls

    def __call__(self, *args, **kwargs):
        out = self._real(*args, **kwargs)
        text = kwargs.get("text", args[0] if args else None)
        texts = [text] if isinstance(text, str) else list(text or [])
        videos = kwargs.get("videos") or []
        mask = out["attention_mask"]
        self._calls.append({
            "texts": texts,
            "videos": [[index_of(frame) for frame in video] for video in videos],
            "left_padded": all(bool(row[-1]) for row in mask),  # every row ends with a real token
            "padded": bool((mask == 0).any()),
        })
        return out

    def __getattr__(self, name):
        return getattr(self._real, name)


def record_processor(monkeypatch, adapter: str) -> list:
    import importlib

    module = importlib.import_module(f"lmms_eval.models.simple.{adapter}")
    calls: list = []
    from transformers import AutoProcessor as real

    class Recording:
        @staticmethod
        def from_pretrained(*args, **kwargs):
            return RecordingProcessor(real.from_pretrained(*args, **kwargs), calls)

    monkeypatch.setattr(module, "AutoProcessor", Recording)
    return calls
