"""The subtitles arms are the benchmarks' own protocols, through lmms-eval 0.7.3's own functions:
Video-MME = ``videomme_w_subtitle`` (cues under its ``frame_num`` frames, its header and prompt);
LongVideoBench = the lines its interleaved task keeps, rebased by ``starting_timestamp_for_subtitles``
and limited to the clip. Compared with lmms-eval's output on synthetic local copies: exact equality."""

import json
import sys
from pathlib import Path

import pytest

from helpers import read_cell, run_cell

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tasks"))
import synthetic  # noqa: E402

OFFSET = 100.0  # seconds: where the clip starts in the source video the LVB subtitle file is timed on
N_CUES = 40


def _duration(video: Path) -> float:
    import av

    with av.open(str(video)) as c:
        return float(c.duration) / 1e6


def _stamp(seconds: float, sep: str = ",") -> str:
    ms = int(round(seconds * 1000))
    return f"{ms // 3_600_000:02d}:{ms // 60_000 % 60:02d}:{ms // 1000 % 60:02d}{sep}{ms % 1000:03d}"


def make_forty_cue_copy(out: Path) -> Path:
    """A Video-MME copy whose every video has 40 short back-to-back cues (Video-MME's white-font SRT)."""
    synthetic.make_videomme(out)
    for video in sorted((out / "data").glob("*.mp4")):
        d = _duration(video)
        cues = [f"{k + 1}\n{_stamp(k * d / N_CUES)} --> {_stamp((k + 1) * d / N_CUES)}\n"
                f'<font color="white" size=".72c">line {k + 1} of {video.stem}</font>\n' for k in range(N_CUES)]
        (out / "subtitle" / f"{video.stem}.srt").write_text("\n".join(cues))
    return out


def make_offset_lvb_copy(out: Path) -> Path:
    """A LongVideoBench copy timed as the real one: subtitle times on the source video, the clip starting
    at OFFSET, and a line before and after the clip."""
    synthetic.make_longvideobench(out)
    records = json.loads((out / "lvb_val.json").read_text())
    for rec in records:
        rec["starting_timestamp_for_subtitles"] = OFFSET
    (out / "lvb_val.json").write_text(json.dumps(records))
    for path in (out / "subtitles").glob("*.json"):
        lines = json.loads(path.read_text())
        shifted = [{"start": _stamp(_secs(x["start"]) + OFFSET, "."), "end": _stamp(_secs(x["end"]) + OFFSET, "."),
                    "line": x["line"]} for x in lines]
        before = {"start": _stamp(OFFSET - 12, "."), "end": _stamp(OFFSET - 8, "."), "line": "BEFORE the clip: the tour was cancelled."}
        after = {"start": _stamp(OFFSET + 45, "."), "end": _stamp(OFFSET + 50, "."), "line": "AFTER the clip: the guide is Pedro."}
        path.write_text(json.dumps([before] + shifted + [after]))
    return out


def _secs(stamp: str) -> float:
    h, m, s = stamp.split(":")
    return int(h) * 3600 + int(m) * 60 + float(s)


@pytest.fixture(scope="module")
def forty(tmp_path_factory):
    return make_forty_cue_copy(tmp_path_factory.mktemp("hf") / "videomme")


@pytest.fixture(scope="module")
def lvb(tmp_path_factory):
    return make_offset_lvb_copy(tmp_path_factory.mktemp("hf") / "datasets" / "longvideobench")


def _videomme_docs(copy: Path) -> list[dict]:
    import pandas as pd

    return pd.read_parquet(copy / "videomme" / "test-00000-of-00001.parquet").to_dict("records")


def _theirs_videomme(monkeypatch, copy: Path, doc: dict, kwargs: dict) -> str:
    """lmms-eval's own videomme_w_subtitle prompt, reading the copy as if it were its hub download."""
    from lmms_eval.tasks.videomme import utils as vm

    monkeypatch.setattr(vm, "base_cache_dir", str(copy.parent))  # <HF_HOME>/videomme
    return vm.videomme_doc_to_text_subtitle(doc, kwargs)


def test_frame_num_is_that_of_videomme_w_subtitle_for_the_adapter():
    from videorag_eval.benchmarks.subtitle_prompts import task_kwargs

    yaml = "videomme/videomme_w_subtitle.yaml"
    assert task_kwargs(yaml, "qwen2_5_vl")["frame_num"] == 32  # the default entry
    assert task_kwargs(yaml, "llava_vid")["frame_num"] == 768
    assert task_kwargs(yaml, "qwen3_vl")["frame_num"] == 768 and task_kwargs(yaml, "qwen3_vl")["format"] == "qwen3_vl"


@pytest.mark.parametrize("adapter", [None, "qwen3_vl"])
def test_videomme_prompt_equals_lmms_eval_with_forty_cues(forty, monkeypatch, adapter):
    from videorag_eval.benchmarks.subtitle_prompts import task_kwargs, videomme_prompt

    kwargs = task_kwargs("videomme/videomme_w_subtitle.yaml", adapter)
    docs = _videomme_docs(forty)
    for doc in docs[::5]:
        ours = videomme_prompt(doc, forty, kwargs)
        theirs = _theirs_videomme(monkeypatch, forty, doc, kwargs)
        assert ours.context == theirs  # the whole prompt, character for character
        assert theirs.startswith("This video's subtitles are listed below: \n")
        assert len(ours.docs) == kwargs["frame_num"] if adapter is None else len(ours.docs) == N_CUES  # 768 frames: all
        assert all(f"of {doc['videoID']}" in d.text and d.start is not None for d in ours.docs)


