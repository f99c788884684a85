"""lmms-eval task resolution: our task YAMLs (tasks/) pointed at the bundled data or a local copy.

For every run a small YAML is written under the cache that ``include:``s the committed template
and points ``data_files`` at the chosen copy, so ``task.data_dir`` works for any task without
environment juggling by the user.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import yaml

from .cache import make_key

TASKS_ROOT = Path(__file__).resolve().parent.parent / "tasks"

# task name -> (template YAML relative to tasks/, annotation file inside a data dir, bundled data dir)
TEMPLATES = {
    "demo": ("demo/videorag_demo.yaml", "videomme/test-00000-of-00001.parquet", TASKS_ROOT / "demo" / "data"),
}


class TaskSetupError(RuntimeError):
    pass


def prepare_task(task_cfg: Any, cache_dir: str | os.PathLike[str]) -> tuple[str, str, Path]:
    """(lmms-eval task name, include path for TaskManager, data dir) for the configured task."""
    name = str(task_cfg["name"])
    if name not in TEMPLATES:
        raise TaskSetupError(f"task {name!r} has no template; known: {', '.join(TEMPLATES)}")
    template, annotations, bundled = TEMPLATES[name]
    data_dir = Path(task_cfg.get("data_dir") or bundled).expanduser().resolve()
    ann = data_dir / annotations
    if not ann.exists():
        raise TaskSetupError(
            f"{ann} not found: task.data_dir={data_dir} must be laid out like the benchmark's hub repo "
            f"(see CONTRACT: {name} expects {annotations})"
        )
    lmms_task = str(task_cfg["lmms_task"])
    include_dir = Path(cache_dir).resolve() / "lmms_tasks" / make_key(task=lmms_task, data=str(data_dir))[:16]
    include_dir.mkdir(parents=True, exist_ok=True)
    config = {
        "include": str(TASKS_ROOT / template),
        "task": lmms_task,
        "dataset_path": "parquet" if ann.suffix == ".parquet" else "json",
        "dataset_kwargs": {"data_files": {"test": str(ann)}},
    }
    (include_dir / f"{lmms_task}.yaml").write_text(yaml.safe_dump(config, sort_keys=False))
    os.environ["VIDEORAG_DATA_DIR"] = str(data_dir)
    return lmms_task, str(include_dir), data_dir
