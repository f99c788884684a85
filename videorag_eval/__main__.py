"""``python -m videorag_eval [OVERRIDES]``: evaluate one cell (``-m`` for a sweep)."""

from __future__ import annotations

import hydra
from omegaconf import DictConfig


@hydra.main(config_path="../conf", config_name="config", version_base="1.3")
def main(cfg: DictConfig) -> None:
    from .runner import run_cell

    run_cell(cfg)


if __name__ == "__main__":
    main()
