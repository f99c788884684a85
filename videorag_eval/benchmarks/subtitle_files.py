"""Subtitle files read and checked: SRT cues with the line they start on, so an error names what to fix."""

from __future__ import annotations

import re
from pathlib import Path

_FONT = re.compile(r'<font color="white" size=".72c">(.*?)</font>', re.DOTALL)
_TAG = re.compile(r"<[^>]+>")
# a blank line, then a line holding only a number: an index whose timing line is missing
_ORPHAN_INDEX = re.compile(r"\n[ \t]*\n[ \t]*(\d+)[ \t]*(?:\n|$)")


class SubtitleError(ValueError):
    """A subtitle file that cannot be read: names the file, the cue (its position in the file, 1-based)
    and the line, so the file can be fixed; the questions of that video fail, the run goes on."""

    kind = "bad_subtitles"

    def __init__(self, path: str | Path, cue: int, line: int | None, reason: str):
        self.path, self.cue, self.line, self.reason = str(path), cue, line, reason
        where = f"cue {cue} (line {line})" if line else f"cue {cue}"
        super().__init__(
            f"{self.path}: {where} is malformed: {reason}. An SRT cue is an index line, "
            f"'HH:MM:SS,mmm --> HH:MM:SS,mmm' and its text, then a blank line; fix or delete that cue"
        )


class UnreadableSubtitles(SubtitleError):
    """A subtitle file that the benchmark's own (lmms-eval's) reader fails on: that video's questions fail
    (``bad_subtitles``), as for a malformed cue; the run goes on."""

    def __init__(self, path: str | Path, reader: str, exc: BaseException):
        self.path, self.cue, self.line, self.reason = str(path), 0, None, f"{type(exc).__name__}: {exc}"
        ValueError.__init__(self, f"{self.path}: {reader} cannot read this file ({type(exc).__name__}: {exc}); "
                         "lmms-eval would stop the whole run here. Fix the file (e.g. SRT times as HH:MM:SS,mmm)")


class MissingSubtitles(SubtitleError):
    """A subtitle file the benchmark's row names that does not exist (LongVideoBench: lmms-eval's
    with-subtitles task raises on it and stops the run): that question fails (``missing_subtitles``), counted;
    the run goes on."""

    kind = "missing_subtitles"

    def __init__(self, path: str | Path, layout: str):
        self.path, self.cue, self.line, self.reason = str(path), 0, None, "missing"
        ValueError.__init__(self, f"missing_subtitles: {path} does not exist (the row's subtitle file, {layout}); "
                                  "lmms-eval's with-subtitles task would stop the whole run here; the question is not "
                                  "asked without its subtitles. Extract the benchmark's subtitles into task.data_dir")


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
