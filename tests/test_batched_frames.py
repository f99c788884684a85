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
from indexed_videos import FRAMES, QUESTIONS, expected_indices, make_indexed_videomme, record_processor, tag_of

pytestmark = pytest.mark.slow

TINY = {"qwen2_5_vl": "tiny_qwen2_5_vl", "qwen2_vl": "tiny_qwen2_vl", "qwen3_vl": "tiny_qwen3_vl"}


@pytest.fixture(scope="module")
def indexed_videomme(tmp_path_factory) -> Path:
    return make_indexed_videomme(tmp_path_factory.mktemp("indexed_vmme"))


def requests_of(calls: list) -> dict[str, dict]:
    """Per question (its "Q<k>" tag): the frames and the text its request carried, and its call's padding."""
    seen: dict[str, dict] = {}
    for call in calls:
        assert len(call["videos"]) == len(call["texts"]), "a request of the batch reached the model without its video"
        for text, frames in zip(call["texts"], call["videos"]):
            tag = tag_of(text)
            assert tag not in seen, f"{tag} asked twice"
            seen[tag] = {"frames": frames, "text": text, "batch": len(call["texts"]), "left": call["left_padded"],
                         "padded": call["padded"]}
    return seen


@pytest.mark.parametrize("adapter", sorted(TINY))
def test_every_request_of_a_batch_gets_the_frames_the_cell_records(adapter, indexed_videomme, tmp_path, e2e_cache,
                                                                   monkeypatch):
    from helpers import compose

    model_args = dict(compose(f"model={TINY[adapter]}").model.model_args)
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
            got = seen[tag_of(s["question"])]
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
