"""Malformed benchmark rows: found, named, and kept from crashing lmms-eval.

A row whose question, options or answer key cannot be asked or scored (``options`` None or empty,
``question`` None, ``answer`` None, an answer key that is not one of the options' letters, more
options than letters, options not lettered as the benchmark's schema says) is a data failure of that
question (``bad_row``), like a missing video: the wrapper records it naming the column and the question,
the run goes on, it is never scored.

Option letters, per schema: Video-MME's ``options`` each carry their letter ("A. ...", also "(A) ..." or
"A) ..."), A, B, C... in order, each once; MLVU's question lists its ``candidates`` as "(A) ..." lines, one
per candidate, A, B, C... in order; LongVideoBench's ``option0..4`` carry no letter (lmms-eval letters
them by position), so an option after an "N/A" is a gap (lmms-eval's prompt skips it, its scoring stops
at the first "N/A": the letters would disagree).

Two places use the same check (``problem``):
- the task YAMLs' ``process_docs`` (``task_functions``): lmms-eval builds every prompt and scores
  every answer with its own functions, which crash on such a row and take the whole cell down;
  the row's malformed fields are replaced by empty ones they can read, and the row is tagged with
  ``BAD_ROW`` = what is wrong with the original row;
- ``benchmarks.Schema.to_question``: raises ``BadRow`` for a tagged row, or for an untagged one the
  check finds (a task run without our ``process_docs``).
"""

from __future__ import annotations

import re
import string
from typing import Any, Mapping

BAD_ROW = "videorag_bad_row"  # the column process_docs adds: "" or what is wrong with the original row
LETTERS = string.ascii_uppercase  # option letters: A..Z (more options than that is a bad row)


class BadRow(Exception):
    """A dataset row that cannot be asked or scored; a data failure of that question."""

    kind = "bad_row"

    def __init__(self, message: str, question_id: str | None = None):
        self.question_id = question_id
        super().__init__(message)


def _is_text(value: Any) -> bool:
    return isinstance(value, str) and value.strip() != ""


def _list(value: Any) -> list | None:
    if value is None or isinstance(value, (str, bytes, Mapping)):
        return None
    try:
        return list(value)  # list, tuple, numpy array (pandas/pyarrow give arrays)
    except TypeError:
        return None


def _options_problem(column: str, options: Any) -> str | None:
    items = _list(options)
    if items is None:
        return f"{column} is {options!r}, not a list of options"
    if len(items) < 2:
        return f"{column} has {len(items)} option(s); a multiple-choice question needs at least 2"
    if len(items) > len(LETTERS):
        return f"{column} has {len(items)} options; at most {len(LETTERS)} (A-Z) can be lettered"
    if any(not _is_text(o) for o in items):
        return f"{column} holds an empty or non-text option: {items!r}"
    return None


_LETTER = re.compile(r"^\s*\(?([A-Z])[.)]")  # an option's letter prefix, as benchmarks.strip_letter reads it


def _sequence_problem(where: str, letters: list[str | None], n: int) -> str | None:
    """Letters found (None: no prefix) against A, B, C... for ``n`` options: what is wrong, or None."""
    want = list(LETTERS[:n])
    if letters == want:
        return None
    shown = ", ".join(x or "(none)" for x in letters)
    repeated = sorted({x for x in letters if x and letters.count(x) > 1})
    if repeated:
        return f"{where} are lettered {shown}: {', '.join(repeated)} repeated; they must be {', '.join(want)}, each once"
    return f"{where} are lettered {shown}; they must be {', '.join(want)} in order"


def _videomme_letters(options: list) -> str | None:
    letters = [m.group(1) if (m := _LETTER.match(str(o))) else None for o in options]
    if None in letters:
        i = letters.index(None)
        return (f"options[{i}] is {options[i]!r}, without the letter prefix Video-MME's options carry "
                f"('{LETTERS[i]}. ...')")
    return _sequence_problem("the options", letters, len(options))


