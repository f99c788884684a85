"""Paths from dataset rows stay inside task.data_dir: absolute paths, `..` escapes and symlinks out
are refused as unsafe_path and never opened; the run goes on."""

import json
import os

import pytest

import synthetic
from conftest import run_cli
from helpers import read_cell, run_cell
from videorag_eval.safe_paths import UnsafePath, inside


def test_inside_accepts_paths_in_the_data_dir_and_refuses_the_rest(tmp_path):
    root = tmp_path / "data"
    (root / "videos").mkdir(parents=True)
    (root / "videos" / "a.mp4").write_bytes(b"x")
    (tmp_path / "outside.mp4").write_bytes(b"x")
    os.symlink(tmp_path / "outside.mp4", root / "videos" / "link_out.mp4")
    os.symlink(root / "videos" / "a.mp4", root / "videos" / "link_in.mp4")
    assert inside(root, "videos", "a.mp4") == (root / "videos" / "a.mp4").resolve()
    assert inside(root, "videos", "sub/../a.mp4") == (root / "videos" / "a.mp4").resolve()
    assert inside(root, "videos", "link_in.mp4") == (root / "videos" / "a.mp4").resolve()
    for hostile in ("../../../../etc/hostname", "/etc/hostname", "link_out.mp4", "../../outside.mp4"):
        with pytest.raises(UnsafePath) as err:
            inside(root, "videos", hostile, what="video")
        assert "outside task.data_dir" in str(err.value) and hostile in str(err.value)


@pytest.fixture(scope="module")
def hostile_lvb(tmp_path_factory):
    """A synthetic LongVideoBench copy whose first rows point outside the data directory."""
    root = synthetic.make_longvideobench(tmp_path_factory.mktemp("hostile") / "lvb")
    outside = root.parent / "secret.mp4"
    outside.write_bytes((root / "videos" / "demo_001.mp4").read_bytes())  # a real video, just not ours
    os.symlink(outside, root / "videos" / "escape.mp4")
    rows = json.loads((root / "lvb_val.json").read_text())
    good = [r for r in rows if r["video_path"] == "demo_004.mp4"][:1]
    hostile = []
    for i, (field, value) in enumerate([("video_path", "../../../../etc/hostname"), ("video_path", "/etc/hostname"),
                                        ("video_path", "escape.mp4"), ("subtitle_path", "/etc/passwd"),
                                        ("subtitle_path", "../../../../../../etc/passwd")]):
        row = dict(good[0], id=f"hostile_{i}")
        row[field] = value
        hostile.append(row)
    (root / "lvb_val.json").write_text(json.dumps(hostile + good))
    return root, hostile, good


@pytest.fixture(scope="module")
def hostile_cell(hostile_lvb, tmp_path_factory, e2e_cache):
    root, _, _ = hostile_lvb
    return run_cell("task=longvideobench", "rag=subtitles", "aux=packaged", f"task.data_dir={root}",
                    f"results_dir={tmp_path_factory.mktemp('res')}", f"cache_dir={e2e_cache}")


def test_hostile_rows_are_refused_as_unsafe_path_and_the_run_goes_on(hostile_cell, hostile_lvb):
    _, hostile, good = hostile_lvb
    metrics, samples = read_cell(hostile_cell)
    assert metrics["n"] == len(hostile) + len(good)
    assert metrics["failures"] == {"unsafe_path": len(hostile)} and metrics["n_failed"] == len(hostile)
    by_id = {s["question_id"]: s for s in samples}
    by_doc = {s["doc_id"]: s for s in samples}
    for i, row in enumerate(hostile):  # rows keep their order: doc_id i is hostile row i
        s = by_doc[i]
        assert s["error_kind"] == "unsafe_path" and "outside task.data_dir" in s["error"]
        assert s["prediction"] == "" and s["aux"] == {}
    for row in good:
        assert by_id[row["id"]]["error"] is None and by_id[row["id"]]["aux"]["subtitles"]


def test_no_refused_file_reaches_the_log_as_read(hostile_cell):
    log = (hostile_cell / "run.log").read_text()
    assert "unsafe_path" in log
    assert "root:x:0:0" not in log  # /etc/passwd's content never read


def test_the_check_applies_to_the_file_with_its_suffix_a_symlink_on_it_included(tmp_path):
    from videorag_eval.task_functions import videomme_video

    root = tmp_path / "data"
    (root / "data").mkdir(parents=True)
    (root / "data" / "good.MP4").write_bytes(b"x")
    (tmp_path / "secret.mp4").write_bytes(b"x")
    os.symlink(tmp_path / "secret.mp4", root / "data" / "escape.mp4")  # the stem is inside; the file is not
    assert videomme_video(root, "good") == str((root / "data" / "good.MP4").resolve())
    assert videomme_video(root, "missing") == str((root / "data" / "missing.mp4").resolve())
    for hostile in ("escape", "../../secret", str(tmp_path / "secret")):
        with pytest.raises(UnsafePath):
            videomme_video(root, hostile)


def _hostile_videomme_copy(root):
    """The demo in Video-MME layout whose first rows name videos outside it: a `..` escape, an absolute
    path, and a symlink on the video file itself (data/escape.mp4 -> a real video outside)."""
    import pandas as pd

    secret = root.parent / "secret.mp4"
    secret.write_bytes((root / "data" / "demo_001.mp4").read_bytes())
    os.symlink(secret, root / "data" / "escape.mp4")
    ann = root / "videomme" / "test-00000-of-00001.parquet"
    df = pd.read_parquet(ann)
    good = df[df.videoID == "demo_004"].head(1)
    hostile = pd.concat([good] * 3, ignore_index=True)
    hostile["videoID"] = ["../../secret", str(secret.with_suffix("")), "escape"]
    hostile["question_id"] = ["hostile_0", "hostile_1", "hostile_2"]
    pd.concat([hostile, good], ignore_index=True).to_parquet(ann)
    return [str(v) for v in hostile.question_id], str(good.question_id.iloc[0])


@pytest.mark.slow
@pytest.mark.parametrize("task", ["demo", "videomme"])
def test_demo_and_videomme_rows_pointing_outside_are_refused(task, tmp_path, e2e_cache):
    # issue 19: the demo's doc_to_visual never checked a path; Video-MME checked it before the suffix was
    # added, so a symlink on the video file itself was followed, opened and scored
    root = synthetic.make_videomme(tmp_path / "copy")
    hostile, good = _hostile_videomme_copy(root)
    cell = run_cell(f"task={task}", "rag=none", f"task.data_dir={root}", f"results_dir={tmp_path / 'res'}",
                    f"cache_dir={e2e_cache}")
    metrics, samples = read_cell(cell)
    by_id = {s["question_id"] or f"doc{s['doc_id']}": s for s in samples}
    by_doc = {s["doc_id"]: s for s in samples}
    assert metrics["failures"] == {"unsafe_path": 3}
    for i in range(3):
        s = by_doc[i]
        assert s["error_kind"] == "unsafe_path" and "outside task.data_dir" in s["error"], s
        assert s["prediction"] == "" and s["video"] is None  # no file was handed on
    assert by_id[good]["error"] is None and by_id[good]["video"].endswith("demo_004.mp4")
    assert metrics["n"] == len(hostile) + 1
