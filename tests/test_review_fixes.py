"""Fixes from the review of the comparable-numbers / decode-once change: each test fails on the code before.

- the token budget charges LongVideoBench's subtitles block (in the prompt, never cut) to the question;
- ``aux.det.keyframes.similarity`` is part of a cell only where CLIP runs (DET on, keyframe rule not ``all``);
- a frame kept by the frame store owns its memory (a view would keep its whole decode batch alive);
- the decoupling reply cache's key names our text-only fix for the adapters it serves.
"""

from __future__ import annotations

import types
from pathlib import Path

from helpers import compose

from videorag_eval.method.budget import TokenBudget
from videorag_eval.method.prompt import count_tokens, render_block
from videorag_eval.core.records import AuxDoc


def test_budget_counts_the_subtitles_block_with_the_question():
    from videorag_eval.lmms.wrapper import VideoRAG

    asr = [AuxDoc("asr", f"speech number {k} " + "word " * 20, 30.0 * k, 30.0 * (k + 1), score=0.5 + k / 100)
           for k in range(4)]
    subtitles = "Subtitles of the clip:\n" + "line of subtitle text " * 40
    pipeline = types.SimpleNamespace(budget=TokenBudget("auto", 200),
                                     render_blocks=lambda docs, frames: {s: render_block(s, d) for s, d in docs.items() if d})
    fake = types.SimpleNamespace(pipeline=pipeline, _tokenize=None, counts={"budget_questions": 0, "budget_dropped": 0})
    aug = types.SimpleNamespace(retrieved={"asr": list(asr)}, det=None, frames=None,
                                blocks={"subtitles": subtitles, "asr": render_block("asr", asr)})
    record: dict = {}
    question = "Which city is named? A. Oslo B. Lisbon"
    VideoRAG._fit_budget(fake, aug, question, record)
    sent = count_tokens("\n".join([aug.blocks["subtitles"], question, aug.blocks.get("asr", "")]))[0]
    assert record["aux_budget"]["question_tokens"] >= count_tokens(subtitles)[0]
    assert sent <= 200 + 2  # the whole prompt's text fits (joins aside); before, 123 + the subtitles went through
    assert record["aux_dropped"], "with the subtitles counted there is no room for every ASR document"
    assert aug.blocks["subtitles"] == subtitles  # never cut


def test_keyframe_similarity_is_part_of_a_cell_only_where_clip_runs():
    from videorag_eval.cell.identity import identity

    def similarity(*overrides):
        data = identity(compose("model=text_only", "task=videomme", "method=official", *overrides))
        return (((data.get("aux") or {}).get("det") or {}).get("keyframes") or {}).get("similarity")

    assert similarity("rag=asr") is None  # no DET: the same cell as before the key existed
    assert similarity("rag=ocr") is None
    assert similarity("rag=full") == "dot"
    assert similarity("rag=full", "aux.det.keyframes.rule=all") is None  # no CLIP either


def test_a_kept_frame_owns_its_memory(demo_data):
    from videorag_eval.method import media

    video = sorted(Path(demo_data).rglob("*.mp4"))[0]
    store = media.FrameStore(max_bytes=1 << 30)
    frames = store.read(video, [0, 5, 10, 15])
    assert all(f.base is None for f in store._frames.values())
    assert store.bytes == sum(f.nbytes for f in store._frames.values())
    fresh = media.read_frames(video, [5])[0]
    assert (frames[1] == fresh).all()


def test_decoupling_key_names_the_text_only_fix():
    from videorag_eval.lmms.adapters import TEXT_ONLY_FIX_VERSION
    from videorag_eval.lmms.decoupling_cache import model_identity

    cfg = compose("model=llava_video_7b", "task=videomme")
    assert model_identity(cfg, "text_only")["text_only_fix"] == TEXT_ONLY_FIX_VERSION
    assert "text_only_fix" not in model_identity(cfg, "with_video")  # the adapter's own path
    assert "text_only_fix" not in model_identity(compose("model=qwen2_vl_7b", "task=videomme"), "text_only")
