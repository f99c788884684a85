"""Answer parsing and accuracy, overall and by category, from a cell's per-question records.

Two parsers, recorded in metrics.json because they give different numbers on the same outputs:
- ``lmms_eval``: lmms-eval 0.7.3's lenient ``extract_mcq_answer`` (what its Video-MME/MLVU tasks use);
- ``paper``: the paper-era rules (Video-MME script: strip answer prefixes, first option letter; a long
  answer with no letter is unanswered).
Failed questions (no prediction) count as wrong: accuracy is over all questions of the cell.
"""

from __future__ import annotations

import random
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


def parse_mlvu_paper(response: str, letters: Sequence[str]) -> str:
    """MLVU-era rule: the option letter written before ')' (the prompt ends in "Best option: ("),
    else the first option letter."""
    s = (response or "").strip()
    allowed = "".join(letters)
    m = re.search(f"([{allowed}])\\s*\\)", s) or re.search(f"([{allowed}])", s)
    return m.group(1) if m else ""


_NO_LETTER = "\x00"  # offered to lmms-eval's parser as the only "choice": its random pick then says "no letter found"


def read_longvideobench(response: str) -> str:
    """The letter LongVideoBench's rule reads from a response, "" when it finds none (where its random
    fallback would pick one)."""
    from lmms_eval.tasks.longvideobench.utils import parse_multi_choice_response

    parsed = parse_multi_choice_response(response or "", [_NO_LETTER], {})
    return "" if parsed == _NO_LETTER else parsed


def parse_longvideobench(response: str, letters: Sequence[str], fallback_key: str = "", seed: int = 0) -> str:
    """LongVideoBench's own rule, by lmms-eval's own ``parse_multi_choice_response`` (as the paper's author
    wrote it): strip answer prefixes, then the first of ``[ABCDE]`` anywhere (whatever the question's
    options), else a random letter. Here the random letter is seeded per question (seed, question id), so
    the same predictions always give the same score; lmms-eval's is unseeded."""
    return read_longvideobench(response) or random.Random(f"{seed}:{fallback_key}").choice(list(letters))


# The official Video-MME scorer, ``eval_your_results.py`` (MME-Benchmarks/Video-MME, commit 4e7566d): its
# answer extractor, followed to the letter. Its prefix list lacks two commas, so Python joins two pairs of
# adjacent string literals into one prefix each; "The best option is", "The correct option is",
# "Best answer:" and "Best option:" are therefore never stripped on their own ("Best answer: C" reads "B",
# the B of "Best"). Kept as written: it is what the published numbers were scored with.
VIDEOMME_SCRIPT_PREFIXES = (
    "The best answer is",
    "The correct answer is",
    "The answer is",
    "The answer",
    "The best option is" "The correct option is",  # one string: the script's missing comma
    "Best answer:" "Best option:",  # one string: the script's missing comma
)


def parse_videomme_script(response: str) -> str:
    """The official Video-MME script's reading of a response: strip the prefixes above, then the first
    capital A-D anywhere, else "" (the script's "more than 10 words and no A-D gives up" comes to the same:
    with no A-D there is nothing to read either way)."""
    s = (response or "").strip()
    for prefix in VIDEOMME_SCRIPT_PREFIXES:
        s = s.replace(prefix, "")
    found = re.search("[ABCD]", s)
    return found.group(0) if found else ""


