"""A finished cell's ``metrics.json``: scores, counts, provenance and timings from its records."""

from __future__ import annotations

from typing import Any

from omegaconf import DictConfig

from .benchmarks import get_schema
from .pipeline import AuxPipeline
from .settings import RagSettings


def cell_metrics(cfg: DictConfig, records: list[dict[str, Any]], wrapper, pipeline: AuxPipeline):
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
