"""A cell's headline number: each benchmark's own official metric, named.

- Video-MME: accuracy over all questions (micro), as lmms-eval's ``videomme_perception_score`` and the
  official script (which, unlike us, leaves unanswered questions out; ours count as wrong);
- MLVU (dev, multiple choice): **M-Avg**, the mean of per-task-type accuracy, as MLVU's own script,
  lmms-eval's ``mlvu_dev`` aggregate and the paper. Over the task types *present*: when ``limit`` (or
  a partial copy) leaves some of the 7 types out, the mean is over the types present, and the fields
  name them (lmms-eval divides by 7 whatever is present: ``official.mlvu_macro_7_types``);
- LongVideoBench: accuracy over all questions (micro), in percent (lmms-eval reports a fraction).

``accuracy_micro`` (correct / questions) always stands beside the headline.
"""

from __future__ import annotations

from typing import Any, Sequence

from .parsers import MLVU_TASK_TYPES, accuracy

METRICS = {  # schema -> (metric name, what it is)
    "videomme": ("videomme_accuracy", "Video-MME accuracy: correct / questions"),
    "mlvu": ("mlvu_m_avg", "MLVU M-Avg: mean of per-task-type accuracy"),
    "longvideobench": ("lvb_accuracy", "LongVideoBench accuracy: correct / questions, in percent"),
}


# How each benchmark is named wherever a number is shown (tables, CSV headers, the console summary): the split
# and, for MLVU, the metric, so that a number is never read as another split's ("MLVU" alone is often test).
TASK_LABELS = {"videomme": "Video-MME", "mlvu": "MLVU dev (M-Avg)", "longvideobench": "LVB val"}


def task_label(task: str) -> str:
    """``mlvu`` -> "MLVU dev (M-Avg)", ``longvideobench`` -> "LVB val"; other tasks keep their name."""
    return TASK_LABELS.get(str(task), str(task))


def _task_type(record: dict[str, Any]) -> str | None:
    return (record.get("categories") or {}).get("task_type")


def mlvu_m_avg(records: Sequence[dict[str, Any]]) -> tuple[float, list[str]]:
    """(mean of per-type accuracy over the types present, those types in MLVU's order; unknown types after).
    A question that failed before its doc was read has no type: it counts in no type."""
    present = [t for t in MLVU_TASK_TYPES if any(_task_type(r) == t for r in records)]
    present += sorted({t for r in records if (t := _task_type(r)) and t not in MLVU_TASK_TYPES})
    if not present:
        return 0.0, []
    per_type = [accuracy([r for r in records if _task_type(r) == t]) for t in present]
    return round(sum(per_type) / len(per_type), 2), present


def headline_fields(schema: str, records: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """``accuracy`` (the benchmark's official metric), ``accuracy_micro``, ``accuracy_metric`` (its name),
    ``accuracy_definition``; for MLVU also ``accuracy_over_types`` and, when types are missing, a note."""
    name, definition = METRICS.get(schema, ("accuracy_micro", "correct / questions"))
    micro = accuracy(records)
    fields: dict[str, Any] = {"accuracy": micro, "accuracy_micro": micro, "accuracy_metric": name,
                              "accuracy_definition": definition}
    if schema == "mlvu":
        value, types = mlvu_m_avg(records)
        fields["accuracy"] = value
        fields["accuracy_over_types"] = types
        missing = [t for t in MLVU_TASK_TYPES if t not in types]
        untyped = sum(1 for r in records if not _task_type(r))
        fields["accuracy_definition"] = definition + f", over the {len(types)} task type(s) present"
        notes = []
        if missing:
            notes.append(f"over the {len(types)} of {len(MLVU_TASK_TYPES)} MLVU task types present "
                         f"(missing: {', '.join(missing)}); lmms-eval's mlvu_dev divides by all 7 "
                         "(official.mlvu_macro_7_types)")
        if untyped:  # failed before their row was read: no type to count them in
            fields["accuracy_untyped"] = untyped
            notes.append(f"{untyped} question(s) failed before their task type was read: in no type's accuracy "
                         "(accuracy_micro and n_failed count them)")
        if notes:
            fields["accuracy_note"] = "; ".join(notes)
    return fields


def headline_value(schema: str, records: Sequence[dict[str, Any]]) -> float:
    return headline_fields(schema, records)["accuracy"]
