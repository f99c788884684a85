"""Videos an adapter would not recognise as video by their file name (e.g. Video-MME's ``.MP4`` and
``.mkv`` for lmms-eval's qwen2_vl / qwen2_5_vl, which test ``endswith((".mp4", ".avi", ".mov"))``
and otherwise silently give the model NO video).

Such a video is handed to the adapter through a symbolic link with a suffix it accepts, inside the
extraction cache (``<cache_dir>/video_links/``); decoders read the container, not the name, so the
frames are the same. If no link can be made there, that is the cache's failure, not the video's
(``cache_errors.CacheIOError``: systemic, the cell stops naming the file and the fix).
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

from ..runtime.adapter_specs import SPECS, AdapterSpec


def spec_of_model(model) -> AdapterSpec | None:
    path = f"{type(model).__module__}.{type(model).__name__}"
    return next((s for s in SPECS.values() if s.class_path == path), None)


def needs_link(path: str, suffixes: tuple[str, ...] | None) -> bool:
    return suffixes is not None and not path.endswith(suffixes)


def readable_link(path: str, suffixes: tuple[str, ...], cache_root: str | os.PathLike[str]) -> str:
    """A path the adapter accepts as video for ``path`` (itself when it already does)."""
    if not needs_link(path, suffixes):
        return path
    src = Path(path).resolve()
    digest = hashlib.sha256(str(src).encode()).hexdigest()[:16]
    link = Path(cache_root) / "video_links" / f"{digest}{suffixes[0]}"
    try:
        link.parent.mkdir(parents=True, exist_ok=True)
        if not (link.is_symlink() and Path(os.readlink(link)) == src):
            tmp = link.with_name(link.name + f".{os.getpid()}.tmp")
            if tmp.is_symlink() or tmp.exists():
                tmp.unlink()
            tmp.symlink_to(src)
            os.replace(tmp, link)
    except OSError as exc:  # the cache's directory, not the video: every such video would fail alike
        from ..store.errors import CacheIOError

        raise CacheIOError(link, f"written (a link with a suffix the model's adapter reads as video, for {path})",
                           exc) from exc
    return str(link)
