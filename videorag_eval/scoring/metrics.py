"""A finished cell's ``metrics.json``: scores, counts, provenance and timings from its records."""

from __future__ import annotations

from typing import Any

from omegaconf import DictConfig

from ..benchmarks.schemas import get_schema
from ..method.pipeline import AuxPipeline
from ..method.rag_settings import RagSettings


def score_fields(cfg: DictConfig, records: list[dict[str, Any]]) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """The parts of metrics.json that depend on the parser: (fields, scored records). Recomputed
    from stored predictions when only ``parser`` changes (no model is run again)."""
    from .headline import headline_fields, headline_value
    from .parsers import PARSERS, by_category, official_scores, score_records, videomme_script_scores

    schema = get_schema(cfg.task.schema)
    scored = score_records(records, cfg.parser, schema.name, int(cfg.seed))
    by_parser = {p: scored if p == cfg.parser else score_records(records, p, schema.name, int(cfg.seed)) for p in PARSERS}
    acc_by, n_by = by_category(scored, cfg.task.get("breakdowns") or schema.category_keys)
    failures: dict[str, int] = {}
    degraded: dict[str, int] = {}
    for r in scored:
        if r.get("error"):
            failures[r.get("error_kind") or "error"] = failures.get(r.get("error_kind") or "error", 0) + 1
        elif r.get("warnings"):
            for w in r["warnings"]:
                kind = w.get("kind", "warning") if isinstance(w, dict) else str(w)
                degraded[kind] = degraded.get(kind, 0) + 1
    fields = {
        **headline_fields(schema.name, scored),  # accuracy = the benchmark's official metric, named; accuracy_micro
        "n": len(scored),
        "n_failed": sum(1 for r in scored if r.get("error")),  # questions that could not be asked
        "n_degraded": sum(1 for r in scored if not r.get("error") and r.get("warnings")),  # answered with a warning
        "n_unanswered": sum(1 for r in scored if not r.get("prediction")),
        "n_unparsable": sum(1 for r in scored if r.get("unparsable")),  # an answer the parser read no letter from
        "failures": failures,
        "degraded": degraded,
        "by_category": acc_by,
        "by_category_n": n_by,
        "official": official_scores(schema.name, scored),
        "parser": cfg.parser,
        # the same predictions under every parser (the headline metric), so a parser change never needs a re-run
        "accuracy_by_parser": {p: headline_value(schema.name, rs) for p, rs in by_parser.items()},
        "unparsable_by_parser": {p: sum(1 for r in rs if r.get("unparsable")) for p, rs in by_parser.items()},
    }
    if schema.name == "videomme":  # the official script's number beside the headline (lmms-eval's): scoring.py
        script = videomme_script_scores(records)
        fields["accuracy_official_script"] = script["accuracy"]
        fields["official_script"] = script
    return fields, scored


def cell_metrics(cfg: DictConfig, records: list[dict[str, Any]], wrapper, pipeline: AuxPipeline):
    from ..runtime.provenance import environment, versions

    fields, scored = score_fields(cfg, records)
    rag = RagSettings.from_cfg(cfg.rag)
    aux_counts = {s: sum(len((r.get("aux") or {}).get(s, [])) for r in scored) for s in ("asr", "ocr", "det", "subtitles")}
    timings = {k: round(v, 2) for k, v in {**pipeline.timings, **wrapper.timings}.items()}
    metrics = {
        "model": cfg.model.name,
        "task": cfg.task.name,
        "frames": int(cfg.frames),
        "method": (cfg.get("method") or {}).get("name", "default"),
        "rag": {"asr": rag.asr, "ocr": rag.ocr, "det": rag.det, "subtitles": rag.subtitles, "threshold": rag.threshold,
                "retrieval": rag.retrieval, "preset": cfg.rag.get("preset"), "label": rag.label(), "order": rag.order},
        **fields,
        "aux_retrieved": aux_counts,
        "aux_tokens_mean": round(sum(r.get("aux_tokens", 0) for r in scored) / max(len(scored), 1), 1),
        "token_budget": budget_fields(pipeline, scored),  # documents dropped to fit the model's context
        **checkpoint_fields(cfg, wrapper),  # the checkpoint's own pooling, where the adapter keeps it (method=official)
        "decoupling": {"generated": wrapper.counts.get("decouple_generated", 0),
                       "cached": wrapper.counts.get("decouple_cached", 0),
                       **{k: v for k, v in wrapper.counts.items() if k in ("decouple_ok", "decouple_failed", "decouple_raised")}},
        "batching": wrapper.batching() if hasattr(wrapper, "batching") else None,  # inner calls per phase, batch sizes
        "resumed": wrapper.counts.get("resumed", 0),
        "cache": dict(pipeline.cache.stats),
        "computed": pipeline.computed(),
        "decoding": decoding(records, wrapper, pipeline),
        "models_loaded": pipeline.loaded_models(),
        "versions": versions(),
        "environment": environment(),  # the lock and whether this environment is it
        "timings": timings,
    }
    return metrics, scored


