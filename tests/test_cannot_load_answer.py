"""lmms-eval's ``llava_vid`` adapter does not raise when its decoder fails on a video: it *answers*
"Video <path> can not load, check the source". That answer is an ``unreadable_video`` data failure of
the question, never a prediction to score (where it could even parse as a letter).

llava_vid needs the git-only LLaVA-NeXT package and weights, so a stand-in replays the adapter's own
sentinel (read from the installed adapter's source) for one video; everything else is real."""

import importlib.util
import re
from pathlib import Path

import pytest
from lmms_eval.api.model import lmms

from helpers import compose, read_cell

pytestmark = pytest.mark.slow
BROKEN = "demo_001"


def _llava_vid_sentinel() -> str:
    base = Path(importlib.util.find_spec("lmms_eval").origin).parent
    src = (base / "models" / "simple" / "llava_vid.py").read_text()
    m = re.search(r'res\.append\(f"(Video \{video_path\} can not load, check the source)"\)', src)
    assert m, "llava_vid no longer answers its 'can not load' sentinel: revisit wrapper.CANNOT_LOAD"
    return m.group(1)


class FailsToLoadOneVideo(lmms):
    """Answers "A" (a letter the sentinel would parse as, under the lenient parser) except for BROKEN's
    video, where it answers as llava_vid does when its decoder fails."""

    is_simple = True

    def __init__(self):
        super().__init__()
        self.sentinel = _llava_vid_sentinel()

    def generate_until(self, requests):
        out = []
        for r in requests:
            video = r.args[2](self.task_dict[r.args[4]][r.args[5]][r.args[3]])[0]
            out.append(self.sentinel.format(video_path=video) if BROKEN in video else "A")
        return out

    def loglikelihood(self, requests):
        raise NotImplementedError

    def generate_until_multi_round(self, requests):
        raise NotImplementedError


def test_the_can_not_load_answer_is_an_unreadable_video_failure(monkeypatch, tmp_path):
    from videorag_eval.cell import runner

    monkeypatch.setattr(runner, "build_inner", lambda cfg, pipeline: FailsToLoadOneVideo())
    cell = runner.run_cell(compose("rag=none", "limit=8", f"results_dir={tmp_path}"))
    metrics, samples = read_cell(cell)
    broken = [s for s in samples if s["video"].endswith(f"{BROKEN}.mp4")]
    assert len(broken) == 4
    for s in broken:
        assert s["error_kind"] == "unreadable_video" and "can not load" in s["error"]
        assert s["prediction"] == "" and s["correct"] is False
    assert metrics["n_failed"] == 4 and metrics["failures"] == {"unreadable_video": 4}
    assert all(s["error"] is None and s["prediction"] == "A" for s in samples if s not in broken)
