"""``python -m videorag_eval.extract [OVERRIDES]``: precompute auxiliary texts for a task's videos.

Fills the cache only, so that evaluation cells (``require_cache=true``) and sweeps over models or
thresholds start with every video already processed. Per video: ASR segments; OCR readings of the
sampled frames at every frame count given (``frames=8`` or ``frames=[16,32,64]``, the frame counts of
the sweep); CLIP image features of those frames when DET selects keyframes with CLIP; embeddings of
every ASR/OCR document. Detections are not precomputed: they depend on each question's entities.

``shard=i num_shards=n`` processes every n-th distinct video starting at the i-th (whole videos, so a
video is extracted by one shard only); run the shards as a SLURM array with
``python -m videorag_eval.extract -m hydra/launcher=slurm shard=0,1,...,n-1 num_shards=n``. Cache
entries are written atomically (temporary file + rename), so shards, and cells reading the same cache,
never see half an entry. Takes the same overrides as ``python -m videorag_eval`` (model, task, task.data_dir,
rag, aux, limit, cache_dir); ``model=`` decides which frames OCR and CLIP read (the model adapter's frame rule,
as its cells read them).
"""

from __future__ import annotations

import logging

import hydra
from omegaconf import DictConfig

from .cell.extraction import extract_task
from .core.resources import CONF_DIR

log = logging.getLogger("videorag_eval.extract")


@hydra.main(config_path=str(CONF_DIR), config_name="extract", version_base="1.3")
def main(cfg: DictConfig) -> None:
    import sys

    from .cell.preflight import PreflightFailed, require_ready
    from .cell.settings import ConfigError, check_config
    from .core.failures import MissingWeights, SystemicFailure, explained
    from .lmms.tasks import TaskSetupError

    try:
        check_config(cfg, "extract")  # every setting's type, range and choices (config_schema.ExtractConfig)
    except ConfigError as exc:  # one line, as the evaluation app says it (CONTRACT: exit 2)
        print(f"videorag_eval: error: {' '.join(str(exc).split())}", file=sys.stderr, flush=True)
        sys.exit(2)
    try:
        require_ready(cfg)  # Whisper, OCR, encoder and CLIP weights, task.data_dir, disk: before any work
        extract_task(cfg)
    except (ConfigError, TaskSetupError, MissingWeights, PreflightFailed) as exc:
        log.error("%s", exc)
        sys.exit(2)
    except Exception as raised:  # a cache that cannot be written, a full disk: one line naming it, exit 1
        exc = explained(raised)
        if not isinstance(exc, SystemicFailure):
            raise
        log.error("extraction stopped: %s", exc)
        sys.exit(1)


def cli() -> None:
    import sys

    from .cell.settings import refuse_unknown_choices

    refuse_unknown_choices(sys.argv[1:], CONF_DIR)  # model=foo: one line and exit 2, before Hydra composes
    main()


if __name__ == "__main__":
    cli()
