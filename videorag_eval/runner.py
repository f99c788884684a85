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
from .cache import Cache
from .journal import Journal
from .pipeline import AuxPipeline, RagSettings

log = logging.getLogger("videorag_eval")


def build_pipeline(cfg: DictConfig) -> AuxPipeline:
    return AuxPipeline(RagSettings.from_cfg(cfg.rag), cfg.aux, Cache(cfg.cache_dir), cfg.frames)


def build_inner(cfg: DictConfig, pipeline: AuxPipeline):
    """The inner lmms-eval model of the cell, its frame count translated to the adapter's argument."""
    m = cfg.model
    if m.adapter == "videorag_text_only":
        from .models.text_only import TextOnlyMatcher

        return TextOnlyMatcher(text_encoder=pipeline.encoder, seed=cfg.seed)
    from lmms_eval.models import get_model

    args = OmegaConf.to_container(m.model_args, resolve=True) or {}
    if m.get("tiny"):  # a random tiny model built offline, for tests
        from .models.tiny import ensure_tiny

        args["pretrained"] = ensure_tiny(str(m.tiny), cfg.cache_dir)
    if m.get("frame_arg"):
        args[m.frame_arg] = int(cfg.frames)
    from .wrapper import apply_adapter_fixes

    apply_adapter_fixes(str(m.adapter))
    cls = get_model(m.adapter, force_simple=bool(m.get("force_simple", False)))
    return cls(**args)


def check_config(cfg: DictConfig) -> None:
    """Errors a user can fix, raised before any work starts."""
    fixed = cfg.model.get("frames_fixed")
    if fixed is not None and int(cfg.frames) != int(fixed):
        raise ConfigError(f"model={cfg.model.name} always reads {fixed} frames; set frames={fixed} (got frames={cfg.frames})")
    if int(cfg.frames) <= 0:
        raise ConfigError(f"frames must be a positive integer, got {cfg.frames}")
    if cfg.parser not in ("lmms_eval", "paper"):
        raise ConfigError(f"parser must be lmms_eval or paper, got {cfg.parser!r}")
    if RagSettings.from_cfg(cfg.rag).subtitles and str(cfg.task.name) == "mlvu":
        raise ConfigError("rag=subtitles: MLVU ships no subtitles; use rag=asr (speech transcribed by Whisper) instead")


class ConfigError(ValueError):
    pass


def build_wrapper_parts(config_path: str):
    """For ``lmms-eval --model videorag --model_args config=<cell>/config.yaml``."""
    cfg = OmegaConf.load(config_path)
    pipeline = build_pipeline(cfg)
    inner = build_inner(cfg, pipeline)
    journal = Journal(Path(config_path).parent / "journal.jsonl")
    return inner, pipeline, get_schema(cfg.task.schema), journal, str(cfg.model.decouple_route), None


def run_cell(cfg: DictConfig) -> Path:
    check_config(cfg)
    cell = cells.cell_dir(cfg)
    if cells.is_finished(cell) and not cfg.force:
        log.info("cell already finished, not run again: %s (force=true to redo it)", cell)
        print_summary(json.loads((cell / "metrics.json").read_text()), cell, skipped=True)
        return cell
    if cfg.force:
        for name in ("metrics.json", "samples.jsonl", "journal.jsonl"):
            (cell / name).unlink(missing_ok=True)
    cell.mkdir(parents=True, exist_ok=True)
    cells.write_atomic(cell / "config.yaml", OmegaConf.to_yaml(cfg, resolve=True))
    handler = _log_to(cell / "run.log")
    try:
        return _evaluate(cfg, cell)
    finally:
        logging.getLogger().removeHandler(handler)


def _evaluate(cfg: DictConfig, cell: Path) -> Path:
    t0 = time.perf_counter()
    from .tasks import configure_environment, prepare_task

    configure_environment(cfg.cache_dir)
    from .wrapper import VideoRAG

    lmms_task, include_path, data_dir = prepare_task(cfg.task, cfg.cache_dir)
    journal = Journal(cell / "journal.jsonl")
    if len(journal):
        log.info("resuming %s: %d question(s) already answered", cell, len(journal))
    pipeline = build_pipeline(cfg)
    subtitles = None
    if pipeline.rag.subtitles:
        from .subtitles import provider_for

        subtitles = provider_for(str(cfg.task.name), data_dir, int(cfg.frames))
    t_build = time.perf_counter()
    inner = build_inner(cfg, pipeline)
    wrapper = VideoRAG(inner=inner, pipeline=pipeline, schema=get_schema(cfg.task.schema), journal=journal,
                       decouple_route=str(cfg.model.decouple_route), subtitles=subtitles)
    t_model = time.perf_counter() - t_build

    from lmms_eval.evaluator import simple_evaluate
    from lmms_eval.tasks import TaskManager

    task_manager = TaskManager("WARNING", include_path=include_path, model_name=str(cfg.model.adapter))
    results = simple_evaluate(
        model=wrapper, tasks=[lmms_task], limit=cfg.limit, batch_size=1, log_samples=True,
        task_manager=task_manager, verbosity="WARNING", process_docs_parallel=1,
        gen_kwargs=",".join(f"{k}={v}" for k, v in cfg.generation.items()),
        random_seed=cfg.seed, numpy_random_seed=cfg.seed, torch_random_seed=cfg.seed, fewshot_random_seed=cfg.seed,
    )
    if results is None:  # not rank 0 under data parallel
        return cell
    asked = sorted({int(s["doc_id"]) for s in results.get("samples", {}).get(lmms_task, [])})
    records = [journal.get(d) for d in asked if journal.get(d) is not None]
    metrics, scored = score_cell(cfg, records, wrapper, pipeline)
    metrics["timings"] = {**metrics["timings"], "model_load": round(t_model, 2), "total": round(time.perf_counter() - t0, 2)}
    metrics["lmms_eval"] = {k: v for k, v in results.get("results", {}).get(lmms_task, {}).items() if not k.startswith("alias")}
    cells.write_jsonl(cell / "samples.jsonl", scored)
    cells.write_json(cell / "metrics.json", metrics)  # written last: its presence marks the cell finished
    print_summary(metrics, cell)
    return cell


