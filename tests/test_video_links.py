"""Video-MME's .MP4 / .mkv files reach the qwen2_vl / qwen2_5_vl adapters as video (they test
``endswith((".mp4", ".avi", ".mov"))`` and would otherwise drop the video silently)."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest

from videorag_eval.runtime.adapter_specs import SPECS
from videorag_eval.lmms.video_links import needs_link, readable_link, spec_of_model

REPO = Path(__file__).resolve().parent.parent
DEMO = REPO / "tasks" / "demo" / "data" / "data" / "demo_001.mp4"


@pytest.mark.parametrize("suffix", [".MP4", ".mkv"])
def test_link_is_read_as_the_same_video(tmp_path, suffix):
    from decord import VideoReader

    src = tmp_path / "data" / f"abc{suffix}"
    src.parent.mkdir()
    shutil.copy(DEMO, src)
    suffixes = SPECS["qwen2_5_vl"].video_suffixes
    assert needs_link(str(src), suffixes)
    link = readable_link(str(src), suffixes, tmp_path / "cache")
    assert link.endswith(".mp4") and Path(link).is_symlink() and Path(link).parent == tmp_path / "cache" / "video_links"
    assert not needs_link(link, suffixes)
    assert readable_link(str(src), suffixes, tmp_path / "cache") == link  # stable, idempotent
    a, b = VideoReader(str(src)), VideoReader(link)
    assert len(a) == len(b) and np.array_equal(a[5].asnumpy(), b[5].asnumpy())
    assert readable_link(str(DEMO), suffixes, tmp_path / "cache") == str(DEMO)  # .mp4 needs no link


def test_no_link_possible_is_the_cache_s_failure_named_with_its_fix(tmp_path):
    # issue 25: a link that cannot be made in the cache is the cache's failure (systemic: every such video would
    # fail alike), not the video's unreadable_video
    from videorag_eval.store.cache import CacheIOError

    blocker = tmp_path / "cache"
    blocker.write_text("a file where the cache directory should be")
    with pytest.raises(CacheIOError) as err:
        readable_link(str(tmp_path / "x.MP4"), (".mp4",), blocker)
    assert "x.MP4" in str(err.value) and str(blocker) in str(err.value) and "cache_dir" in str(err.value)


def test_the_wrapper_knows_which_adapters_need_links():
    from lmms_eval.models.simple.qwen2_5_vl import Qwen2_5_VL
    from lmms_eval.models.simple.qwen2_vl import Qwen2_VL
    from lmms_eval.models.simple.qwen3_vl import Qwen3_VL

    assert spec_of_model(object.__new__(Qwen2_5_VL)).video_suffixes == (".mp4", ".avi", ".mov")
    assert spec_of_model(object.__new__(Qwen2_VL)).video_suffixes == (".mp4", ".avi", ".mov")
    assert spec_of_model(object.__new__(Qwen3_VL)).video_suffixes is None  # it lower-cases and knows .mkv


@pytest.mark.slow
def test_qwen2_5_vl_gets_the_video_of_an_MP4_and_a_mkv(tmp_path, e2e_cache, monkeypatch):
    """A Video-MME copy whose videos are named .MP4 / .mkv, through the real qwen2_5_vl adapter (tiny
    random model): every request reaching qwen-vl-utils carries the video (through the link)."""
    import sys

    sys.path.insert(0, str(REPO / "tasks"))
    import synthetic

    import lmms_eval.models.simple.qwen2_5_vl as q
    from helpers import read_cell, run_cell

    copy = synthetic.make_videomme(tmp_path / "vmme")
    data = copy / "data"
    (data / "demo_001.mp4").rename(data / "demo_001.MP4")
    (data / "demo_002.mp4").rename(data / "demo_002.mkv")
    real, seen = q.process_vision_info, []

    def spy(messages, *a, **k):
        seen.append([c.get("video") for m in messages for turn in m if isinstance(turn.get("content"), list)
                     for c in turn["content"] if c.get("type") == "video"])
        return real(messages, *a, **k)

    monkeypatch.setattr(q, "process_vision_info", spy)
    cell = run_cell("model=tiny_qwen2_5_vl", "task=videomme", f"task.data_dir={copy}", "rag=none", "limit=8",
                    f"results_dir={tmp_path / 'results'}", f"cache_dir={e2e_cache}")
    _, samples = read_cell(cell)
    by_video = {Path(s["video"]).name: s for s in samples}
    assert {"demo_001.MP4", "demo_002.mkv"} <= set(by_video)
    for name in ("demo_001.MP4", "demo_002.mkv"):
        link = by_video[name]["video_for_model"]
        assert link.endswith(".mp4") and Path(link).resolve() == (data / name).resolve()
        assert by_video[name]["error"] is None
    assert len(seen) == 8 and all(len(videos) == 1 and videos[0].endswith(".mp4") for videos in seen)
