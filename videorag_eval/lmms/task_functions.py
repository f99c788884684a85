"""``doc_to_visual`` and ``process_docs`` functions for the benchmarks, used by the task YAMLs in tasks/.

They read the benchmark root at call time from ``VIDEORAG_DATA_DIR`` (set by the harness to
``task.data_dir``, or to lmms-eval's hub download folder under ``$HF_HOME``) and never exit the
process: a missing video comes back as its expected path, and the harness records the failure.
"""

from __future__ import annotations

import os
from pathlib import Path

from ..benchmarks.safe_paths import inside


def _root() -> Path:
    root = os.environ.get("VIDEORAG_DATA_DIR")
    if not root:
        raise RuntimeError("VIDEORAG_DATA_DIR is not set: run tasks through videorag_eval (it sets it)")
    return Path(root)


VIDEOMME_SUFFIXES = (".mp4", ".MP4", ".mkv")  # Video-MME's videos: <videoID> plus one of these


def videomme_video(root: str | os.PathLike[str], video_id) -> str:
    """The Video-MME (and demo) video of a row, checked as the file the adapter opens (``safe_paths``):
    ``data/<videoID>`` plus the first suffix that exists, symlinks resolved; missing: the ``.mp4`` path."""
    return str(inside(root, "data", str(video_id), what="video", suffixes=VIDEOMME_SUFFIXES))


def videomme_doc_to_visual(doc):
    return [videomme_video(_root(), doc["videoID"])]


def mlvu_doc_to_visual(doc):
    return [str(inside(_root(), str(doc["video_name"]), what="video"))]


def longvideobench_doc_to_visual(doc):
    return [str(inside(_root(), "videos", str(doc["video_path"]), what="video"))]


def _process_docs(schema: str, dataset):
    """Every row kept (doc ids unchanged); a malformed one made readable by lmms-eval's own prompt and
    scoring functions and tagged with what is wrong with it (``row_checks``): the wrapper then records
    it as that question's ``bad_row`` failure instead of lmms-eval crashing the cell on it."""
    from datasets.utils.tqdm import are_progress_bars_disabled, disable_progress_bars, enable_progress_bars

    from ..benchmarks.row_checks import readable

    quiet = are_progress_bars_disabled()
    disable_progress_bars()  # a check of a few thousand rows: no progress bar on the console
    try:
        return dataset.map(lambda doc: readable(schema, doc), keep_in_memory=True, load_from_cache_file=False)
    finally:
        if not quiet:
            enable_progress_bars()


def videomme_process_docs(dataset):
    return _process_docs("videomme", dataset)


def mlvu_process_docs(dataset):
    return _process_docs("mlvu", dataset)


def longvideobench_process_docs(dataset):
    return _process_docs("longvideobench", dataset)
