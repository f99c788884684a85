import pytest

from videorag_eval.benchmarks.subtitles import SubtitleError, UnreadableSubtitles, parse_srt

SRT = """1
00:00:01,000 --> 00:00:04,500
<font color="white" size=".72c">The tour starts in Lisbon.</font>

2
00:00:11,000 --> 00:00:13,800
<font color="white" size=".72c">Our guide is Maria.</font>

3
00:00:21,000 --> 00:00:23,700
plain text cue
"""


def test_srt_keeps_video_mme_white_font_text(tmp_path):
    path = tmp_path / "v.srt"
    path.write_text(SRT)
    assert parse_srt(path) == [(1.0, 4.5, "The tour starts in Lisbon."), (11.0, 13.8, "Our guide is Maria."),
                               (21.0, 23.7, "plain text cue")]


# -- malformed files: a typed error naming the file, the cue and the line ---------------------------

GOOD_CUES = ["1\n00:00:01,000 --> 00:00:04,500\nfirst\n", "2\n00:00:11,000 --> 00:00:13,800\nsecond\n",
             "3\n00:00:21,000 --> 00:00:23,700\nthird\n"]


@pytest.mark.parametrize("bad, line, reason", [
    ("2\n00:00:1x,000 --> 00:00:13,800\nsecond\n", 6, "'00:00:1x,000 --> 00:00:13,800'"),
    ("2\n00:00:11,000 00:00:13,800\nsecond\n", 6, "timing line"),
    ("2\n00:00:11,000 -->\nsecond\n", 6, "timing line"),
    ("2\nsecond\n", 5, "no timing line after its index '2'"),
    ("2\n00:00:13,800 --> 00:00:11,000\nsecond\n", 6, "ends (00:00:11,000) before it starts (00:00:13,800)"),
])
def test_malformed_cue_names_file_cue_and_line(tmp_path, bad, line, reason):
    path = tmp_path / "broken.srt"
    path.write_text("\n".join([GOOD_CUES[0], bad, *GOOD_CUES[1:]]))
    with pytest.raises(SubtitleError) as info:
        parse_srt(path)
    err = info.value
    assert (err.path, err.cue, err.line) == (str(path), 2, line)
    assert str(err).startswith(f"{path}: cue 2 (line {line}) is malformed: ") and reason in str(err)
    assert "fix or delete that cue" in str(err)


def test_malformed_first_cue_and_crlf(tmp_path):
    path = tmp_path / "crlf.srt"
    path.write_bytes("\n".join(["not a cue at all\n", *GOOD_CUES]).replace("\n", "\r\n").encode())
    with pytest.raises(SubtitleError, match=r"crlf\.srt: cue 1 \(line 1\) .*'not a cue at all'"):
        parse_srt(path)
    path.write_bytes(("\ufeff" + "\n".join(GOOD_CUES)).replace("\n", "\r\n").encode())  # BOM + CRLF: fine
    assert [c[2] for c in parse_srt(path)] == ["first", "second", "third"]


def test_lenient_where_players_are(tmp_path):
    """What common players accept stays accepted: '.' before milliseconds, no index lines, no final
    newline, a cue with no text (left out)."""
    path = tmp_path / "loose.srt"
    path.write_text("00:00:01.000 --> 00:00:02.500\nno index\n\n2\n00:00:03,000 --> 00:00:04,000\n\n\n"
                    "3\n00:00:05,000 --> 00:00:06,000\nlast")
    assert parse_srt(path) == [(1.0, 2.5, "no index"), (5.0, 6.0, "last")]


def test_videomme_subtitles_raise_on_malformed_file(tmp_path):
    from videorag_eval.benchmarks.subtitle_prompts import task_kwargs, videomme_prompt

    (tmp_path / "subtitle").mkdir()
    (tmp_path / "subtitle" / "v1.srt").write_text("1\n00:00:01,000 --> oops\ntext\n")
    kwargs = task_kwargs("videomme/videomme_w_subtitle.yaml", None)
    doc = {"videoID": "v1", "question": "Q?", "options": ["A. a", "B. b"]}
    with pytest.raises(SubtitleError, match=r"v1\.srt: cue 1"):
        videomme_prompt(doc, tmp_path, kwargs)
    # a file players accept but lmms-eval's own reader does not ('.' before milliseconds): a data failure too
    (tmp_path / "subtitle" / "v1.srt").write_text("1\n00:00:01.000 --> 00:00:02.000\ntext\n")
    with pytest.raises(UnreadableSubtitles, match=r"v1\.srt: lmms-eval's Video-MME subtitle reader cannot read"):
        videomme_prompt(doc, tmp_path, kwargs)
    # no file: lmms-eval's "No subtitles available" prompt (Video-MME has no subtitles for some videos)
    none = videomme_prompt({**doc, "videoID": "v2"}, tmp_path, kwargs)
    assert none.docs == [] and none.context.startswith("This video's subtitles are listed below: \nNo subtitles available\n")
