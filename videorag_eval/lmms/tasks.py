"""lmms-eval task resolution: our task YAMLs (tasks/) pointed at the bundled data or a local copy.

For every run a small YAML is written under the cache that ``include:``s the committed template
and points ``data_files`` at the chosen copy, so ``task.data_dir`` works for any task without
environment juggling by the user.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from ..benchmarks.safe_paths import UnsafePath
from ..core.files import write_atomic
from ..core.resources import TASKS_DIR
from ..store.cache import make_key


@dataclass(frozen=True)
class TaskSpec:
    """How one benchmark is run through lmms-eval."""

    name: str  # our task name (config ``task.name``)
    overrides: str  # our YAML under tasks/ (task name, doc_to_visual)
    lmms_yaml: str | None  # lmms-eval's packaged YAML it builds on (None: ours is complete)
    annotations: str  # annotation file inside a local copy
    split: str  # the split lmms-eval evaluates
    hub_cache_dir: str | None  # where lmms-eval's hub download puts videos, under $HF_HOME
    bundled: Path | None = None  # data shipped with this repo

    def lmms_task(self) -> str:
        return yaml.safe_load((TASKS_DIR / self.overrides).read_text().replace("!function", ""))["task"]


SPECS = {
    s.name: s
    for s in (
        TaskSpec("demo", "demo/videorag_demo.yaml", None, "videomme/test-00000-of-00001.parquet", "test", None,
                 TASKS_DIR / "demo" / "data"),
        TaskSpec("videomme", "videomme/videorag_videomme.yaml", "videomme/videomme.yaml",
                 "videomme/test-00000-of-00001.parquet", "test", "videomme"),
        TaskSpec("mlvu", "mlvu/videorag_mlvu.yaml", "mlvu/mlvu_dev.yaml", "mlvu/test-00000-of-00001.parquet", "test", "mlvu"),
        TaskSpec("longvideobench", "longvideobench/videorag_longvideobench.yaml", "longvideobench/longvideobench_val_v.yaml",
                 "lvb_val.json", "validation", "datasets/longvideobench"),
    )
}


class TaskSetupError(RuntimeError):
    pass


def configure_environment(cache_dir: str | os.PathLike[str]) -> None:
    """Keep the datasets library's Arrow cache inside our cache dir (never in ~/.cache), unless the
    user chose one. Must run before ``datasets`` is imported."""
    os.environ.setdefault("HF_DATASETS_CACHE", str(Path(cache_dir).resolve() / "hf_datasets"))


def quiet_lmms_eval_logs(level: str | None = None) -> None:
    """For the command line: lmms-eval's loguru output at WARNING and up (``LOGURU_LEVEL`` to choose),
    on stderr, less the warning that generation settings were given (the harness always passes
    ``generation.*`` on purpose).

    loguru's default handler prints DEBUG lines (every task YAML lmms-eval scans), and importing
    ``lmms_eval.llm_judge.launcher`` (which the evaluator does) replaces every handler with its own on
    stdout; so that module is imported first, then the handlers are set once.
    """
    import sys

    try:
        from loguru import logger
    except ImportError:
        return
    try:
        import lmms_eval.llm_judge.launcher  # noqa: F401  (its import resets loguru's handlers)
    except ImportError:
        pass
    logger.remove()
    logger.add(sys.stderr, level=level or os.environ.get("LOGURU_LEVEL", "WARNING"),
               filter=lambda record: "generation_kwargs specified through cli" not in record["message"])


def get_spec(name: str) -> TaskSpec:
    if name not in SPECS:
        raise TaskSetupError(f"unknown task {name!r}; known: {', '.join(SPECS)}")
    return SPECS[name]


def resolve_data_dir(task_cfg: Any) -> tuple[Path, bool]:
    """(benchmark root, is_local). Local: task.data_dir or the bundled copy; else the hub download."""
    spec = get_spec(str(task_cfg["name"]))
    chosen = task_cfg.get("data_dir") or spec.bundled
    if chosen:
        return Path(chosen).expanduser().resolve(), True
    hf_home = Path(os.environ.get("HF_HOME", "~/.cache/huggingface")).expanduser()
    return (hf_home / spec.hub_cache_dir).resolve(), False


def check_data_dir(task_cfg: Any) -> Path | None:
    """The local copy's annotation file; TaskSetupError (a setting, exit 2) when it is missing.
    None for a hub download."""
    spec = get_spec(str(task_cfg["name"]))
    data_dir, local = resolve_data_dir(task_cfg)
    if not local:
        return None
    ann = data_dir / spec.annotations
    if not ann.exists():
        raise TaskSetupError(
            f"{ann} not found: task.data_dir={data_dir} must be laid out like the {spec.name} hub repo after "
            f"extracting its archives (CONTRACT: {spec.name} expects {spec.annotations} and its videos)"
        )
    if ann.is_file() and ann.stat().st_size == 0:  # else: an opaque RetryError[... ArrowInvalid] after the cell is made
        raise TaskSetupError(f"{ann} is empty (0 bytes): an interrupted download or copy? Copy the {spec.name} "
                             f"annotation file ({spec.annotations}) into task.data_dir again")
    return ann


def prepare_task(task_cfg: Any, cache_dir: str | os.PathLike[str]) -> tuple[str, str, Path]:
    """(lmms-eval task name, include path for TaskManager, benchmark root) for the configured task.

    Writes a small YAML under the cache that includes our overrides (and lmms-eval's own task), and
    for a local copy points ``data_files`` at its annotation file.
    """
    spec = get_spec(str(task_cfg["name"]))
    data_dir, local = resolve_data_dir(task_cfg)
    includes = [str(TASKS_DIR / spec.overrides)]
    if spec.lmms_yaml:
        import lmms_eval.tasks

        includes.append(str(Path(lmms_eval.tasks.__file__).parent / spec.lmms_yaml))
    lmms_task = spec.lmms_task()
    config: dict[str, Any] = {"include": includes, "task": lmms_task}
    if local:
        ann = check_data_dir(task_cfg)
        config["dataset_path"] = "parquet" if ann.suffix == ".parquet" else "json"
        config["dataset_kwargs"] = {"data_files": {spec.split: str(ann)}}
    include_dir = Path(cache_dir).resolve() / "lmms_tasks" / make_key(task=lmms_task, data=str(data_dir), local=local)[:16]
    include_dir.mkdir(parents=True, exist_ok=True)
    write_atomic(include_dir / f"{lmms_task}.yaml", yaml.safe_dump(config, sort_keys=False))  # shared by concurrent cells
    os.environ["VIDEORAG_DATA_DIR"] = str(data_dir)
    return lmms_task, str(include_dir), data_dir


def task_manager(include_path: str, model_name: str | None = None):
    """lmms-eval's TaskManager for the cell's one task: the YAML :func:`prepare_task` wrote under ``include_path``
    (which includes lmms-eval's own task file by path), without indexing lmms-eval's ~2,000 built-in tasks
    (``include_defaults=False``: about 3 s per TaskManager here; the task and its config are the same)."""
    from lmms_eval.tasks import TaskManager

    return TaskManager("WARNING", include_path=include_path, include_defaults=False, model_name=model_name)


def load_videos(task_cfg: Any, cache_dir: str | os.PathLike[str], limit: int | None = None) -> list[str]:
    """The distinct video paths of a task's questions (first ``limit`` questions), in order."""
    videos: list[str] = []
    for _, video in question_videos(task_cfg, cache_dir, limit):
        if isinstance(video, str) and video not in videos:
            videos.append(video)
    return videos


def question_videos(task_cfg: Any, cache_dir: str | os.PathLike[str], limit: int | None = None) -> list[tuple[int, Any]]:
    """(doc_id, video path) of a task's first ``limit`` questions; doc_id as lmms-eval numbers them.

    A question without a usable video (missing: lmms-eval's task exits; outside task.data_dir; no
    path) gets the key ``("doc", doc_id)``, as the wrapper keys it, so that data-parallel ranks
    assign videos alike here and when answering (``parallel.assign_by_video``).
    """
    configure_environment(cache_dir)
    from lmms_eval.tasks import get_task_dict

    lmms_task, include_path, _ = prepare_task(task_cfg, cache_dir)
    task = get_task_dict([lmms_task], task_manager(include_path))[lmms_task]
    docs = task.test_docs() if task.has_test_docs() else task.validation_docs()
    pairs: list[tuple[int, Any]] = []
    for i, doc in enumerate(docs):
        if limit is not None and i >= limit:
            break
        try:
            visuals = task.doc_to_visual(doc)
        except SystemExit:  # lmms-eval's tasks exit on a missing video: the question fails when asked
            visuals = []
        except UnsafePath as exc:  # a row pointing outside task.data_dir is never opened
            logging.getLogger(__name__).warning("%s", exc)
            visuals = []
        videos = [v for v in (visuals or []) if isinstance(v, str)]
        pairs.append((i, videos[0] if videos else ("doc", i)))
    return pairs
