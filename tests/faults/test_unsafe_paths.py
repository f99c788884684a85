"""Paths from dataset rows stay inside task.data_dir: absolute paths, `..` escapes and file links out
are refused as unsafe_path and never opened; the run goes on.

Issue 25: the rows are checked, the user's layout is trusted. A layout folder (`data/`, `video/`, `videos/`,
`subtitle(s)/`) that links to another disk works on every benchmark, and so does a Hugging Face hub snapshot
folder (its files are links into the repo's `../../blobs/`); the message says "this dataset row points outside"
only when the row does (before: every question of such a copy was refused as unsafe_path, and with fewer than 3
videos the cell finished at 0.0%)."""

import json
import os

import pytest

import synthetic
from conftest import run_cli
from helpers import read_cell, run_cell
from videorag_eval.benchmarks.safe_paths import UnsafePath, inside


def test_inside_accepts_paths_in_the_data_dir_and_refuses_the_rest(tmp_path):
    root = tmp_path / "data"
    (root / "videos").mkdir(parents=True)
    (root / "videos" / "a.mp4").write_bytes(b"x")
    (tmp_path / "outside.mp4").write_bytes(b"x")
    os.symlink(tmp_path / "outside.mp4", root / "videos" / "link_out.mp4")
    os.symlink(root / "videos" / "a.mp4", root / "videos" / "link_in.mp4")
    assert inside(root, "videos", "a.mp4") == (root / "videos" / "a.mp4").resolve()
    assert inside(root, "videos", "sub/../a.mp4") == (root / "videos" / "a.mp4").resolve()
    # a link inside the copy is followed; the path handed on keeps its own name (adapters read the suffix)
    assert inside(root, "videos", "link_in.mp4") == root.resolve() / "videos" / "link_in.mp4"
    for hostile in ("../../../../etc/hostname", "/etc/hostname", "link_out.mp4", "../../outside.mp4"):
        with pytest.raises(UnsafePath) as err:
            inside(root, "videos", hostile, what="video")
        assert "outside task.data_dir" in str(err.value) and hostile in str(err.value)


def test_the_row_is_checked_lexically_and_the_message_says_what_leads_out(tmp_path):
    root = tmp_path / "data"
    (root / "videos").mkdir(parents=True)
    (tmp_path / "elsewhere.mp4").write_bytes(b"x")
    os.symlink(tmp_path / "elsewhere.mp4", root / "videos" / "out.mp4")
    for value, why in (("", "it is empty"), ("  ", "it is empty"), ("/etc/hostname", "it is an absolute path"),
                       ("../../etc/hostname", "its '..' climbs above it"), ("a\x00b", "it holds a NUL byte")):
        with pytest.raises(UnsafePath) as err:
            inside(root, "videos", value, what="video")
        assert f"of this dataset row points outside task.data_dir ({root.resolve()}): {why}" in str(err.value)
    with pytest.raises(UnsafePath) as err:  # the row stays inside; the link does not: the message says so
        inside(root, "videos", "out.mp4", what="video")
    message = str(err.value)
    assert "this dataset row points outside" not in message
    assert f"is a link to {(tmp_path / 'elsewhere.mp4').resolve()}, outside task.data_dir" in message
    assert "link the folder instead" in message
    # `..` is collapsed on the text: through a folder that links elsewhere it never reaches the kernel
    (tmp_path / "disk" / "videos").mkdir(parents=True)
    (tmp_path / "disk" / "secret.mp4").write_bytes(b"x")
    (root / "videos" / "out.mp4").unlink()
    (root / "videos").rmdir()
    os.symlink(tmp_path / "disk" / "videos", root / "videos")
    assert inside(root, "videos", "../videos/a.mp4") == (tmp_path / "disk" / "videos" / "a.mp4").resolve()
    assert inside(root, "videos", "../secret.mp4") == root.resolve() / "secret.mp4"  # not disk/secret.mp4


def test_layout_folders_on_another_disk_and_hub_snapshots_are_followed(tmp_path):
    disk = tmp_path / "scratch"
    (disk / "videomme_data").mkdir(parents=True)
    (disk / "videomme_data" / "v1.MP4").write_bytes(b"x")
    (disk / "videomme_data" / "alias.mp4").symlink_to("v1.MP4")  # a link within the linked folder
    root = tmp_path / "copy"
    root.mkdir()
    (root / "data").symlink_to(disk / "videomme_data")
    from videorag_eval.lmms.task_functions import videomme_video

    assert videomme_video(root, "v1") == str((disk / "videomme_data" / "v1.MP4").resolve())
    assert videomme_video(root, "alias") == str((disk / "videomme_data").resolve() / "alias.mp4")
    # snapshot_download without local_dir: snapshots/<rev>/<path> -> ../../blobs/<hash> (deeper paths: more ../)
    repo = tmp_path / "hub" / "datasets--longvideobench--LongVideoBench"
    (repo / "blobs").mkdir(parents=True)
    (repo / "blobs" / "4f2a").write_bytes(b"x")
    snap = repo / "snapshots" / "0123abc"
    (snap / "videos").mkdir(parents=True)
    (snap / "videos" / "v.mp4").symlink_to("../../../blobs/4f2a")
    assert inside(snap, "videos", "v.mp4") == snap.resolve() / "videos" / "v.mp4"  # its name kept, not the blob's
    (repo / "blobs" / "other").mkdir()
    (snap / "videos" / "w.mp4").symlink_to(tmp_path / "elsewhere")  # a snapshot link leading elsewhere: refused
    with pytest.raises(UnsafePath):
        inside(snap, "videos", "w.mp4")


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
    from videorag_eval.lmms.task_functions import videomme_video

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