@pytest.mark.slow
def test_videomme_subtitles_cell_sends_lmms_eval_prompt(forty, monkeypatch, tmp_path):
    """A cell at frames=8 sends lmms-eval's prompt with 32 cues (not one cue per LVLM frame)."""
    from videorag_eval.benchmarks.subtitle_prompts import task_kwargs

    cell = run_cell("task=videomme", f"task.data_dir={forty}", "rag=subtitles", "aux=packaged", "frames=8", "limit=6",
                    f"results_dir={tmp_path}", f"cache_dir={tmp_path / '.cache'}")
    metrics, samples = read_cell(cell)
    assert metrics["n"] == 6 and metrics["n_failed"] == 0
    kwargs = task_kwargs("videomme/videomme_w_subtitle.yaml", "videorag_text_only")
    docs = {d["question_id"]: d for d in _videomme_docs(forty)}
    for s in samples:
        assert s["prompt"] == _theirs_videomme(monkeypatch, forty, docs[s["question_id"]], kwargs)
        assert len(s["aux"]["subtitles"]) == 32


def _theirs_lvb_lines(monkeypatch, copy: Path, doc: dict) -> list[str]:
    """The subtitle lines of lmms-eval's own interleaved LongVideoBench prompt (its <image> markers dropped)."""
    from lmms_eval.tasks.longvideobench import utils as lvb

    monkeypatch.setenv("HF_HOME", str(copy.parent.parent))  # <HF_HOME>/datasets/longvideobench
    kwargs = {"pre_prompt": "", "post_prompt": "", "insert_interleave_subtitles": True}
    prompt = lvb.longvideobench_doc_to_text(doc, kwargs)
    plain = lvb.longvideobench_doc_to_text(doc, {**kwargs, "insert_interleave_subtitles": False})
    prefix = prompt[: len(prompt) - len(plain) - 1]
    return [line for line in prefix.split("\n") if line != "<image>"]


def test_longvideobench_lines_equal_lmms_eval_rebased_and_in_the_clip(lvb, monkeypatch):
    from videorag_eval.benchmarks.subtitle_prompts import longvideobench_prompt

    for doc in json.loads((lvb / "lvb_val.json").read_text()):
        ours = longvideobench_prompt(doc, lvb)
        theirs = _theirs_lvb_lines(monkeypatch, lvb, doc)
        assert [d.text for d in ours.docs] == theirs and theirs
        assert ours.block == "Subtitles of the video (in chronological order):\n" + "\n".join(theirs) + "\n"
        assert not any("BEFORE" in t or "AFTER" in t for t in theirs)
        assert all(0 <= d.start < d.end <= doc["duration"] for d in ours.docs)  # clip time, not source time


def test_longvideobench_timestamp_shape(tmp_path):
    from videorag_eval.benchmarks.subtitle_prompts import longvideobench_prompt

    (tmp_path / "subtitles").mkdir()
    (tmp_path / "subtitles" / "b.json").write_text(json.dumps([{"timestamp": [103.0, 106.0], "text": "inside"},
                                                               {"timestamp": [150.0, 155.0], "text": "outside"}]))
    doc = {"subtitle_path": "b.json", "starting_timestamp_for_subtitles": 100.0, "duration": 30.0}
    got = longvideobench_prompt(doc, tmp_path)
    assert [(d.start, d.end, d.text) for d in got.docs] == [(3.0, 6.0, "inside")]
    from videorag_eval.benchmarks.subtitle_files import MissingSubtitles

    with pytest.raises(MissingSubtitles) as err:  # lmms-eval raises on it: a recorded failure, never "no subtitles"
        longvideobench_prompt({**doc, "subtitle_path": "missing.json"}, tmp_path)
    assert err.value.kind == "missing_subtitles" and "missing.json" in str(err.value)


@pytest.mark.slow
def test_longvideobench_subtitles_cell_keeps_the_clip_only(lvb, tmp_path):
    cell = run_cell("task=longvideobench", f"task.data_dir={lvb}", "rag=subtitles", "aux=packaged",
                    f"results_dir={tmp_path}", f"cache_dir={tmp_path / '.cache'}")
    metrics, samples = read_cell(cell)
    assert metrics["n"] == 46 and metrics["n_failed"] == 0 and metrics["aux_retrieved"]["subtitles"] > 0
    for s in samples:
        assert not any("BEFORE" in t or "AFTER" in t for t in s["aux"]["subtitles"])
        assert all(0 <= d["start"] < d["end"] <= 30.0 for d in s["aux_docs"]["subtitles"])
    speech = [s for s in samples if s["categories"]["source"] == "asr"]
    # the lines carry the spoken facts: text_only answers the speech questions
    assert sum(s["correct"] for s in speech) >= 0.8 * len(speech)


@pytest.mark.slow
def test_a_file_lmms_eval_cannot_read_fails_its_videos_questions_only(tmp_path):
    """'.' before milliseconds: players (and our reader) accept it, lmms-eval's Video-MME reader raises; that
    video's questions fail as bad_subtitles, the others are answered (lmms-eval itself would stop the run)."""
    copy = synthetic.make_videomme(tmp_path / "copy")
    srt = copy / "subtitle" / "demo_001.srt"
    srt.write_text(srt.read_text().replace(",", "."))
    cell = run_cell("task=videomme", f"task.data_dir={copy}", "rag=subtitles", "aux=packaged", "limit=8",
                    f"results_dir={tmp_path / 'out'}", f"cache_dir={tmp_path / 'out' / '.cache'}")
    metrics, samples = read_cell(cell)
    bad = [s for s in samples if s["video"] and s["video"].endswith("demo_001.mp4")]
    assert len(bad) == 4 and all(s["error_kind"] == "bad_subtitles" for s in bad)
    assert all("lmms-eval's Video-MME subtitle reader cannot read" in s["error"] for s in bad)
    assert metrics["n_failed"] == 4 and all(s["error"] is None for s in samples if s not in bad)
