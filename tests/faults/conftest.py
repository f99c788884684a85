"""Shared fixtures of the failure tests: small cells of the weight-free ``text_only`` model."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "tests"))
sys.path.insert(0, str(REPO / "tasks"))


def run_cli(*overrides: str, cwd: Path | None = None, timeout: int = 600) -> subprocess.CompletedProcess:
    """``python -m videorag_eval OVERRIDES`` as a user types it (PYTHONPATH and offline env passed on)."""
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1"}
    return subprocess.run([sys.executable, "-m", "videorag_eval", *overrides], capture_output=True, text=True,
                          env=env, cwd=cwd or REPO, timeout=timeout)


def cells_under(root: Path) -> list[Path]:
    """Cell directories (those holding a config.yaml or a lock) under a results root, .hydra excluded."""
    return sorted({p.parent for p in Path(root).rglob("*") if p.name in ("config.yaml", ".lock", "identity.json")
                   and ".hydra" not in p.parts})
