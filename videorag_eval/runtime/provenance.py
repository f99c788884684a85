"""What produced a number: package versions, the code's git commit, the machine."""

from __future__ import annotations

import platform
import subprocess
from pathlib import Path

from .weights import package_version

PACKAGES = ("videorag_eval", "lmms-eval", "torch", "transformers", "sentence-transformers", "faster-whisper",
            "ctranslate2", "easyocr", "faiss-cpu", "faiss-gpu", "decord", "av", "datasets", "hydra-core", "numpy",
            "vllm")  # vLLM's video path changes between releases: its version goes with every number it made


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
    installed at its pinned version (None for an installed wheel: no lock beside it). Where vLLM is installed,
    the lock is the serving environment's (``lock/vllm/requirements.txt``)."""
    import hashlib

    from .third_party import LOCK_FILE, SERVING_LOCK_FILE, locked_pins

    lock = SERVING_LOCK_FILE if package_version("vllm") is not None and SERVING_LOCK_FILE.is_file() else LOCK_FILE
    pins = locked_pins(lock)
    if not pins:
        return None
    installed = {name: package_version(name) for name in pins}
    differs = {name: installed[name] for name, pinned in pins.items() if installed[name] != pinned}
    return {"lock": str(lock.relative_to(LOCK_FILE.parent.parent)),
            "lock_sha256": hashlib.sha256(lock.read_bytes()).hexdigest()[:16],
            "matches_lock": not differs, "not_as_locked": dict(sorted(differs.items())[:20]), "cpu": cpu()}


# Vector extensions, widest first: CPU kernels (onnxruntime's in faster-whisper's VAD, oneDNN, CTranslate2)
# pick their code path by these, and the same audio can then be transcribed differently (seen: one word of
# the demo's transcript differs between two of our machines, with the VAD on; tests/test_golden_prompts.py).
_VECTOR_EXTENSIONS = ("avx512_bf16", "avx512_vnni", "avx512f", "avx_vnni", "avx2", "avx", "sse4_2", "asimd", "neon")


def cpu() -> dict[str, object]:
    """The CPU a number was made on: architecture, model name and its widest vector extensions (the
    extractors' CPU results can depend on them)."""
    import platform

    info: dict[str, object] = {"machine": platform.machine()}
    try:
        text = Path("/proc/cpuinfo").read_text(errors="replace")
    except OSError:
        return info
    fields = dict(line.split(":", 1) for line in text.splitlines() if ":" in line)
    fields = {k.strip(): v.strip() for k, v in fields.items()}
    flags = set((fields.get("flags") or fields.get("Features") or "").split())
    info["model"] = fields.get("model name") or fields.get("CPU part")
    info["vector"] = [f for f in _VECTOR_EXTENSIONS if f in flags]
    return info


def _git_commit() -> str | None:
    root = Path(__file__).resolve().parents[2]  # the checkout: videorag_eval/runtime/provenance.py -> repo root
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
