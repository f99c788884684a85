"""What produced a number: package versions, the code's git commit, the machine."""

from __future__ import annotations

import platform
import subprocess
from pathlib import Path

from .weights import package_version

PACKAGES = ("videorag_eval", "lmms-eval", "torch", "transformers", "sentence-transformers", "faster-whisper",
            "ctranslate2", "easyocr", "faiss-cpu", "faiss-gpu", "decord", "av", "datasets", "hydra-core", "numpy")


def versions() -> dict[str, str | None]:
    out: dict[str, str | None] = {"python": platform.python_version(), "platform": platform.platform()}
    for dist in PACKAGES:
        v = package_version(dist)
        if v is not None:
            out[dist] = v
    out["git_commit"] = _git_commit()
    return out


def environment() -> dict[str, object] | None:
    """Which environment produced a number: the lock file's hash and whether every package it pins is
    installed at its pinned version (None for an installed wheel: no lock beside it)."""
    import hashlib

    from .third_party import LOCK_FILE, locked_pins

    pins = locked_pins()
    if not pins:
        return None
    installed = {name: package_version(name) for name in pins}
    differs = {name: installed[name] for name, pinned in pins.items() if installed[name] != pinned}
    return {"lock": "lock/requirements.txt", "lock_sha256": hashlib.sha256(LOCK_FILE.read_bytes()).hexdigest()[:16],
            "matches_lock": not differs, "not_as_locked": dict(sorted(differs.items())[:20])}


def _git_commit() -> str | None:
    root = Path(__file__).resolve().parent.parent
    if not (root / ".git").exists():  # an installed package: no checkout of ours to ask
        return None
    try:
        sha = subprocess.run(["git", "-C", str(root), "rev-parse", "HEAD"], capture_output=True, text=True, timeout=5)
        dirty = subprocess.run(["git", "-C", str(root), "status", "--porcelain", "--untracked-files=no"],
                               capture_output=True, text=True, timeout=5)
    except (OSError, subprocess.SubprocessError):
        return None
    if sha.returncode != 0:
        return None
    return sha.stdout.strip() + ("+dirty" if dirty.stdout.strip() else "")
