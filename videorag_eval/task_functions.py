"""``doc_to_visual`` functions for the real benchmarks, used by the task YAMLs in tasks/.

They read the benchmark root at call time from ``VIDEORAG_DATA_DIR`` (set by the harness to
``task.data_dir``, or to lmms-eval's hub download folder under ``$HF_HOME``) and never exit the
process: a missing video comes back as its expected path, and the harness records the failure.
"""

from __future__ import annotations

import os
from pathlib import Path

from .safe_paths import inside


def _root() -> Path:
    root = os.environ.get("VIDEORAG_DATA_DIR")
    if not root:
        raise RuntimeError("VIDEORAG_DATA_DIR is not set: run tasks through videorag_eval (it sets it)")
    return Path(root)


def _first_existing(base: Path, suffixes=(".mp4", ".MP4", ".mkv")) -> str:
    for suffix in suffixes:
        if base.with_suffix(suffix).exists():
            return str(base.with_suffix(suffix))
    return str(base.with_suffix(suffixes[0]))


def videomme_doc_to_visual(doc):
    return [_first_existing(inside(_root(), "data", str(doc["videoID"]), what="video"))]


def mlvu_doc_to_visual(doc):
    return [str(inside(_root(), str(doc["video_name"]), what="video"))]


def longvideobench_doc_to_visual(doc):
    return [str(inside(_root(), "videos", str(doc["video_path"]), what="video"))]
