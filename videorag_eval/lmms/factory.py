"""Build a cell's parts from its config: the auxiliary-text pipeline and the inner lmms-eval model."""

from __future__ import annotations

from omegaconf import DictConfig, OmegaConf

from ..method.pipeline import AuxPipeline
from ..method.rag_settings import RagSettings
from ..runtime.model_args import adapter_args
from ..store.cache import Cache


def max_frames_mb(cfg: DictConfig) -> float:
    """``decode.max_frames_mb``: memory for the cell's decoded frames (``media.FrameStore``; 0 = keep none)."""
    value = OmegaConf.select(cfg, "decode.max_frames_mb", default=1024)
    value = 0 if value is None else float(value)
    if value < 0:
        raise ValueError(f"decode.max_frames_mb must be >= 0 (0 keeps no frame); got {value}")
    return value


def build_pipeline(cfg: DictConfig) -> AuxPipeline:
    from ..runtime.frame_sampling import index_rule

    pipeline = AuxPipeline(RagSettings.from_cfg(cfg.rag), cfg.aux, Cache(cfg.cache_dir), cfg.frames,
                           require_cache=bool(cfg.get("require_cache", False)), max_frames_mb=max_frames_mb(cfg))
    pipeline.frame_rule = index_rule(str(cfg.model.adapter), adapter_args(cfg))
    from ..method.budget import resolve

    pipeline.budget = resolve(cfg)  # rag.token_budget with the model's numbers (budget.py)
    return pipeline


def build_inner(cfg: DictConfig, pipeline: AuxPipeline):
    """The inner lmms-eval model of the cell, its frame count translated to the adapter's argument."""
    m = cfg.model
    if m.adapter == "videorag_text_only":
        from ..models.text_only import TextOnlyMatcher

        return TextOnlyMatcher(text_encoder=pipeline.encoder, seed=cfg.seed)
    if m.adapter == "videorag_scripted":  # a stand-in LVLM for tests (models/scripted.py)
        from ..models.scripted import ScriptedLVLM

        return ScriptedLVLM(script=m.model_args.get("script"), text_encoder=pipeline.encoder, seed=cfg.seed)
    from lmms_eval.models import get_model

    args = adapter_args(cfg)  # model_args, with the method profile's arguments for this model (model_args.py)
    if m.get("tiny"):  # a random tiny model built offline, for tests
        from ..models.tiny import ensure_tiny

        args["pretrained"] = ensure_tiny(str(m.tiny), cfg.cache_dir)
    if m.get("frame_arg"):
        args[m.frame_arg] = int(cfg.frames)
    if m.get("batch_arg"):  # the adapter batches the requests of one call itself
        args[m.batch_arg] = int(cfg.get("batch_size", 1))
    from .adapters import apply_adapter_fixes

    apply_adapter_fixes(str(m.adapter))
    from ..runtime.weights import loading

    with loading(f"inner model (lmms-eval adapter {m.adapter})", args.get("pretrained")):  # says why it did not load
        cls = get_model(m.adapter, force_simple=bool(m.get("force_simple", False)))
        inner = cls(**args)
    from ..method.budget import from_checkpoint, resolve

    if pipeline is not None and from_checkpoint(cfg):  # the tokens per frame follow the checkpoint's own pooling
        from .adapters import checkpoint_pooling

        pooling = checkpoint_pooling(inner)
        if pooling is None:
            raise RuntimeError(f"model {m.name}: the adapter keeps the checkpoint's pooling (overwrite: false) but its "
                               "loaded config has no mm_spatial_pool_mode; set model.method_args.<method>.overwrite=true "
                               "with model.model_args.mm_spatial_pool_mode, or use another checkpoint")
        pipeline.budget = resolve(cfg, pooling)
    return inner


def build_subtitles(cfg: DictConfig, data_dir):
    """The with-subtitles arm's provider for the cell (``rag=subtitles``), else None. Video-MME's ``frame_num``
    is the task YAML's entry for the inner adapter (768 for ``llava_vid``): the same on every path (Hydra
    runner, lmms-eval's CLI)."""
    from ..benchmarks.subtitles import provider_for

    return provider_for(str(cfg.task.name), data_dir, int(cfg.frames), adapter=str(cfg.model.adapter))
