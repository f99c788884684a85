"""``python -m videorag_eval [OVERRIDES]``: evaluate one cell (``-m`` for a sweep)."""

from __future__ import annotations

import hydra
from omegaconf import DictConfig

from .resources import CONF_DIR


@hydra.main(config_path=str(CONF_DIR), config_name="config", version_base="1.3")
def main(cfg: DictConfig) -> None:
    import logging
    import sys

    from .runner import run_cell
    from .settings import ConfigError
    from .subtitles import NoSubtitles
    from .lmms_tasks import TaskSetupError
    from .weights import MissingWeights

    try:
        run_cell(cfg)
    except (ConfigError, TaskSetupError, NoSubtitles, MissingWeights) as exc:
        logging.getLogger("videorag_eval").error("%s", exc)
        sys.exit(2)


if __name__ == "__main__":
    main()