def videomme_script_scores(records: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """Video-MME accuracy as its official script computes it: over the answers its extractor reads
    (``if extraction != "": answered += 1``); an unreadable answer (and a question never asked, which has
    none) leaves the denominator, where lmms-eval's ``videomme_aggregate_results`` (our headline) counts it
    wrong."""
    read = [(r, parse_videomme_script(r.get("prediction") or "")) for r in records]
    answered = [(r, letter) for r, letter in read if letter]
    correct = sum(letter == str(r.get("answer") or "") for r, letter in answered)
    no_prediction = sum(1 for r in records if not r.get("prediction"))
    return {
        "accuracy": round(100.0 * correct / len(answered), 2) if answered else None,
        "correct": correct,
        "answered": len(answered),
        "left_out": len(records) - len(answered),
        "unreadable": len(records) - len(answered) - no_prediction,  # answers its extractor cannot read
        "no_prediction": no_prediction,  # questions never asked (n_failed) or answered with nothing
        "script": "eval_your_results.py, MME-Benchmarks/Video-MME @4e7566d (its answer-prefix list as written, "
                  "two missing commas included)",
    }


PARSERS = ("lmms_eval", "paper")


def parser_for(parser: str, schema: str, seed: int = 0) -> Callable[[str, Sequence[str], str], str]:
    """(response, letters, question_id) -> parsed letter, for a parser name and a task schema."""
    if parser not in ("lmms_eval", "paper"):
        raise ValueError(f"parser must be lmms_eval or paper, got {parser!r}")
    if schema == "longvideobench":
        return lambda r, letters, qid: parse_longvideobench(r, letters, qid, seed)
    if parser == "lmms_eval":
        # lmms-eval 0.7.3's Video-MME and MLVU tasks always offer choices A-D to the extractor; a question
        # with more options gets all its letters (A-D would make an answer past D impossible to get right)
        return lambda r, letters, qid: parse_lmms_eval(r, "ABCD" if len(letters) <= 4 else letters)
    if schema == "mlvu":
        return lambda r, letters, qid: parse_mlvu_paper(r, letters)
    return lambda r, letters, qid: parse_paper(r, letters)


def score_records(records: Iterable[dict[str, Any]], parser: str, schema: str = "videomme", seed: int = 0) -> list[dict[str, Any]]:
    """Adds ``parsed``, ``correct`` and ``unparsable`` to each record (copies). A failed question (no
    prediction) is unparsed and wrong (and not unparsable: it has no answer to read, ``n_unanswered``).
    ``unparsable``: an answer the parser could not read a letter from; it counts wrong (LongVideoBench's rule
    gives it a random letter, which may happen to be right)."""
    parse = parser_for(parser, schema, seed)
    out = []
    for rec in records:
        rec = dict(rec)
        pred = rec.get("prediction") or ""
        rec["parsed"] = parse(pred, rec.get("letters") or "ABCD", str(rec.get("question_id"))) if pred else ""
        rec["correct"] = bool(rec.get("answer")) and rec["parsed"].upper() == str(rec["answer"]).upper()
        rec["unparsable"] = bool(pred) and not (read_longvideobench(pred) if schema == "longvideobench" else rec["parsed"])
        out.append(rec)
    return out


MLVU_TASK_TYPES = ("anomaly_reco", "count", "ego", "needle", "order", "plotQA", "topic_reasoning")


def official_scores(schema: str, records: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """The benchmark's headline number as its own tooling computes it, beside our micro accuracy."""
    if schema == "mlvu":
        per_type = {t: accuracy([r for r in records if (r.get("categories") or {}).get("task_type") == t])
                    for t in MLVU_TASK_TYPES}
        # a question that failed before its doc was read has no categories: it counts in no type
        present = [t for t in MLVU_TASK_TYPES if any((r.get("categories") or {}).get("task_type") == t for r in records)]
        return {
            "mlvu_macro_7_types": round(sum(per_type.values()) / len(MLVU_TASK_TYPES), 2),
            "mlvu_macro_present_types": round(sum(per_type[t] for t in present) / len(present), 2) if present else 0.0,
            "note": "MLVU's official score is the mean of per-type accuracy over all 7 types, absent types "
                    "counted as 0; on a subset it is deflated, so the mean over the types present is given too.",
        }
    if schema == "longvideobench":
        return {"lvb_accuracy_percent": accuracy(records),
                "note": "lmms-eval reports LongVideoBench as a fraction 0-1; here in percent."}
    return {"videomme_accuracy": accuracy(records)}


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
