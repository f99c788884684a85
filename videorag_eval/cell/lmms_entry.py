"""The lmms-eval model ``videorag`` as lmms-eval's own CLI builds it: ``lmms-eval --model videorag --model_args
config=<cell>/config.yaml`` rebuilds the wrapper's parts (inner model, pipeline, schema, journal, decoupling
cache, subtitles) from a cell's resolved config, as ``runner.run_cell`` does. Registered in ``lmms_models``."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from omegaconf import OmegaConf

from ..benchmarks.schemas import get_schema
from ..lmms.wrapper import VideoRAG
from ..store.journal import Journal


def build_wrapper_parts(config_path: str) -> dict:
    """For ``lmms-eval --model videorag --model_args config=<cell>/config.yaml``: the wrapper's parts as
    ``run_cell`` builds them (decoupling replies cached, subtitles for the with-subtitles arm)."""
    from ..lmms.decoupling_cache import DecouplingCache, model_identity
    from ..lmms.factory import build_inner, build_pipeline, build_subtitles
    from .identity import identity_digest

    cfg = OmegaConf.load(config_path)
    pipeline = build_pipeline(cfg)
    inner = build_inner(cfg, pipeline)
    route = str(cfg.model.decouple_route)
    subtitles = None
    if pipeline.rag.subtitles:
        from ..lmms.tasks import prepare_task

        subtitles = build_subtitles(cfg, prepare_task(cfg.task, cfg.cache_dir)[2])
    return {"inner": inner, "pipeline": pipeline, "schema": get_schema(cfg.task.schema),
            "journal": Journal(Path(config_path).parent / "journal.jsonl", cell=identity_digest(cfg)[:16]),
            "decouple_route": route,
            "subtitles": subtitles, "decouple_cache": DecouplingCache(pipeline.cache, model_identity(cfg, route)),
            "batch_size": int(cfg.get("batch_size", 1))}


class ConfiguredVideoRAG(VideoRAG):
    """``videorag`` built from ``config=<cell>/config.yaml`` (lmms-eval's ``--model_args``)."""

    def __init__(self, config: str, **_: Any) -> None:
        super().__init__(**build_wrapper_parts(config))
