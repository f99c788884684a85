"""Pre-extraction of a task's videos into the cache (``python -m videorag_eval.extract``) and the check that a
cell with ``require_cache=true`` finds everything it needs there (``verify_cached``, run by the runner)."""

from __future__ import annotations

import logging
from collections import Counter
from typing import Any

from omegaconf import DictConfig

log = logging.getLogger("videorag_eval.extract")


def frame_counts(frames: Any) -> list[int]:
    """``frames`` as given: one int, or a list of the sweep's frame counts."""
    from omegaconf import ListConfig

    values = list(frames) if isinstance(frames, (list, tuple, ListConfig)) else [frames]
    out = sorted({int(v) for v in values})
    if not out or out[0] <= 0:
        from .settings import ConfigError

        raise ConfigError(f"frames must be a positive integer or a list of them, got {frames}")
    return out


def shard_of(videos: list[str], shard: int, num_shards: int) -> list[str]:
    """The videos of one shard: every ``num_shards``-th distinct video, starting at ``shard``."""
    if num_shards < 1 or not 0 <= shard < num_shards:
        from .settings import ConfigError

        raise ConfigError(f"shard must be in 0..num_shards-1 and num_shards >= 1, got shard={shard} num_shards={num_shards}")
    return videos[shard::num_shards]


def prepare_video(pipeline, path: str, counts: Counter) -> None:
    """Everything the pipeline will read for one video, from the cache or computed (raises VideoProblem
    for an unusable video, MissingCache when the pipeline must not extract)."""
    from ..method.detection.pipeline import _Frames
    from ..method.extractors.asr import NoAudioTrack

    digest, _, frames = pipeline.open_video(path)
    for source in ("asr", "ocr"):
        if not getattr(pipeline.rag, source):
            continue
        try:
            docs = pipeline._source_docs(source, path, digest, frames)
        except NoAudioTrack as exc:
            log.warning("%s", exc)
            counts["no_audio"] += 1
            continue
        with pipeline.encoder.scoped(digest):  # packed in the video's cache entry, where the cell reads it
            pipeline.encoder.encode([d.text for d in docs])
        counts["documents"] += len(docs)
    if pipeline.rag.det and hasattr(pipeline.det.selector, "image_features"):
        pipeline.det.selector.image_features(digest, list(frames.indices), _Frames(path))
        counts["clip_frames"] += len(frames.indices)


def _pipelines(cfg: DictConfig, require_cache: bool):
    """One pipeline per frame count, each reading the frames the cell's model reads: the model's frame rule
    (``model.adapter``: e.g. qwen-vl-utils' positions for the Qwen adapters) as the cell's own pipeline has it,
    so a cell with ``require_cache=true`` finds every OCR and CLIP entry the extraction wrote."""
    from omegaconf import OmegaConf, open_dict

    from ..lmms.factory import build_pipeline

    counts = frame_counts(cfg.frames)
    first_cfg = OmegaConf.create(OmegaConf.to_container(cfg, resolve=True))
    with open_dict(first_cfg):
        first_cfg.frames = counts[0]
        first_cfg.require_cache = require_cache
    try:
        first = build_pipeline(first_cfg)
    except ValueError as exc:  # a model argument the frame rule cannot mirror (e.g. model_args.fps): exit 2, one line
        from .settings import ConfigError

        raise ConfigError(str(exc)) from exc
    return [first] + [first.with_frames(n) for n in counts[1:]]


def extract_task(cfg: DictConfig) -> dict[str, int]:
    from tqdm import tqdm

    from ..lmms.tasks import question_videos
    from ..method.pipeline import VideoProblem

    shard, num_shards = int(cfg.get("shard", 0)), int(cfg.get("num_shards", 1))
    pipelines = _pipelines(cfg, require_cache=False)
    pairs = question_videos(cfg.task, cfg.cache_dir, cfg.limit)
    no_video = [d for d, key in pairs if not isinstance(key, str)]
    if no_video:  # said on every shard: those questions fail when a cell asks them
        log.error("%d question(s) have no usable video (missing, or outside task.data_dir), first doc_id %d; "
                  "check task.data_dir", len(no_video), no_video[0])
    videos = shard_of(list(dict.fromkeys(key for _, key in pairs if isinstance(key, str))), shard, num_shards)
    counts: Counter = Counter(videos=len(videos), failed=0, no_audio=0, documents=0, questions_without_video=len(no_video))
    failed: set[str] = set()
    for path in tqdm(videos, desc=f"extracting shard {shard}/{num_shards}", unit="video"):
        for pipeline in pipelines:
            try:
                prepare_video(pipeline, path, counts)
            except VideoProblem as exc:
                log.error("%s", exc)
                failed.add(path)
                break
    counts["failed"] = len(failed)
    frames = ",".join(str(p.frames) for p in pipelines)
    print(f"shard {shard}/{num_shards}: extracted {counts['documents']} documents from {counts['videos']} videos at "
          f"frames={frames} ({counts['failed']} unusable, {counts['no_audio']} without audio; "
          f"{counts['questions_without_video']} question(s) without a usable video) into {cfg.cache_dir}")
    return dict(counts)


def verify_cached(cfg: DictConfig, pipeline) -> None:
    """For ``require_cache=true``: every video of the cell has its extraction results in the cache.

    Raises MissingCache naming how many videos lack what (and the command that fills it), before the
    LVLM is loaded. A video that cannot be read is left to the cell (it becomes failed questions).
    """
    from ..lmms.tasks import load_videos
    from ..method.pipeline import MissingCache, VideoProblem

    missing: list[tuple[str, str]] = []  # (video, what)
    videos = load_videos(cfg.task, cfg.cache_dir, cfg.limit)
    for path in videos:
        try:
            prepare_video(pipeline, path, Counter())
        except VideoProblem:
            continue
        except MissingCache as exc:
            missing.append((path, exc.what))
    if missing:
        what = ", ".join(sorted({w for _, w in missing}))
        raise MissingCache(what, (
            f"require_cache=true: {len(missing)} of {len(videos)} videos have no cached {what} in {cfg.cache_dir} "
            f"(first: {missing[0][0]}); fill the cache first: python -m videorag_eval.extract model={cfg.model.name} "
            f"task={cfg.task.name} frames={cfg.frames} rag={cfg.rag.get('preset', 'full')} cache_dir={cfg.cache_dir} "
            f"(with the same aux settings), or run with require_cache=false"))
    log.info("require_cache=true: all %d videos found in the cache", len(videos))
