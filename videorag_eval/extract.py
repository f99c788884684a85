"""``python -m videorag_eval.extract [OVERRIDES]``: precompute auxiliary texts for a task's videos.

Fills the cache only (ASR segments, OCR readings of the cell's frames, document embeddings), so that
evaluation cells, and sweeps over models or thresholds, start with every video already processed.
Takes the same overrides as ``python -m videorag_eval`` (task, task.data_dir, frames, aux, limit).
"""

from __future__ import annotations

import logging

import hydra
from omegaconf import DictConfig

from .resources import CONF_DIR

log = logging.getLogger("videorag_eval.extract")


def extract_task(cfg: DictConfig) -> dict[str, int]:
    from tqdm import tqdm

    from .pipeline import AuxPipeline, SourceFailed, VideoProblem
    from .settings import RagSettings
    from .cache import Cache
    from .extractors.asr import NoAudioTrack
    from .lmms_tasks import load_videos

    rag = RagSettings.from_cfg(cfg.rag)
    rag = RagSettings(asr=rag.asr, ocr=rag.ocr, threshold=rag.threshold)  # DET depends on each question's request
    pipeline = AuxPipeline(rag, cfg.aux, Cache(cfg.cache_dir), cfg.frames)
    videos = load_videos(cfg.task, cfg.cache_dir, cfg.limit)
    counts = {"videos": len(videos), "failed": 0, "no_audio": 0, "documents": 0}
    for path in tqdm(videos, desc="extracting", unit="video"):
        try:
            digest, _, frames = pipeline.open_video(path)
        except VideoProblem as exc:
            log.error("%s", exc)
            counts["failed"] += 1
            continue
        for source in rag.sources:
            try:
                docs = pipeline._source_docs(source, path, digest, frames)
            except (NoAudioTrack, SourceFailed, VideoProblem) as exc:  # recorded; systemic errors still stop
                log.warning("%s", exc)
                counts["no_audio"] += 1
                continue
            pipeline.encoder.encode([d.text for d in docs])
            counts["documents"] += len(docs)
    print(f"extracted {counts['documents']} documents from {counts['videos']} videos "
          f"({counts['failed']} unusable, {counts['no_audio']} without audio) into {cfg.cache_dir}")
    return counts


@hydra.main(config_path=str(CONF_DIR), config_name="config", version_base="1.3")
def main(cfg: DictConfig) -> None:
    import sys

    from .settings import ConfigError, check_config

    try:
        check_config(cfg)
    except ConfigError as exc:  # the same settings check as an evaluation: exit 2, one line
        print(f"videorag_eval.extract: error: {exc}", file=sys.stderr, flush=True)
        sys.exit(2)
    extract_task(cfg)


if __name__ == "__main__":
    main()
