"""Run one cell: build the inner model and the Video-RAG wrapper, evaluate through lmms-eval,
score, and write the cell's files (CONTRACT: config.yaml, metrics.json, samples.jsonl).

A finished cell (metrics.json present) is skipped; an interrupted one resumes from its journal.
"""

from __future__ import annotations

import json
import logging
import os
import time
from pathlib import Path
from typing import Any

from omegaconf import DictConfig, OmegaConf

from . import cells
from .benchmarks import get_schema
from .factory import build_inner, build_pipeline
from .files import write_atomic, write_json, write_jsonl
from .journal import Journal
from .metrics import cell_metrics
from .parallel import Barrier, Ranks, single_process_view
from .report.summary import print_summary
from .settings import check_config

log = logging.getLogger("videorag_eval")


def run_cell(cfg: DictConfig) -> Path:
    check_config(cfg)
    cell = cells.cell_dir(cfg)
    if cells.is_finished(cell) and not cfg.force:
        log.info("cell already finished, not run again: %s (force=true to redo it)", cell)
        print_summary(json.loads((cell / "metrics.json").read_text()), cell, skipped=True)
        return cell
    if cfg.force:
        for name in ("metrics.json", "samples.jsonl"):
            (cell / name).unlink(missing_ok=True)
        for journal in cell.glob("journal*.jsonl"):
            journal.unlink()
    cell.mkdir(parents=True, exist_ok=True)
    write_atomic(cell / "config.yaml", OmegaConf.to_yaml(cfg, resolve=True))
    handler = _log_to(cell / "run.log")
    try:
        return _evaluate(cfg, cell)
    finally:
        logging.getLogger().removeHandler(handler)


def _evaluate(cfg: DictConfig, cell: Path) -> Path:
    t0 = time.perf_counter()
    from .lmms_tasks import configure_environment, prepare_task

    configure_environment(cfg.cache_dir)
    from .wrapper import VideoRAG

    lmms_task, include_path, data_dir = prepare_task(cfg.task, cfg.cache_dir)
    ranks = Ranks.setup()  # torchrun or a SLURM job of G tasks: this cell runs as ranks.world_size data-parallel processes
    journal = Journal(cell / ranks.journal_name, siblings=True)
    if len(journal):
        log.info("resuming %s: %d question(s) already answered", cell, len(journal))
    pipeline = build_pipeline(cfg)
    if pipeline.require_cache:  # fail fast, before the LVLM loads, naming what is not extracted
        from .extract import verify_cached

        verify_cached(cfg, pipeline)
    subtitles = None
    if pipeline.rag.subtitles:
        from .subtitles import provider_for

        subtitles = provider_for(str(cfg.task.name), data_dir, int(cfg.frames))
    t_build = time.perf_counter()
    inner = build_inner(cfg, pipeline)
    wrapper = VideoRAG(inner=inner, pipeline=pipeline, schema=get_schema(cfg.task.schema), journal=journal,
                       decouple_route=str(cfg.model.decouple_route), subtitles=subtitles,
                       data_parallel=(ranks, Barrier()) if ranks.active else None)
    t_model = time.perf_counter() - t_build

    from lmms_eval.evaluator import simple_evaluate
    from lmms_eval.tasks import TaskManager

    task_manager = TaskManager("WARNING", include_path=include_path, model_name=str(cfg.model.adapter))
    with single_process_view(ranks):
        results = simple_evaluate(
            model=wrapper, tasks=[lmms_task], limit=cfg.limit, batch_size=1, log_samples=True,
            task_manager=task_manager, verbosity="WARNING", process_docs_parallel=1,
            gen_kwargs=",".join(f"{k}={v}" for k, v in cfg.generation.items()),
            random_seed=cfg.seed, numpy_random_seed=cfg.seed, torch_random_seed=cfg.seed, fewshot_random_seed=cfg.seed,
            distributed_executor_backend="torchrun" if ranks.active else "accelerate",
        )
    if results is None or ranks.rank != 0:  # rank 0 alone scores and writes the cell
        return cell
    journal.reload()  # every rank's records (data parallel)
    asked = sorted({int(s["doc_id"]) for s in results.get("samples", {}).get(lmms_task, [])})
    records = [journal.get(d) for d in asked if journal.get(d) is not None]
    metrics, scored = cell_metrics(cfg, records, wrapper, pipeline)
    metrics["timings"] = {**metrics["timings"], "model_load": round(t_model, 2), "total": round(time.perf_counter() - t0, 2)}
    if ranks.active:  # the records are every rank's; timings and cache counts are rank 0's
        metrics["data_parallel"] = {"world_size": ranks.world_size, "assigned_by": "video"}
    metrics["lmms_eval"] = {k: v for k, v in results.get("results", {}).get(lmms_task, {}).items() if not k.startswith("alias")}
    write_jsonl(cell / "samples.jsonl", scored)
    write_json(cell / "metrics.json", metrics)  # written last: its presence marks the cell finished
    print_summary(metrics, cell)
    return cell


def _log_to(path: Path) -> logging.Handler:
    handler = logging.FileHandler(path, encoding="utf-8")
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    logging.getLogger().addHandler(handler)
    return handler
