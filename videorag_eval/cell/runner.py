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

from omegaconf import DictConfig, OmegaConf

from ..benchmarks.schemas import get_schema
from ..core.failures import SystemicFailure, budget_left_nothing, explained, no_question_asked
from ..core.files import remove_stale_tmp, write_atomic, write_json, write_jsonl
from ..lmms.factory import build_inner, build_pipeline, build_subtitles
from ..method.pipeline import MissingCache
from ..report.summary import print_summary
from ..runtime.model_args import apply_method_args
from ..runtime.parallel import Barrier, Ranks, single_process_view
from ..scoring.metrics import cell_metrics
from ..store.journal import Journal
from . import identity as cells
from . import state as cell_state
from .lock import CellLock
from .settings import check_config

log = logging.getLogger("videorag_eval")


def run_cell(cfg: DictConfig) -> Path:
    Ranks.setup()  # a SLURM job of G tasks gets its RANK now: only rank 0 takes the cell's lock
    check_config(cfg)  # refused settings leave no cell directory behind
    apply_method_args(cfg)  # config.yaml shows the adapter's arguments under this method (model_args.py)
    cell = cells.cell_dir(cfg)
    identity = cell_state.compute(cfg)
    if not cfg.force:
        cell_state.check(cell, identity)  # a cell of something else is never reused or resumed
    if cells.is_finished(cell) and not cfg.force:
        with _lock(cell):
            metrics = _rescore_if_needed(cfg, cell)
        log.info("cell already finished, not run again: %s (force=true to redo it)", cell)
        print_summary(metrics, cell, skipped=True)
        return cell
    from .preflight import require_ready

    require_ready(cfg)  # packages, adapter, weights, task.data_dir, disk: every problem at once, before the cell exists
    cell.mkdir(parents=True, exist_ok=True)
    with _lock(cell):
        for stale in remove_stale_tmp(cell):  # a killed writer's half-written cell file
            log.warning("removed %s: a temporary file left by a killed writer", stale)
        for name in cell_state.RUN_FILES if cfg.force else (cell_state.FAILED,):
            (cell / name).unlink(missing_ok=True)
        if cfg.force:  # every rank's journal of a data-parallel run too
            for journal in cell_state.journals(cell):
                journal.unlink()
        cell_state.write_identity(cell, identity)
        write_atomic(cell / "config.yaml", OmegaConf.to_yaml(cfg, resolve=True))
        handler = _log_to(cell / "run.log")
        try:
            return _evaluate(cfg, cell)
        except MissingCache:  # require_cache=true and the cache lacks something: refused, nothing was run
            raise
        except Exception as raised:  # systemic: no metrics.json, the journal of good answers stays
            exc = explained(raised)  # e.g. a full disk buried in lmms-eval's RetryError, named in one line
            log.exception("cell %s failed: %s: %s", cell, type(exc).__name__, exc)
            if _rank() == 0:
                cell_state.write_failed(cell, exc, len(Journal(cell / "journal.jsonl", siblings=True)))
            raise CellFailed(cell, exc) from raised
        finally:
            logging.getLogger().removeHandler(handler)


class CellFailed(RuntimeError):
    """A cell stopped on a systemic error (failed.json written; a later run resumes it)."""

    def __init__(self, cell: Path, exc: BaseException):
        self.cell = cell
        super().__init__(f"cell {cell} failed: {type(exc).__name__}: {exc} (details in {cell / 'run.log'}; "
                         "answered questions are kept, re-running the same command resumes it)")


def _rank() -> int:
    return int(os.environ.get("RANK", "0") or 0)


def _lock(cell: Path):
    """The cell's lock (rank 0 only under data parallel, per CELL_PROTOCOL)."""
    from contextlib import nullcontext

    return CellLock(cell) if _rank() == 0 else nullcontext()


