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
# a blank line, then a line holding only a number: an index whose timing line is missing
_ORPHAN_INDEX = re.compile(r"\n[ \t]*\n[ \t]*(\d+)[ \t]*(?:\n|$)")


class NoSubtitles(RuntimeError):
    pass


class SubtitleError(ValueError):
    """A subtitle file that cannot be read: names the file, the cue (its position in the file, 1-based)
    and the line, so the file can be fixed; the questions of that video fail, the run goes on."""

    def __init__(self, path: str | Path, cue: int, line: int | None, reason: str):
        self.path, self.cue, self.line, self.reason = str(path), cue, line, reason
        where = f"cue {cue} (line {line})" if line else f"cue {cue}"
        super().__init__(
            f"{self.path}: {where} is malformed: {reason}. An SRT cue is an index line, "
            f"'HH:MM:SS,mmm --> HH:MM:SS,mmm' and its text, then a blank line; fix or delete that cue"
        )


def read_srt(path: str | Path) -> list:
    """Every cue of an SRT file as ``srt.Subtitle`` records, in file order; SubtitleError on a
    malformed cue (garbled or missing timing line, end before start)."""
    import srt

    path = Path(path)
    text = path.read_text(encoding="utf-8-sig", errors="replace")
    cues: list = []
    try:
        for cue in srt.parse(text):
            if cue.end < cue.start:
                raise SubtitleError(path, len(cues) + 1, _line_of(text, cue),
                                    f"it ends ({srt.timedelta_to_srt_timestamp(cue.end)}) before it starts "
                                    f"({srt.timedelta_to_srt_timestamp(cue.start)})")
            orphan = _ORPHAN_INDEX.search(cue.content)
            if orphan:  # the parser keeps a block with no timing line as text of the cue before it
                timing = _line_of(text, cue)
                line = timing + 1 + cue.content.count("\n", 0, orphan.start(1)) if timing else None
                raise SubtitleError(path, len(cues) + 2, line, f"no timing line after its index {orphan.group(1)!r}")
            cues.append(cue)
    except srt.SRTParseError as exc:  # text between two cues that is no cue
        before = text.count("\n", 0, exc.expected_start)
        lines = [(before + i + 1, ln.strip()) for i, ln in enumerate(exc.unmatched_content.split("\n")) if ln.strip()]
        line, found = next(((n, ln) for n, ln in lines if not ln.isdigit()), lines[0] if lines else (None, ""))
        raise SubtitleError(path, len(cues) + 1, line, f"no valid 'start --> end' timing line (found {found!r})") from None
    return cues


def _line_of(text: str, cue) -> int | None:
    """1-based line of a cue's timing line (the parser keeps no offsets: found by its two times)."""
    import srt

    for number, line in enumerate(text.splitlines(), 1):
        left, arrow, right = line.partition("-->")
        if not arrow or not right.split():
            continue
        try:
            if (srt.srt_timestamp_to_timedelta(left.strip()), srt.srt_timestamp_to_timedelta(right.split()[0])) == (
                    cue.start, cue.end):
                return number
        except ValueError:
            continue
    return None


def parse_srt(path: str | Path) -> list[tuple[float, float, str]]:
    """(start, end, text) cues; Video-MME's white-font text when tagged, else the tag-stripped text.
    Cues with no text are left out; a malformed cue raises SubtitleError."""
    cues = []
    for cue in read_srt(path):
        raw = " ".join(line.strip() for line in cue.content.split("\n") if line.strip())
        tagged = _FONT.findall(raw)
        text = " ".join(tagged) if tagged else _TAG.sub("", raw)
        if text.strip():
            cues.append((cue.start.total_seconds(), cue.end.total_seconds(), text.strip()))
    return cues


def cues_at_frames(cues: list[tuple[float, float, str]], frames: FrameSample) -> list[AuxDoc]:
    """The cues covering any sampled frame's time, once each, in chronological order."""
    picked = []
    for i, (start, end, text) in enumerate(cues):
        if any(start <= t < end for t in frames.timestamps):
            picked.append(AuxDoc("subtitles", text, start, end))
    return picked


def videomme_subtitles(data_dir: Path, video_id: str, frames: FrameSample) -> list[AuxDoc]:
    from .safe_paths import inside

    path = inside(data_dir, "subtitle", f"{video_id}.srt", what="subtitle")
    if not path.exists():
        return []  # Video-MME has no subtitles for some videos; lmms-eval says "No subtitles available"
    return cues_at_frames(parse_srt(path), frames)


def longvideobench_subtitles(data_dir: Path, subtitle_path: str) -> list[AuxDoc]:
    from .safe_paths import inside

    path = inside(data_dir, "subtitles", subtitle_path, what="subtitle")
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
        sampled: dict[str, object] = {}  # one reader open per video, not per question

        def at_frames(video: str):
            if video not in sampled:
                sampled[video] = media.sample_frames(video, frames)  # uniform, as lmms-eval's subtitle task picks them
            return sampled[video]

        return lambda q, doc: videomme_subtitles(data_dir, str(doc["videoID"]), at_frames(q.video))
    if task_name == "longvideobench":
        return lambda q, doc: longvideobench_subtitles(data_dir, str(doc["subtitle_path"]))
    raise NoSubtitles(
        f"rag=subtitles: task {task_name!r} has no subtitles (MLVU ships none); "
        "use rag=asr for speech transcribed by Whisper instead"
    )
