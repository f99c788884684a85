"""Answer parsing and accuracy, overall and by category, from a cell's per-question records.

Two parsers, recorded in metrics.json because they give different numbers on the same outputs:
- ``lmms_eval``: lmms-eval 0.7.3's lenient ``extract_mcq_answer`` (what its Video-MME/MLVU tasks use);
- ``paper``: the paper-era rules (Video-MME script: strip answer prefixes, first option letter; a long
  answer with no letter is unanswered).
Failed questions (no prediction) count as wrong: accuracy is over all questions of the cell.
"""

from __future__ import annotations

import re
from collections import defaultdict
from typing import Any, Callable, Iterable, Sequence

_PAPER_PREFIXES = (
    "The best answer is", "The correct answer is", "The answer is", "The answer", "The best option is",
    "The correct option is", "Best answer:", "Best option:", "Answer:", "Option:", "The correct answer", "The correct option",
)


def parse_lmms_eval(response: str, letters: Sequence[str]) -> str:
    from lmms_eval.tasks._task_utils.mcq_extract import extract_mcq_answer

    return extract_mcq_answer(response or "", choices=list(letters)) or ""


def parse_paper(response: str, letters: Sequence[str]) -> str:
    s = (response or "").strip()
    for prefix in _PAPER_PREFIXES:
        s = s.replace(prefix, "")
    allowed = "".join(letters)
    if len(s.split()) > 10 and not re.search(f"[{allowed}]", s):
        return ""
    m = re.search(f"[{allowed}]", s)
    return m.group(0) if m else ""


PARSERS: dict[str, Callable[[str, Sequence[str]], str]] = {"lmms_eval": parse_lmms_eval, "paper": parse_paper}


def get_parser(name: str) -> Callable[[str, Sequence[str]], str]:
    try:
        return PARSERS[name]
    except KeyError:
        raise ValueError(f"parser must be one of {sorted(PARSERS)}, got {name!r}") from None


def score_records(records: Iterable[dict[str, Any]], parser: str, letters_of: Callable[[dict], Sequence[str]]) -> list[dict[str, Any]]:
    """Adds ``parsed`` and ``correct`` to each record (copies)."""
    parse = get_parser(parser)
    out = []
    for rec in records:
        rec = dict(rec)
        pred = rec.get("prediction") or ""
        rec["parsed"] = parse(pred, letters_of(rec)) if pred else ""
        rec["correct"] = bool(rec.get("answer")) and rec["parsed"].upper() == str(rec["answer"]).upper()
        out.append(rec)
    return out


def accuracy(records: Sequence[dict[str, Any]]) -> float:
    return round(100.0 * sum(r["correct"] for r in records) / len(records), 2) if records else 0.0


def by_category(records: Sequence[dict[str, Any]], keys: Sequence[str]) -> tuple[dict[str, dict[str, float]], dict[str, dict[str, int]]]:
    """({category key: {group: accuracy %}}, {category key: {group: n}}) for every key present."""
    acc: dict[str, dict[str, float]] = {}
    counts: dict[str, dict[str, int]] = {}
    for key in keys:
        groups: dict[str, list] = defaultdict(list)
        for r in records:
            value = (r.get("categories") or {}).get(key)
            if value is not None:
                groups[value].append(r)
        if groups:
            acc[key] = {g: accuracy(rs) for g, rs in sorted(groups.items())}
            counts[key] = {g: len(rs) for g, rs in sorted(groups.items())}
    return acc, counts