def decoding(records: list[dict[str, Any]], wrapper, pipeline: AuxPipeline) -> dict[str, Any]:
    """Video decoding of the cell: the harness's (files opened, frames decoded, frames served from its frame
    store; ``media.FrameStore``) per question, and the inner adapter's own reads, counted apart (it decodes
    the video itself; sharing frames with it would change what it sees)."""
    # this process's decoding, over the questions it asked (a resumed question was decoded by an earlier run)
    asked = len(records) - int(getattr(wrapper, "counts", {}).get("resumed", 0))
    out = pipeline.decoding(questions=max(asked, 0)) if hasattr(pipeline, "decoding") else {}
    if hasattr(wrapper, "adapter_decoding"):
        adapter = wrapper.adapter_decoding()
        if adapter["decodes_itself"]:  # the frames it reads per answer: its own rule, as recorded per question
            adapter["answer_frames"] = sum(len((r.get("frames") or {}).get("indices", [])) for r in records
                                           if not r.get("error")) if asked == len(records) else None
            if asked != len(records):  # records of earlier runs hold no trace of which process read what
                adapter["note"] = f"{len(records) - asked} questions resumed from an earlier run: answer_frames not counted"
        out["adapter"] = adapter
    return out


def checkpoint_fields(cfg: DictConfig, wrapper) -> dict[str, Any]:
    """``checkpoint_pooling``: the pooling the loaded checkpoint's config gave the model, where the adapter keeps it
    (``overwrite: false``; its tokens per frame follow it): the settings the number was made with."""
    from ..method.budget import from_checkpoint

    if not from_checkpoint(cfg):
        return {}
    pooling = getattr(wrapper, "checkpoint_pooling", None)  # the lmms-eval edge reads it off the loaded adapter
    return {"checkpoint_pooling": pooling() if callable(pooling) else None}


def budget_fields(pipeline: AuxPipeline, records: list[dict[str, Any]]) -> dict[str, Any]:
    """The cell's token budget and what it dropped, counted from every question's record."""
    budget = getattr(pipeline, "budget", None)
    dropped = [d for r in records for d in (r.get("aux_dropped") or [])]
    by_source: dict[str, int] = {}
    for d in dropped:
        by_source[d.get("source", "?")] = by_source.get(d.get("source", "?"), 0) + 1
    rules: dict[str, str] = {}
    for r in records:  # the rule of each kind of document the budget could drop (budget.DROP_RULES)
        rules.update((r.get("aux_budget") or {}).get("drop_rule") or {})
    return {**(budget.to_dict() if budget is not None else {"mode": "none", "tokens": None}),
            "docs_dropped": len(dropped), "dropped_by_source": by_source,
            "questions_with_drops": sum(1 for r in records if r.get("aux_dropped")),
            **({"drop_rules": rules} if rules else {})}


def rescore(cfg: DictConfig, metrics: dict[str, Any], samples: list[dict[str, Any]]):
    """A finished cell's metrics under ``cfg.parser``, from its stored raw predictions."""
    fields, scored = score_fields(cfg, samples)
    return {**metrics, **fields, "rescored_from": metrics.get("parser")}, scored
