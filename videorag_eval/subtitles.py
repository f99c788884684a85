"""The benchmarks' own subtitles: the control arm (``rag=subtitles``) the paper compares against.

Video-MME: the cues of ``subtitle/<videoID>.srt`` that cover the cell's uniformly sampled frames (as
lmms-eval's with-subtitle task does, but at the cell's ``frames`` rather than a fixed 32, and kept in
chronological order instead of lmms-eval's unordered set), text inside Video-MME's
``<font color="white" size=".72c">`` tags. LongVideoBench: every line of its subtitle JSON, in order.
MLVU has no subtitles.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

from .records import AuxDoc, FrameSample

_FONT = re.compile(r'<font color="white" size=".72c">(.*?)</font>', re.DOTALL)
_TAG = re.compile(r"<[^>]+>")


class NoSubtitles(RuntimeError):
    pass


def _srt_time(text: str) -> float:
    h, m, rest = text.strip().split(":")
    s, ms = rest.replace(".", ",").split(",")
    return int(h) * 3600 + int(m) * 60 + int(s) + int(ms) / 1000


def parse_srt(path: str | Path) -> list[tuple[float, float, str]]:
    """(start, end, text) cues; Video-MME's white-font text when tagged, else the tag-stripped text."""
    cues = []
    for block in Path(path).read_text(encoding="utf-8", errors="replace").replace("\r\n", "\n").split("\n\n"):
        lines = [ln for ln in block.strip().split("\n") if ln.strip()]
        timing = next((i for i, ln in enumerate(lines) if "-->" in ln), None)
        if timing is None:
            continue
        start, end = (_srt_time(t) for t in lines[timing].split("-->"))
        raw = " ".join(lines[timing + 1:])
        tagged = _FONT.findall(raw)
        text = " ".join(tagged) if tagged else _TAG.sub("", raw)
        if text.strip():
            cues.append((start, end, text.strip()))
    return cues


def cues_at_frames(cues: list[tuple[float, float, str]], frames: FrameSample) -> list[AuxDoc]:
    """The cues covering any sampled frame's time, once each, in chronological order."""
    picked = []
    for i, (start, end, text) in enumerate(cues):
        if any(start <= t < end for t in frames.timestamps):
            picked.append(AuxDoc("subtitles", text, start, end))
    return picked


def videomme_subtitles(data_dir: Path, video_id: str, frames: FrameSample) -> list[AuxDoc]:
    path = Path(data_dir) / "subtitle" / f"{video_id}.srt"
    if not path.exists():
        return []  # Video-MME has no subtitles for some videos; lmms-eval says "No subtitles available"
    return cues_at_frames(parse_srt(path), frames)


def longvideobench_subtitles(data_dir: Path, subtitle_path: str) -> list[AuxDoc]:
    path = Path(data_dir) / "subtitles" / subtitle_path
    if not path.exists():
        return []
    docs = []
    for item in json.loads(path.read_text(encoding="utf-8")):
        if "timestamp" in item:
            start, end = item["timestamp"]
            text = item.get("text", "")
        else:
            start, end, text = item.get("start"), item.get("end"), item.get("line", "")
        start = _lvb_time(start)
        end = _lvb_time(end) if end is not None else start
        if str(text).strip():
            docs.append(AuxDoc("subtitles", _TAG.sub("", str(text)).strip(), start, end))
    return sorted(docs, key=lambda d: d.start)


def _lvb_time(value) -> float:
    if value is None:
        return 0.0
    if isinstance(value, (int, float)):
        return float(value)
    parts = [float(p) for p in str(value).split(":")]
    seconds = 0.0
    for p in parts:
        seconds = seconds * 60 + p
    return seconds


def provider_for(task_name: str, data_dir: Path, frames: int):
    """A function (question, doc) -> subtitle documents for the task; raises NoSubtitles for MLVU."""
    from . import media

    if task_name in ("videomme", "demo"):
        return lambda q, doc: videomme_subtitles(data_dir, str(doc["videoID"]), media.sample_frames(q.video, frames))
    if task_name == "longvideobench":
        return lambda q, doc: longvideobench_subtitles(data_dir, str(doc["subtitle_path"]))
    raise NoSubtitles(
        f"rag=subtitles: task {task_name!r} has no subtitles (MLVU ships none); "
        "use rag=asr for speech transcribed by Whisper instead"
    )
