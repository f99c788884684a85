"""What each batched adapter hands its model, request by request: the frames and the text.

Every real adapter with a ``batch_arg`` (qwen2_5_vl, qwen2_vl, qwen3_vl through tiny random models; vllm in
``test_vllm_path.py``) runs a cell at batch sizes 1, 2 and 4 on videos of mixed lengths whose every frame
carries its own index in its colour, named ``.mp4``, ``.MP4`` and ``.mkv`` at positions other than the first.
A recording processor (the model's real processor, wrapped) keeps what each call received; the index of every
frame is read back from its pixels. For each request: the frames are the ones the cell records in
``samples.jsonl`` and the ones ``frame_sampling`` gives OCR and DET; the text is its own question's; batches
are padded on the left.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from helpers import read_cell, run_cell

pytestmark = pytest.mark.slow

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
TINY = {"qwen2_5_vl": "tiny_qwen2_5_vl", "qwen2_vl": "tiny_qwen2_vl", "qwen3_vl": "tiny_qwen3_vl"}


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


@pytest.fixture(scope="module")
def indexed_videomme(tmp_path_factory) -> Path:
    """A Video-MME-layout copy of the videos above, one question each (vid_b two)."""
    import pandas as pd

    root = tmp_path_factory.mktemp("indexed_vmme")
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


def expected_indices(adapter: str, model_args: dict, video: Path, n: int) -> list[int]:
    """What ``frame_sampling`` gives OCR and DET for this video (the mirrored rule, on the container's frames)."""
    from decord import VideoReader

    from videorag_eval.frame_sampling import index_rule

    vr = VideoReader(str(video))
    return index_rule(adapter, model_args)[1](len(vr), float(vr.get_avg_fps()), n)


def requests_of(calls: list) -> dict[str, dict]:
    """Per question (its "Q<k>" tag): the frames and the text its request carried, and its call's padding."""
    seen: dict[str, dict] = {}
    for call in calls:
        assert len(call["videos"]) == len(call["texts"]), "a request of the batch reached the model without its video"
        for text, frames in zip(call["texts"], call["videos"]):
            tags = [f"Q{k}" for k in range(len(QUESTIONS)) if f"Q{k} " in text]
            assert len(tags) == 1, f"a text carries {tags}: {text[:200]}"
            assert tags[0] not in seen, f"{tags[0]} asked twice"
            seen[tags[0]] = {"frames": frames, "text": text, "batch": len(call["texts"]), "left": call["left_padded"],
                             "padded": call["padded"]}
    return seen


@pytest.mark.parametrize("adapter", sorted(TINY))
def test_every_request_of_a_batch_gets_the_frames_the_cell_records(adapter, indexed_videomme, tmp_path, e2e_cache,
                                                                   monkeypatch):
    from helpers import compose

    model_args = dict(compose(f"model={TINY[adapter]}").model.model_args)
    per_batch = {}
    for batch in (1, 2, 4):
        calls = record_processor(monkeypatch, adapter)
        cell = run_cell(f"model={TINY[adapter]}", "task=videomme", f"task.data_dir={indexed_videomme}", "rag=none",
                        f"frames={FRAMES}", f"batch_size={batch}", f"results_dir={tmp_path / f'r{batch}'}",
                        f"cache_dir={e2e_cache}")
        metrics, samples = read_cell(cell)
        assert metrics["batching"]["inner_calls"]["answer"] == -(-len(QUESTIONS) // batch)
        seen = requests_of(calls)
        assert len(seen) == len(QUESTIONS) and all(s["error"] is None for s in samples)
        for s in samples:
            tag = s["question"].split(" ", 1)[0]
            got = seen[tag]
            video = Path(s["video"])
            want = expected_indices(adapter, model_args, video, FRAMES)
            assert got["frames"] == want == s["frames"]["indices"], (adapter, batch, video.name, got["frames"], want,
                                                                    s["frames"]["indices"])
            assert s["question"] in got["text"]  # its own question, options and the task's prompt
            assert all(o.split(". ", 1)[-1] in got["text"] for o in s["options"])
            if video.suffix != ".mp4" and adapter != "qwen3_vl":  # read through its link (video_links.py)
                assert s["video_for_model"].endswith(".mp4")
            if got["batch"] > 1 and got["padded"]:
                assert got["left"], f"{adapter} batch {batch}: padded on the right"
        per_batch[batch] = {s["question"].split(" ", 1)[0]: s["prediction"] for s in samples}
    assert per_batch[1].keys() == per_batch[2].keys() == per_batch[4].keys()
