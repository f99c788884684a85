"""Paths taken from dataset rows: the rows are checked, the user's own layout is trusted.

A benchmark row names its video or subtitle file relative to ``task.data_dir``. That value is checked
*lexically*: an empty value, a NUL byte, an absolute path, or ``..`` climbing above ``task.data_dir`` is
refused (``unsafe_path``, "this dataset row points outside task.data_dir"), and the file is never opened.
``..`` that stays inside is collapsed on the text, so the kernel never follows a ``..`` through a link.

What the user's file system does beneath ``task.data_dir`` is the user's: every folder on the way is
followed wherever it leads -- ``task.data_dir`` itself, a layout folder (``data/``, ``videos/``,
``subtitle/``, ``subtitles/``, ``video/``) or any folder below it that links to another disk or a shared
read-only area. The file itself may be a link too, followed when it leads
- inside ``task.data_dir`` or inside a folder on its way (as resolved), or
- into the ``blobs/`` of the Hugging Face hub repo folder whose snapshot it sits in (``snapshot_download``
  without ``local_dir`` leaves ``snapshots/<rev>/<path>`` as links to ``../../blobs/<hash>``).
A file link leading anywhere else is refused (``unsafe_path``; the message says the link, not the row,
leads out): no benchmark's own files are such links, and following one would let a link planted in a
downloaded archive hand any file of the machine to the run (a subtitle file is read into the prompt and
``samples.jsonl``). Link the folder instead, or copy the file.

This is the one check of every dataset path of every task (the demo's too), applied to the final file the
adapter opens: the row's value with the suffix the task adds (``suffixes``). The path handed on is that
file with its folders resolved and its own name kept (a hub blob has no suffix; adapters pick their
decoder by it).
"""

from __future__ import annotations

import os
from pathlib import Path


class UnsafePath(Exception):
    """A dataset row's path that is not opened; a data failure of that question."""

    kind = "unsafe_path"

    def __init__(self, value: str, root: Path, what: str, link: tuple[Path, Path] | None = None, why: str = ""):
        self.value = value
        self.root = root
        if link is None:
            super().__init__(f"unsafe_path: the {what} path {value!r} of this dataset row points outside "
                             f"task.data_dir ({root}){why}; refused, the file was not opened")
        else:
            path, target = link
            super().__init__(
                f"unsafe_path: the {what} file {path} (row value {value!r}, inside task.data_dir) is a link to "
                f"{target}, outside task.data_dir ({root}), its folders and a hub snapshot's blobs/; refused, the file "
                "was not opened. Links on folders are followed (e.g. data/ -> another disk): link the folder "
                "instead, or copy the file")


def inside(root: str | os.PathLike[str], *parts: str, what: str = "file", suffixes: tuple[str, ...] = ()) -> Path:
    """The file ``root/parts...`` (the last part is the row's value, the others the task's layout folders), if
    the row's value stays inside ``root`` lexically and a link on the file itself leads where links may
    (module docstring); else ``UnsafePath``.

    With ``suffixes`` (e.g. ``(".mp4", ".MP4", ".mkv")``) the last part is a stem: the first
    ``stem + suffix`` that exists is the file (the first suffix when none does), and that final file
    is what is checked.
    """
    base = Path(root).resolve()
    value = str(parts[-1]) if parts else ""
    if not value.strip():
        raise UnsafePath(value, base, what, why=": it is empty")
    if "\x00" in value:
        raise UnsafePath(value, base, what, why=": it holds a NUL byte")
    if os.path.isabs(value):
        raise UnsafePath(value, base, what, why=": it is an absolute path")
    rel = os.path.normpath(os.path.join(*[str(p) for p in parts]))  # `..` collapsed on the text
    if rel == os.curdir or rel == os.pardir or rel.startswith(os.pardir + os.sep):
        raise UnsafePath(value, base, what, why=": its '..' climbs above it")
    joined = base / rel
    if suffixes:
        candidates = [Path(f"{joined}{s}") for s in suffixes]
        joined = next((c for c in candidates if os.path.lexists(c)), candidates[0])
    folder = joined.parent.resolve()  # the user's folders: followed wherever they lead
    final = folder / joined.name
    if final.is_symlink():
        target = final.resolve()
        if not any(target == r or r in target.parents for r in _link_roots(base, Path(rel).parent, folder)):
            raise UnsafePath(value, base, what, link=(final, target))
    return final


def _link_roots(base: Path, rel_folder: Path, folder: Path) -> set[Path]:
    """Where a link on the file may lead: ``base``, each folder on the way from it to the file (resolved), and
    the ``blobs/`` of a hub repo folder holding ``base`` or the file's folder in its ``snapshots/``."""
    roots = {base, folder}
    step = base
    for name in rel_folder.parts:
        step = (step / name).resolve()
        roots.add(step)
    for start in (base, folder):
        for ancestor in (start, *start.parents):
            if ancestor.name == "snapshots" and (ancestor.parent / "blobs").is_dir():
                roots.add((ancestor.parent / "blobs").resolve())
    return roots
