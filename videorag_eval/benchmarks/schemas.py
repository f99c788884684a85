"""Benchmark doc schemas: how a dataset row becomes a typed ``Question`` with its categories.

One schema per benchmark family (Video-MME, MLVU, LongVideoBench); the demo uses Video-MME's.
A malformed row raises ``row_checks.BadRow`` (a data failure of that question, naming the column).
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass
from typing import Any, Callable, Mapping

from ..core.records import Question
from . import row_checks

_LETTER_PREFIX = re.compile(r"^\s*\(?([A-Z])[.)]\s*")


def strip_letter(option: str, letter: str | None = None) -> str:
    """The option's text without its "A. " / "(A) " prefix; with ``letter``, only that letter's prefix
    is stripped (option I of twelve keeps no "I. ", and "U.S. Army" as option A keeps its "U.")."""
    m = _LETTER_PREFIX.match(str(option))
    if m is None or (letter is not None and m.group(1) != letter):
        return str(option).strip()
    return str(option)[m.end():].strip()


# The columns that make a row the question it is, per benchmark: its question, options and answer key
_ASKED = {
    "videomme": ("question", "options", "answer"),
    "mlvu": ("question", "candidates", "answer"),
    "longvideobench": ("question", "option0", "option1", "option2", "option3", "option4", "correct_choice"),
}


def _plain(value: Any) -> Any:
    """A row's value as JSON can hold it (pandas/pyarrow give numpy arrays and scalars)."""
    if hasattr(value, "tolist"):
        return value.tolist()
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value


@dataclass(frozen=True)
class Schema:
    name: str
    to_question: Callable[[Mapping[str, Any], int, str], Question]
    category_keys: tuple[str, ...]

    def fingerprint(self, doc: Mapping[str, Any], doc_id: int) -> dict[str, str]:
        """What a journal line must match to be kept for this row (``journal.py``): the question's id and a
        hash of its question, options and answer key as the row holds them (a malformed row too)."""
        asked = [_plain(doc.get(k)) for k in _ASKED[self.name]]
        blob = json.dumps(asked, sort_keys=True, ensure_ascii=False, default=str)
        return {"question_id": row_checks.question_id(self.name, doc, doc_id),
                "sha256": hashlib.sha256(blob.encode("utf-8")).hexdigest()[:16]}


def _videomme(doc: Mapping[str, Any], doc_id: int, video: str) -> Question:
    row_checks.check("videomme", doc, doc_id)
    cats = {k: str(doc[k]) for k in ("duration", "domain", "sub_category", "task_type") if k in doc}
    if "source" in doc:  # the demo tags which source answers each question
        cats["source"] = str(doc["source"])
    return Question(
        doc_id=doc_id,
        question_id=str(doc["question_id"]),
        video=video,
        question=str(doc["question"]),
        options=tuple(strip_letter(o, row_checks.LETTERS[i]) for i, o in enumerate(doc["options"])),
        answer=str(doc["answer"]).strip().upper(),
        categories=cats,
    )


def _mlvu(doc: Mapping[str, Any], doc_id: int, video: str) -> Question:
    # MLVU puts the options inside the question as "(A) ..." lines; candidates hold their texts.
    row_checks.check("mlvu", doc, doc_id)
    text = str(doc["question"])
    stem = re.split(r"\n\s*\(?A[.)]", text, maxsplit=1)[0].strip()
    return Question(
        doc_id=doc_id,
        question_id=str(doc.get("question_id", doc_id)),
        video=video,
        question=stem,
        options=tuple(str(c) for c in doc["candidates"]),
        answer=str(doc["answer"]).strip().upper(),
        categories={"task_type": str(doc["task_type"]), **({"source": str(doc["source"])} if "source" in doc else {})},
    )


def _longvideobench(doc: Mapping[str, Any], doc_id: int, video: str) -> Question:
    row_checks.check("longvideobench", doc, doc_id)
    options = tuple(str(doc[f"option{i}"]) for i in range(5) if f"option{i}" in doc and str(doc[f"option{i}"]) != "N/A")
    return Question(
        doc_id=doc_id,
        question_id=str(doc["id"]),
        video=video,
        question=str(doc["question"]),
        options=options,
        answer=row_checks.LETTERS[int(doc["correct_choice"])],
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
