"""Result cells: where a cell lives and whether it finished."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

from omegaconf import DictConfig, OmegaConf

# Config keys that do not change a cell's results (where things go, how they run). ``parser`` only
# changes scoring: a finished cell is re-scored from its stored predictions (runner), never re-run. ``decode``
# (memory for decoded frames) changes only the work done.
_NOT_IDENTITY = ("results_dir", "cache_dir", "force", "hydra", "launcher", "progress", "parser", "require_cache",
                 "preflight", "decode")


def identity(cfg: DictConfig) -> dict[str, Any]:
    """The settings that determine a cell's results.

    Settings that cannot matter are dropped, so equivalent cells coincide: without retrieval the
    threshold and extractor settings play no part (``rag=none`` swept over thresholds is one cell).
    """
    data = OmegaConf.to_container(cfg, resolve=True)
    for key in _NOT_IDENTITY:
        data.pop(key, None)
    if isinstance(data.get("model"), dict):  # the model's default frames: `frames` (resolved) is the identity
        data["model"].pop("frames", None)
        from ..runtime.model_args import adapter_args

        merged = adapter_args(cfg)  # what the adapter is built with (model_args + the method's, e.g. bfloat16)
        per_method = data["model"].pop("method_args", None)  # only the cell's method's entry matters: merged above
        if merged or per_method is not None:
            data["model"]["model_args"] = merged
    if isinstance(data.get("model"), dict):  # our fixes of the adapter that change what its model gets (adapters.py)
        from ..lmms.adapters import fix_identity

        if fixes := fix_identity(str(data["model"].get("adapter")), int(data.get("batch_size", 1) or 1)):
            data["model"]["adapter_fixes"] = fixes
    if data.get("batch_size", 1) == 1:  # one request per call, as before batching existed: same cells
        data.pop("batch_size", None)
    for key in ("batch_arg", "max_batch_size", "batch_size"):  # how requests are sent, not what is asked
        (data.get("model") or {}).pop(key, None)
    for key in ("context_tokens", "tokens_per_frame", "vision_patches_per_side"):  # the budget's inputs: its value is below
        (data.get("model") or {}).pop(key, None)
    keyframes = ((data.get("aux") or {}).get("det") or {}).get("keyframes")
    no_clip = keyframes.get("rule") == "all" or not (data.get("rag") or {}).get("det") if isinstance(keyframes, dict) else True
    if isinstance(keyframes, dict) and (keyframes.get("similarity", "cosine") == "cosine" or no_clip):
        keyframes.pop("similarity", None)  # cosine, as before the key existed (or no CLIP run: no DET): the same cells
    rag = data.get("rag", {})
    rag.pop("token_budget", None)
    if rag.get("retrieval", True) is not False or not (rag.get("asr") or rag.get("ocr")):
        # retrieval on (as before the key existed), or nothing to retrieve (DET is never retrieved): the same cells
        rag.pop("retrieval", None)
        if rag.get("preset") == "transcript":  # swept with rag.retrieval=true it is ASR retrieved: rag=asr's cell
            rag["preset"] = "asr"
    else:  # every ASR/OCR document goes in: the threshold filters nothing; the preset's name is not a setting
        # (rag=transcript = rag=asr rag.retrieval=false); without DET no request is asked (rag.decouple unused)
        for key in ("threshold", "preset") + (() if rag.get("det") else ("decouple",)):
            rag.pop(key, None)
    if any(rag.get(s) for s in ("asr", "ocr", "det")):
        from ..method.budget import resolve

        budget = resolve(cfg).identity()  # None (no limit): the cell as before the budget existed
        if budget is not None:
            rag["token_budget"] = budget
    else:
        for key in ("threshold", "decouple", "preset"):
            rag.pop(key, None)
        data.pop("aux", None)
        if not rag.get("subtitles"):
            rag.pop("order", None)
            rag.pop("timestamps", None)
            data.pop("method", None)  # no auxiliary text: every reading of the method is the same cell
    return data


def rag_label(rag: Any) -> str:
    from ..method.rag_settings import RagSettings

    return RagSettings.from_cfg(rag).label()


def identity_digest(cfg: DictConfig) -> str:
    """SHA-256 of the cell's identity; its first 8 characters end the cell's directory name, its first 16 mark
    each journal line as this cell's (``journal.py``)."""
    return hashlib.sha256(json.dumps(identity(cfg), sort_keys=True, default=str).encode()).hexdigest()


def cell_dir(cfg: DictConfig) -> Path:
    """``<results_dir>/<task>/<model>/f<frames>-<rag label>[-n<limit>]-<hash>``.

    The readable part names the setting; the hash covers every other setting that changes results
    (extractors, encoder, data_dir, ...; not the parser: a re-score), so two different cells never share a directory
    and the same cell always finds its own directory again (resume, skip when finished).
    """
    digest = identity_digest(cfg)[:8]
    name = f"f{cfg.frames}-{rag_label(cfg.rag)}"
    if cfg.get("limit") is not None:
        name += f"-n{cfg.limit}"
    return Path(cfg.results_dir) / str(cfg.task.name) / str(cfg.model.name) / f"{name}-{digest}"


def is_finished(cell: Path) -> bool:
    return (cell / "metrics.json").exists()