def _mlvu_letters(question: str, n: int) -> str | None:
    lines = question.split("\n")
    first = next((i for i, ln in enumerate(lines[1:], 1) if (m := _LETTER.match(ln)) and m.group(1) == "A"), None)
    if first is None:
        return "question lists no options as '(A) ...' lines (MLVU puts its candidates in the question)"
    letters = [m.group(1) for ln in lines[first:] if (m := _LETTER.match(ln))]
    return _sequence_problem(f"the question's option lines (for {n} candidates)", letters, n)


def _lvb_gap(doc: Mapping[str, Any]) -> str | None:
    present = [i for i in range(5) if f"option{i}" in doc]
    na = [i for i in present if doc[f"option{i}"] == "N/A"]
    after = [i for i in present if na and i > na[0] and doc[f"option{i}"] != "N/A"]
    if after:
        return (f"option{na[0]} is 'N/A' but option{after[0]} is not: lmms-eval's prompt would letter option{after[0]} "
                f"{LETTERS[na[0]]} and its scoring stop at option{na[0]}")
    return None


def _answer_problem(column: str, answer: Any, n_options: int) -> str | None:
    letters = LETTERS[:n_options]
    key = answer.strip() if isinstance(answer, str) else answer
    if not isinstance(key, str) or key.upper() not in letters or len(key) != 1:
        return f"{column} is {answer!r}, not one of the options' letters {letters[0]}-{letters[-1]}"
    return None


def _lvb_options(doc: Mapping[str, Any]) -> list[Any]:
    return [doc[f"option{i}"] for i in range(5) if f"option{i}" in doc and doc[f"option{i}"] != "N/A"]


def problem(schema: str, doc: Mapping[str, Any]) -> str | None:
    """What makes ``doc`` unaskable or unscorable (naming the column), or None for a good row."""
    if not _is_text(doc.get("question")):
        return f"question is {doc.get('question')!r}, not a question text"
    if schema == "longvideobench":
        options = _lvb_options(doc)
        if (why := _options_problem("option0..option4", options) or _lvb_gap(doc)) is not None:
            return why
        choice = doc.get("correct_choice")
        if isinstance(choice, bool) or not isinstance(choice, int) or not 0 <= choice < len(options):
            return f"correct_choice is {choice!r}, not the index of one of the {len(options)} options"
        return None
    column = "candidates" if schema == "mlvu" else "options"
    if (why := _options_problem(column, doc.get(column))) is not None:
        return why
    options = _list(doc.get(column))
    letters = _mlvu_letters(doc["question"], len(options)) if schema == "mlvu" else _videomme_letters(options)
    return letters or _answer_problem("answer", doc.get("answer"), len(options))


def question_id(schema: str, doc: Mapping[str, Any], doc_id: int) -> str:
    key = "id" if schema == "longvideobench" else "question_id"
    value = doc.get(key)
    return str(value) if value is not None else f"doc {doc_id}"


def check(schema: str, doc: Mapping[str, Any], doc_id: int) -> None:
    """BadRow naming the question and the column if ``doc`` is malformed (or was tagged so)."""
    why = doc.get(BAD_ROW) or problem(schema, doc)
    if why:
        qid = question_id(schema, doc, doc_id)
        raise BadRow(f"bad_row: question {qid}: {why}; the question is not asked or scored", qid)


def readable(schema: str, doc: Mapping[str, Any]) -> dict[str, Any]:
    """``doc`` with the malformed fields lmms-eval's prompt and scoring functions read replaced by
    empty ones (so they neither crash nor score it), tagged with ``BAD_ROW``."""
    why = problem(schema, doc)
    out = dict(doc)
    out[BAD_ROW] = why or ""
    if why is None:
        return out
    if not isinstance(out.get("question"), str):
        out["question"] = ""
    if schema == "longvideobench":
        for i in range(5):
            if f"option{i}" in out and not isinstance(out[f"option{i}"], str):
                out[f"option{i}"] = "N/A"
        if isinstance(out.get("correct_choice"), bool) or not isinstance(out.get("correct_choice"), int):
            out["correct_choice"] = -1
        return out
    column = "candidates" if schema == "mlvu" else "options"
    items = _list(out.get(column))
    out[column] = [str(o) if o is not None else "" for o in items] if items is not None else []
    if not isinstance(out.get("answer"), str):
        out["answer"] = ""
    return out
