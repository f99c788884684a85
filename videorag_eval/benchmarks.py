"""Benchmark doc schemas: how a dataset row becomes a typed ``Question`` with its categories.

One schema per benchmark family (Video-MME, MLVU, LongVideoBench); the demo uses Video-MME's.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Callable, Mapping

from .records import Question

_LETTER_PREFIX = re.compile(r"^\s*\(?([A-H])[.)]\s*")


def strip_letter(option: str) -> str:
    return _LETTER_PREFIX.sub("", str(option), count=1).strip()


@dataclass(frozen=True)
class Schema:
    name: str
    to_question: Callable[[Mapping[str, Any], int, str], Question]
    category_keys: tuple[str, ...]


def _videomme(doc: Mapping[str, Any], doc_id: int, video: str) -> Question:
    cats = {k: str(doc[k]) for k in ("duration", "domain", "sub_category", "task_type") if k in doc}
    if "source" in doc:  # the demo tags which source answers each question
        cats["source"] = str(doc["source"])
    return Question(
        doc_id=doc_id,
        question_id=str(doc["question_id"]),
        video=video,
        question=str(doc["question"]),
        options=tuple(strip_letter(o) for o in doc["options"]),
        answer=str(doc["answer"]).strip() or None,
        categories=cats,
    )


def _mlvu(doc: Mapping[str, Any], doc_id: int, video: str) -> Question:
    # MLVU puts the options inside the question as "(A) ..." lines; candidates hold their texts.
    text = str(doc["question"])
    stem = re.split(r"\n\s*\(?A[.)]", text, maxsplit=1)[0].strip()
    return Question(
        doc_id=doc_id,
        question_id=str(doc.get("question_id", doc_id)),
        video=video,
        question=stem,
        options=tuple(str(c) for c in doc["candidates"]),
        answer=str(doc["answer"]).strip() or None,
        categories={"task_type": str(doc["task_type"]), **({"source": str(doc["source"])} if "source" in doc else {})},
    )


def _longvideobench(doc: Mapping[str, Any], doc_id: int, video: str) -> Question:
    options = tuple(str(doc[f"option{i}"]) for i in range(5) if f"option{i}" in doc and str(doc[f"option{i}"]) != "N/A")
    return Question(
        doc_id=doc_id,
        question_id=str(doc["id"]),
        video=video,
        question=str(doc["question"]),
        options=options,
        answer="ABCDE"[int(doc["correct_choice"])],
        categories={"duration_group": str(doc["duration_group"]), "question_category": str(doc["question_category"]),
                    **({"source": str(doc["source"])} if "source" in doc else {})},
    )


SCHEMAS = {
    "videomme": Schema("videomme", _videomme, ("duration", "domain", "sub_category", "task_type", "source")),
    "mlvu": Schema("mlvu", _mlvu, ("task_type",)),
    "longvideobench": Schema("longvideobench", _longvideobench, ("duration_group", "question_category")),
}


def get_schema(name: str) -> Schema:
    try:
        return SCHEMAS[name]
    except KeyError:
        raise ValueError(f"unknown task schema {name!r}; known: {', '.join(SCHEMAS)}") from None
