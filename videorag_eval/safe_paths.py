"""Paths taken from dataset rows stay inside ``task.data_dir``.

A benchmark row names its video or subtitle file relative to the data directory. Such a path is
resolved (``..`` collapsed, symlinks followed) and refused if it ends outside the data directory:
an absolute path, a ``..`` escape or a symlink pointing out. The refused file is never opened.

This is the one check of every dataset path of every task (the demo's too): it is applied to the
final file the adapter will open -- the row's value with the suffix the task adds (``suffixes``),
symlinks resolved -- and the resolved path is what is handed on, so the file checked is the file read.
"""

from __future__ import annotations

import os
from pathlib import Path


class UnsafePath(Exception):
    """A dataset row points outside ``task.data_dir``; a data failure of that question."""

    kind = "unsafe_path"

    def __init__(self, value: str, root: Path, what: str):
        self.value = value
        self.root = root
        super().__init__(f"unsafe_path: the {what} path {value!r} of this dataset row resolves outside "
                         f"task.data_dir ({root}); refused, the file was not opened")


def inside(root: str | os.PathLike[str], *parts: str, what: str = "file", suffixes: tuple[str, ...] = ()) -> Path:
    """``root/parts...`` resolved, if it stays inside ``root`` (resolved too); else ``UnsafePath``.

    With ``suffixes`` (e.g. ``(".mp4", ".MP4", ".mkv")``) the last part is a stem: the first
    ``stem + suffix`` that exists is the file (the first suffix when none does), and that final file
    is what is resolved and checked -- a symlink on the file itself included.
    """
    base = Path(root).resolve()
    joined = base.joinpath(*[str(p) for p in parts])  # an absolute part replaces base: caught below
    if suffixes:
        candidates = [Path(f"{joined}{s}") for s in suffixes]
        joined = next((c for c in candidates if os.path.lexists(c)), candidates[0])
    resolved = joined.resolve()
    if resolved != base and base not in resolved.parents:
        raise UnsafePath(str(parts[-1]) if parts else "", base, what)  # the value the row gave
    return resolved
