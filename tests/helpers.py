"""Shared helpers for tests: compose the real Hydra config and run a cell in-process."""

from __future__ import annotations

import json
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent

from videorag_eval.resources import CONF_DIR  # noqa: E402


def compose(*overrides: str):
    from hydra import compose as hydra_compose
    from hydra import initialize_config_dir

    with initialize_config_dir(config_dir=str(CONF_DIR), version_base="1.3"):
        return hydra_compose("config", overrides=list(overrides))


def run_cell(*overrides: str) -> Path:
    from videorag_eval.runner import run_cell as _run

    return _run(compose(*overrides))


def read_cell(cell: Path) -> tuple[dict, list[dict]]:
    metrics = json.loads((cell / "metrics.json").read_text())
    samples = [json.loads(line) for line in (cell / "samples.jsonl").read_text().splitlines()]
    return metrics, samples
