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
    from .pipeline import AuxPipeline
    from .settings import RagSettings
    from .cache import Cache
    from .lmms_tasks import load_videos

    rag = RagSettings.from_cfg(cfg.rag)
    rag = RagSettings(asr=rag.asr, ocr=rag.ocr, threshold=rag.threshold)  # DET depends on each question's request
    pipeline = AuxPipeline(rag, cfg.aux, Cache(cfg.cache_dir), cfg.frames)
    videos = load_videos(cfg.task, cfg.cache_dir, cfg.limit)
    counts = pipeline.extract_all(videos)
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