# -- each benchmark's layout with its folders on "another disk" -----------------------------------------------

LINKED = {  # task -> (how its copy is made, the layout folders moved away and linked, the rag setting)
    "demo": (synthetic.make_videomme, ("data",), "rag=none"),
    "videomme": (synthetic.make_videomme, ("data", "subtitle"), "rag=subtitles"),
    "mlvu": (synthetic.make_mlvu, ("video",), "rag=none"),
    "longvideobench": (synthetic.make_longvideobench, ("videos", "subtitles"), "rag=subtitles"),
}


@pytest.mark.slow
@pytest.mark.parametrize("task", sorted(LINKED))
def test_layout_folders_linked_to_another_disk_work_on_every_benchmark(task, tmp_path, e2e_cache):
    make, folders, rag = LINKED[task]
    root = make(tmp_path / "copy")
    for folder in folders:  # moved to "scratch" and linked back, as a user with videos on another disk does
        target = tmp_path / "scratch" / folder
        target.parent.mkdir(exist_ok=True)
        (root / folder).rename(target)
        (root / folder).symlink_to(target, target_is_directory=True)
    cell = run_cell(f"task={task}", rag, "limit=4", "aux=packaged", f"task.data_dir={root}",
                    f"results_dir={tmp_path / 'res'}", f"cache_dir={e2e_cache}")
    metrics, samples = read_cell(cell)  # before: every question unsafe_path, 0.0% finished
    assert metrics["n"] == 4 and metrics["n_failed"] == 0, metrics["failures"]
    assert all(s["video"].startswith(str((tmp_path / "scratch").resolve())) for s in samples)
    if rag == "rag=subtitles":
        assert all(s["aux"]["subtitles"] for s in samples)


def _hub_snapshot(copy, repo):
    """``copy`` laid out as ``snapshot_download`` leaves a hub dataset repo: every file a link into blobs/."""
    import hashlib

    snap = repo / "snapshots" / "5e1f0c2"
    (repo / "blobs").mkdir(parents=True)
    for path in sorted(p for p in copy.rglob("*") if p.is_file()):
        rel = path.relative_to(copy)
        blob = repo / "blobs" / hashlib.sha256(path.read_bytes()).hexdigest()
        if not blob.exists():
            path.rename(blob)
        link = snap / rel
        link.parent.mkdir(parents=True, exist_ok=True)
        link.symlink_to(os.path.relpath(blob, link.parent))
    return snap


@pytest.mark.slow
def test_a_hub_snapshot_folder_works(tmp_path, e2e_cache):
    snap = _hub_snapshot(synthetic.make_longvideobench(tmp_path / "lvb"), tmp_path / "hub" / "datasets--lvb")
    assert os.readlink(snap / "videos" / "demo_001.mp4").startswith("../../../blobs/")
    cell = run_cell("task=longvideobench", "rag=subtitles", "limit=4", "aux=packaged", f"task.data_dir={snap}",
                    f"results_dir={tmp_path / 'res'}", f"cache_dir={e2e_cache}")
    metrics, samples = read_cell(cell)
    assert metrics["n_failed"] == 0, metrics["failures"]
    assert all(s["video"].endswith(".mp4") and "/snapshots/" in s["video"] for s in samples)  # the name, not the blob
    assert all(s["aux"]["subtitles"] for s in samples)


@pytest.mark.slow
def test_a_missing_longvideobench_subtitle_file_is_a_counted_failure(tmp_path, e2e_cache):
    # lmms-eval's with-subtitles task raises on it; before: those questions were answered without subtitles, silently
    root = synthetic.make_longvideobench(tmp_path / "lvb")
    rows = json.loads((root / "lvb_val.json").read_text())[:8]
    gone = rows[0]["subtitle_path"]
    (root / "subtitles" / gone).unlink()
    (root / "lvb_val.json").write_text(json.dumps(rows))
    metrics, samples = read_cell(run_cell("task=longvideobench", "rag=subtitles", "aux=packaged",
                                          f"task.data_dir={root}", f"results_dir={tmp_path / 'res'}",
                                          f"cache_dir={e2e_cache}"))
    hit = [s for s in samples if s["error_kind"] == "missing_subtitles"]
    assert len(hit) == sum(r["subtitle_path"] == gone for r in rows) and hit
    assert metrics["failures"] == {"missing_subtitles": len(hit)} and metrics["n_failed"] == len(hit)
    assert all(gone in s["error"] and "does not exist" in s["error"] for s in hit)
    assert all(s["aux"]["subtitles"] for s in samples if not s["error"])