def _rescore_if_needed(cfg: DictConfig, cell: Path) -> dict:
    """A finished cell asked with another ``parser``: re-score its stored predictions, no model run."""
    from ..scoring.metrics import rescore
    from ..store.result_files import UnreadableFile, read_metrics

    try:
        metrics = read_metrics(cell / "metrics.json")
    except UnreadableFile as exc:
        raise cell_state.DamagedCell(cell, exc) from exc
    if metrics.get("parser") == cfg.parser:
        return metrics
    samples = [json.loads(line) for line in (cell / "samples.jsonl").read_text(encoding="utf-8").splitlines() if line]
    metrics, scored = rescore(cfg, metrics, samples)
    write_jsonl(cell / "samples.jsonl", scored)
    write_json(cell / "metrics.json", metrics)
    log.info("re-scored %s with parser=%s (from its stored predictions; no model run)", cell, cfg.parser)
    return metrics


def _evaluate(cfg: DictConfig, cell: Path) -> Path:
    t0 = time.perf_counter()
    from ..lmms.tasks import configure_environment, prepare_task

    configure_environment(cfg.cache_dir)
    from ..lmms.wrapper import VideoRAG

    lmms_task, include_path, data_dir = prepare_task(cfg.task, cfg.cache_dir)
    ranks = Ranks.setup()  # torchrun or a SLURM job of G tasks: this cell runs as ranks.world_size data-parallel processes
    journal = Journal(cell / ranks.journal_name, siblings=True, cell=cells.identity_digest(cfg)[:16])
    if len(journal):
        log.info("resuming %s: %d question(s) already answered", cell, len(journal))
    pipeline = build_pipeline(cfg)
    if pipeline.require_cache:  # fail fast, before the LVLM loads, naming what is not extracted
        from .extraction import verify_cached

        verify_cached(cfg, pipeline)
    subtitles = None
    if pipeline.rag.subtitles:
        subtitles = build_subtitles(cfg, data_dir)
    if pipeline.asr or pipeline.ocr:  # extract first, then free the extractors' memory for the LVLM
        from ..lmms.tasks import question_videos
        from ..runtime.parallel import videos_of_rank

        # under data parallel a rank extracts the videos it will answer, not every video of the cell
        extracted = pipeline.extract_all(videos_of_rank(question_videos(cfg.task, cfg.cache_dir, cfg.limit), ranks))
        if ranks.active:  # rank 0 reports every rank's share in metrics.json
            write_json(cell / f"extract.rank{ranks.rank}.json", {**extracted, "computed": pipeline.computed()})
        pipeline.release_extractors()
    t_build = time.perf_counter()
    inner = build_inner(cfg, pipeline)
    from ..lmms.decoupling_cache import DecouplingCache, model_identity

    decouple_cache = DecouplingCache(pipeline.cache, model_identity(cfg, str(cfg.model.decouple_route)))
    wrapper = VideoRAG(inner=inner, pipeline=pipeline, schema=get_schema(cfg.task.schema), journal=journal,
                       decouple_route=str(cfg.model.decouple_route), subtitles=subtitles, decouple_cache=decouple_cache,
                       data_parallel=(ranks, Barrier()) if ranks.active else None, batch_size=int(cfg.get("batch_size", 1)))
    t_model = time.perf_counter() - t_build

    from lmms_eval.evaluator import simple_evaluate

    from ..lmms.tasks import task_manager as make_task_manager

    task_manager = make_task_manager(include_path, model_name=str(cfg.model.adapter))
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
    if len(records) != len(asked):  # finished only when every question has an answer or a data-failure record
        raise SystemicFailure(f"{len(asked) - len(records)} of {len(asked)} questions have no record in the journal")
    for nothing_measured in (no_question_asked(records), budget_left_nothing(records) if pipeline.rag.sources else None):
        if nothing_measured is not None:  # a number from a cell in which nothing was measured is never written
            raise nothing_measured
    metrics, scored = cell_metrics(cfg, records, wrapper, pipeline)
    metrics["timings"] = {**metrics["timings"], "model_load": round(t_model, 2), "total": round(time.perf_counter() - t0, 2)}
    if ranks.active:  # the records are every rank's; timings and cache counts are rank 0's
        metrics["data_parallel"] = {"world_size": ranks.world_size, "assigned_by": "video",
                                    "extracted": {str(r): json.loads((cell / f"extract.rank{r}.json").read_text())
                                                  for r in range(ranks.world_size)
                                                  if (cell / f"extract.rank{r}.json").exists()}}
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
