"""Which cells of a sweep still need a job: the planning step of ``hydra/launcher=slurm``.

Before anything is submitted, each job's config is composed as the job itself will compose it,
checked (a bad setting stops the whole sweep with exit 2, nothing submitted), and mapped to its cell
directory. Finished cells and cells some process is running are not submitted again, and two jobs
of the sweep that are the same cell (e.g. ``rag=none`` swept over thresholds) become one job.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence

from omegaconf import DictConfig, open_dict


@dataclass
class PlannedJob:
    index: int  # Hydra's job number
    overrides: list[str]
    cell: Path | None  # None: an extraction shard (python -m videorag_eval.extract), which has no cell
    action: str  # submit | finished | running | duplicate | refused
    note: str = ""


def job_config(config_loader: Any, sweep_config: DictConfig, overrides: Sequence[str]) -> DictConfig:
    """The cell config a job will receive (Hydra's own node removed, as the task function sees it)."""
    cfg = config_loader.load_sweep_config(sweep_config, list(overrides))
    with open_dict(cfg):
        del cfg["hydra"]
    return cfg


def plan(config_loader: Any, sweep_config: DictConfig, job_overrides: Sequence[Sequence[str]],
         initial_job_idx: int, skip_done: bool = True, skip_invalid: bool = False) -> list[PlannedJob]:
    """One PlannedJob per job of the sweep. A refused setting raises ConfigError (nothing is submitted),
    or with ``skip_invalid`` becomes an action ``refused`` naming why (e.g. a grid crossing MLVU with
    ``rag=subtitles``, which MLVU cannot have)."""
    from ..cell.identity import cell_dir, is_finished
    from ..cell.lock import lock_holder
    from ..cell.settings import ConfigError, check_config

    planned: list[PlannedJob] = []
    seen: dict[Path, int] = {}
    for i, overrides in enumerate(job_overrides):
        idx = initial_job_idx + i
        cfg = job_config(config_loader, sweep_config, overrides)
        if "num_shards" in cfg:  # an extraction shard: always submitted (it skips what is cached itself)
            planned.append(PlannedJob(idx, list(overrides), None, "submit", "extraction shard"))
            continue
        try:
            check_config(cfg)  # ConfigError: refused before anything is submitted
        except ConfigError as exc:
            if not skip_invalid:
                raise
            planned.append(PlannedJob(idx, list(overrides), None, "refused", str(exc)))
            continue
        cell = cell_dir(cfg).resolve()
        if cell in seen:
            planned.append(PlannedJob(idx, list(overrides), cell, "duplicate", f"same cell as job #{seen[cell]}"))
            continue
        seen[cell] = idx
        if skip_done and is_finished(cell):
            planned.append(PlannedJob(idx, list(overrides), cell, "finished"))
        elif skip_done and (holder := lock_holder(cell)) is not None:
            planned.append(PlannedJob(idx, list(overrides), cell, "running", f"pid {holder.get('pid')} on {holder.get('host')}"))
        else:
            planned.append(PlannedJob(idx, list(overrides), cell, "submit"))
    return planned


def record_submission(sweep_dir: Path, planned: list[PlannedJob], job_ids: dict[int, str],
                      logs: dict[int, str] | None = None) -> Path:
    """Append what was submitted to ``<sweep dir>/submissions.jsonl`` (one line per job of the sweep;
    ``status`` reads it to ask the scheduler about cells whose job has not finished them)."""
    from .slurm_jobs import SUBMISSIONS

    path = Path(sweep_dir) / SUBMISSIONS
    path.parent.mkdir(parents=True, exist_ok=True)
    now = time.strftime("%Y-%m-%dT%H:%M:%S")
    with path.open("a", encoding="utf-8") as fh:
        for p in planned:
            fh.write(json.dumps({"time": now, "job": p.index, "action": p.action, "slurm_job_id": job_ids.get(p.index),
                                 "log": (logs or {}).get(p.index), "cell": str(p.cell) if p.cell else None,
                                 "overrides": p.overrides, "note": p.note}) + "\n")
    return path


def summary_line(planned: list[PlannedJob]) -> str:
    counts = {a: sum(p.action == a for p in planned) for a in ("submit", "finished", "running", "duplicate", "refused")}
    line = (f"{len(planned)} job(s) in the sweep: {counts['submit']} submitted, {counts['finished']} already finished, "
            f"{counts['running']} running elsewhere, {counts['duplicate']} duplicate cell(s)")
    return line + (f", {counts['refused']} refused setting(s)" if counts["refused"] else "")

