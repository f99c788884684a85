from videorag_eval.records import FrameSample
from videorag_eval.subtitles import cues_at_frames, longvideobench_subtitles, parse_srt

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


def test_cues_are_those_covering_sampled_frames_in_order(tmp_path):
    path = tmp_path / "v.srt"
    path.write_text(SRT)
    frames = FrameSample((0, 48, 88), (0.0, 12.0, 22.0), 4.0, 120, 30.0)
    docs = cues_at_frames(parse_srt(path), frames)
    assert [d.text for d in docs] == ["Our guide is Maria.", "plain text cue"]  # nothing sampled in 1-4.5 s


def test_longvideobench_subtitle_json_both_shapes(tmp_path):
    (tmp_path / "subtitles").mkdir()
    (tmp_path / "subtitles" / "a.json").write_text('[{"start": "00:00:05.5", "end": "00:00:07", "line": "second"},'
                                                   ' {"start": "00:00:01", "end": "00:00:02", "line": "first"}]')
    (tmp_path / "subtitles" / "b.json").write_text('[{"timestamp": [3.0, 4.0], "text": "only"}]')
    assert [(d.start, d.text) for d in longvideobench_subtitles(tmp_path, "a.json")] == [(1.0, "first"), (5.5, "second")]
    assert [(d.start, d.end, d.text) for d in longvideobench_subtitles(tmp_path, "b.json")] == [(3.0, 4.0, "only")]
    assert longvideobench_subtitles(tmp_path, "missing.json") == []