def score_cell(cfg: DictConfig, records: list[dict[str, Any]], wrapper, pipeline: AuxPipeline):
    from .provenance import versions
    from .scoring import accuracy, by_category, official_scores, score_records

    schema = get_schema(cfg.task.schema)
    scored = score_records(records, cfg.parser, schema.name, int(cfg.seed))
    acc_by, n_by = by_category(scored, cfg.task.get("breakdowns") or schema.category_keys)
    rag = RagSettings.from_cfg(cfg.rag)
    failures: dict[str, int] = {}
    for r in scored:
        if r.get("error"):
            failures[r.get("error_kind", "error")] = failures.get(r.get("error_kind", "error"), 0) + 1
    aux_counts = {s: sum(len((r.get("aux") or {}).get(s, [])) for r in scored) for s in ("asr", "ocr", "det", "subtitles")}
    timings = {k: round(v, 2) for k, v in {**pipeline.timings, **wrapper.timings}.items()}
    metrics = {
        "model": cfg.model.name,
        "task": cfg.task.name,
        "frames": int(cfg.frames),
        "rag": {"asr": rag.asr, "ocr": rag.ocr, "det": rag.det, "subtitles": rag.subtitles, "threshold": rag.threshold,
                "preset": cfg.rag.get("preset"), "label": rag.label(), "order": rag.order},
        "accuracy": accuracy(scored),
        "n": len(scored),
        "n_failed": sum(1 for r in scored if r.get("error")),
        "n_unanswered": sum(1 for r in scored if not r.get("prediction")),
        "failures": failures,
        "by_category": acc_by,
        "by_category_n": n_by,
        "official": official_scores(schema.name, scored),
        "parser": cfg.parser,
        "aux_retrieved": aux_counts,
        "aux_tokens_mean": round(sum(r.get("aux_tokens", 0) for r in scored) / max(len(scored), 1), 1),
        "decoupling": {k: v for k, v in wrapper.counts.items() if k.startswith("decouple")},
        "resumed": wrapper.counts.get("resumed", 0),
        "cache": dict(pipeline.cache.stats),
        "models_loaded": pipeline.loaded_models(),
        "versions": versions(),
        "timings": timings,
    }
    return metrics, scored


def print_summary(metrics: dict[str, Any], cell: Path, skipped: bool = False) -> None:
    rag = metrics["rag"]
    lines = [
        f"videorag_eval: {metrics['model']} on {metrics['task']}, {metrics['frames']} frames, rag={rag.get('label')}"
        + ("  (finished earlier; not run again)" if skipped else ""),
        f"  accuracy {metrics['accuracy']:.1f}% over n={metrics['n']} questions; failed {metrics['n_failed']}"
        + (f" {metrics['failures']}" if metrics.get("failures") else "") + f"; parser={metrics['parser']}",
    ]
    official = {k: v for k, v in (metrics.get("official") or {}).items() if isinstance(v, (int, float))}
    if official and set(official) != {"videomme_accuracy"}:
        lines.append("  official: " + ", ".join(f"{k} {v:.1f}" for k, v in official.items()))
    for key, groups in metrics.get("by_category", {}).items():
        if key in ("source", "duration", "duration_group", "task_type") and len(groups) <= 12:
            n = metrics.get("by_category_n", {}).get(key, {})
            lines.append(f"  by {key}: " + ", ".join(f"{g} {a:.1f} (n={n.get(g, '?')})" for g, a in groups.items()))
    aux = metrics.get("aux_retrieved", {})
    lines.append("  auxiliary texts retrieved: " + ", ".join(f"{s} {c}" for s, c in aux.items() if c) if any(aux.values())
                 else "  auxiliary texts retrieved: none")
    t = metrics.get("timings", {})
    lines.append(f"  time {t.get('total', 0):.1f} s (" + ", ".join(f"{k} {v:.1f}" for k, v in t.items() if k != "total" and v >= 0.05) + ")")
    lines.append(f"  cell: {cell}")
    print("\n".join(lines), flush=True)


def _log_to(path: Path) -> logging.Handler:
    handler = logging.FileHandler(path, encoding="utf-8")
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    logging.getLogger().addHandler(handler)
    return handler
