"""Reading the model's decoupling reply into a :class:`DecoupledRequest`.

Small and mid-sized video LLMs rarely emit clean JSON. The reply is first read as strict JSON
(the first object in it that has any of ASR / DET / TYPE, possibly nested or among prose); if
there is none, ``json-repair`` repairs the text (code fences, single quotes, ``None``, trailing
commas, bare keys, truncation, ...). ``DecoupledRequest.syntax`` records which: ``valid`` or
``repaired``. The values are then coerced to the request's types, and every coercion is a note in
``DecoupledRequest.reason`` (``None`` only for clean output).

Decisions worth knowing:

* An object whose keys are all ``null`` (or empty lists) is a valid answer meaning "nothing beyond
  the question is needed": ``ok=True`` with ``asr``, ``det`` and ``types`` all ``None``.
* An empty ``DET`` or ``TYPE`` list is read as ``None`` (no note: it means the same).
* A key whose value has an unusable type (number, bool, dict) is treated as absent and noted. If
  *every* ASR/DET/TYPE key present is unusable, the result is ``ok=False``.
* Keys missing from an otherwise usable object are taken as ``null`` and noted.
* With several objects in the output, the first one having any of ASR/DET/TYPE wins.
* A reply cut off inside a DET string (the model ran out of tokens) loses that partial entity.
"""

from __future__ import annotations

import json
import re
from typing import Any

from ...core.records import DecoupledRequest, canonical_type
from .prompt import MAX_DET

KEYS = ("ASR", "DET", "TYPE")
_MAX_CANDIDATES = 64
_MAX_REPAIR_CHARS = 20_000
_NULL_WORDS = {"", "null", "none", "nil", "n/a", "na", "nothing", "not needed", "not applicable", "-"}

_KEY_ALIASES = {"asr": "ASR", "det": "DET", "type": "TYPE", "types": "TYPE"}


def _clean_phrase(value: str) -> str:
    return re.sub(r"\s+", " ", value).strip().strip("\"'`").strip().rstrip(".;").strip()


def _kind(value: Any) -> str:
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, (int, float)):
        return "number"
    if isinstance(value, dict):
        return "object"
    if isinstance(value, list):
        return "list"
    return type(value).__name__


def _read_asr(value: Any, notes: list[str]) -> tuple[str | None, bool]:
    """(ASR request, usable). ``usable`` is False only for a value of the wrong type."""
    if value is None:
        return None, True
    if isinstance(value, list) and value and all(isinstance(v, str) for v in value):
        parts = [_clean_phrase(v) for v in value if not _is_nullish(v)]
        _note(notes, "ASR given as a list, joined")
        return ("; ".join(p for p in parts if p) or None), True
    if not isinstance(value, str):
        _note(notes, f"ASR had the wrong type ({_kind(value)}), ignored")
        return None, False
    text = re.sub(r"\s+", " ", value).strip()
    if _is_nullish(text):
        if text.lower() != "":
            _note(notes, f"ASR was the string {value.strip()!r}, read as null")
        else:
            _note(notes, "ASR was an empty string, read as null")
        return None, True
    return text, True


_NOT_A_LIST = object()


def _list_items(value: Any, key: str, splitter: str, how: str, notes: list[str]) -> Any:
    """The entries of a DET / TYPE value: a list as is, a string split on ``splitter``; None for null
    (or a null-like string); ``_NOT_A_LIST`` (noted) for any other type."""
    if value is None:
        return None
    if isinstance(value, str):
        if _is_nullish(value):
            _note(notes, f"{key} was the string {value.strip()!r}, read as null")
            return None
        _note(notes, f"{key} given as a string, {how}")
        return re.split(splitter, value)
    if isinstance(value, list):
        return value
    _note(notes, f"{key} had the wrong type ({_kind(value)}), ignored")
    return _NOT_A_LIST


def _read_det(value: Any, notes: list[str]) -> tuple[tuple[str, ...] | None, bool]:
    items = _list_items(value, "DET", r"[,;\n]+", "split on commas", notes)
    if items is None or items is _NOT_A_LIST:
        return None, items is None
    kept: list[str] = []
    seen: set[str] = set()
    dropped_blank = dropped_type = 0
    duplicates: list[str] = []
    for item in items:
        if item is None:
            dropped_blank += 1
            continue
        if not isinstance(item, str):
            dropped_type += 1
            continue
        phrase = _clean_phrase(item)
        if not phrase or _is_nullish(phrase):
            dropped_blank += 1
            continue
        key = phrase.lower()
        if key in seen:
            duplicates.append(phrase)
            continue
        seen.add(key)
        kept.append(phrase)
    if dropped_type:
        _note(notes, f"dropped {dropped_type} DET entries that were not strings")
    if dropped_blank:
        _note(notes, f"dropped {dropped_blank} blank DET entries")
    if duplicates:
        _note(notes, f"dropped duplicate DET entities: {', '.join(duplicates)}")
    if len(kept) > MAX_DET:
        _note(notes, f"DET had {len(kept)} entities, kept the first {MAX_DET}")
        kept = kept[:MAX_DET]
    return (tuple(kept) or None), True


def _read_types(value: Any, notes: list[str]) -> tuple[tuple[str, ...] | None, bool]:
    items = _list_items(value, "TYPE", r"[,;/|\n]+|\s+and\s+|\s*&\s*", "split", notes)
    if items is None or items is _NOT_A_LIST:
        return None, items is None
    kept: list[str] = []
    renamed: list[str] = []
    unknown: list[str] = []
    dropped_type = 0
    for item in items:
        if item is None:
            continue
        if not isinstance(item, str):
            dropped_type += 1
            continue
        if _is_nullish(item):
            continue
        canon = canonical_type(item)
        if canon is None:
            unknown.append(item.strip())
            continue
        if canon != item:
            renamed.append(f"{item.strip()}->{canon}")
        if canon not in kept:
            kept.append(canon)
    if renamed:
        _note(notes, f"normalised TYPE values: {', '.join(renamed)}")
    if unknown:
        _note(notes, f"dropped unknown TYPE values: {', '.join(unknown)}")
    if dropped_type:
        _note(notes, f"dropped {dropped_type} TYPE entries that were not strings")
    return (tuple(kept) or None), True


def _known_keys(obj: dict) -> dict[str, str]:
    """Map canonical key -> the key as written, for the first spelling of each."""
    found: dict[str, str] = {}
    for key in obj:
        if not isinstance(key, str):
            continue
        canon = _KEY_ALIASES.get(re.sub(r"[^a-z]", "", key.lower()))
        if canon and canon not in found:
            found[canon] = key
    return found


def _outside_note(text: str, start: int, end: int) -> str | None:
    before, after = text[:start].strip(), text[end:].strip()
    if not before and not after:
        return None
    if re.fullmatch(r"```[\w-]*", before) and after in ("", "```"):
        return "removed code fence"
    return "ignored text around the JSON object"


def _build(obj: dict, found: dict[str, str], notes: list[str], raw: str, syntax: str) -> DecoupledRequest:
    renamed = [f"{written}->{canon}" for canon, written in found.items() if written != canon]
    if renamed:
        _note(notes, f"renamed keys: {', '.join(renamed)}")
    missing = [k for k in KEYS if k not in found]
    if missing:
        _note(notes, f"missing {', '.join(missing)} (taken as null)")
    asr, asr_ok = _read_asr(obj[found["ASR"]], notes) if "ASR" in found else (None, False)
    det, det_ok = _read_det(obj[found["DET"]], notes) if "DET" in found else (None, False)
    types, types_ok = _read_types(obj[found["TYPE"]], notes) if "TYPE" in found else (None, False)
    if not (asr_ok or det_ok or types_ok):
        return fallback_request("JSON object has ASR/DET/TYPE but no usable value: " + "; ".join(notes), raw)
    return DecoupledRequest(asr=asr, det=det, types=types, ok=True, reason="; ".join(notes) or None, raw=raw,
                            syntax=syntax)


def fallback_request(reason: str, raw: str | None = None, raised: bool = False) -> DecoupledRequest:
    """A request meaning "decoupling gave nothing": retrieval uses the question and options only."""
    return DecoupledRequest(asr=None, det=None, types=None, ok=False, reason=reason, raw=raw, raised=raised)


def parse_decoupling(raw: str) -> DecoupledRequest:
    """Read the model's decoupling output (see module doc).

    ``ok=True``: an object with at least one of ASR/DET/TYPE was found; ``reason`` lists the
    coercions (``None`` when the output was clean JSON). ``ok=False``: nothing usable; ``reason``
    says why and the caller retrieves with the question and options only. ``raw`` is always kept.
    """
    if raw is None:
        return fallback_request("no output from the model", None)
    if not isinstance(raw, str):
        return fallback_request(f"model output is a {type(raw).__name__}, not text", repr(raw))
    text = raw.strip()
    if not text:
        return fallback_request("empty output", raw)
    starts = [m.start() for m in re.finditer(r"\{", text)][:_MAX_CANDIDATES]
    if not starts:
        return fallback_request("no JSON object in output", raw)

    # 1. strict JSON: the first object (possibly nested) with a known key
    decoder = json.JSONDecoder()
    first_error: str | None = None
    first_keys: list[str] | None = None
    skipped = False
    for start in starts:
        try:
            value, end = decoder.raw_decode(text, start)
        except ValueError as exc:
            first_error = first_error or str(exc)
            continue
        obj = _find_request(value)
        if obj is None:
            if isinstance(value, dict) and first_keys is None:
                first_keys = [str(k) for k in value]
            skipped = True
            continue
        notes: list[str] = []
        if outside := _outside_note(text, start, end):
            notes.append(outside)
        if skipped:
            notes.append("skipped earlier braces that held no ASR/DET/TYPE object")
        return _build(obj, _known_keys(obj), notes, raw, syntax="valid")

    # 2. repaired JSON
    repaired = _repair(text[starts[0]:])
    obj = _find_request(repaired)
    if obj is not None:
        notes = ["repaired malformed JSON"]
        if text.startswith("```"):
            notes.insert(0, "removed code fence")
        body = text[starts[0]:]
        if body.count("{") > body.count("}"):
            notes.append("closed a truncated JSON object")
            if _ends_inside_string(body):
                _drop_cut_entity(obj, body, notes)
        return _build(obj, _known_keys(obj), notes, raw, syntax="repaired")
    if first_keys is not None:
        listed = ", ".join(first_keys) if first_keys else "none"
        return fallback_request(f"JSON object has none of ASR/DET/TYPE (keys: {listed})", raw)
    if isinstance(repaired, dict) and repaired:
        return fallback_request(f"JSON object has none of ASR/DET/TYPE (keys: {', '.join(map(str, repaired))})", raw)
    return fallback_request(f"no parseable JSON object in output ({first_error or 'no object'})", raw)


def _repair(text: str) -> Any:
    """``json-repair``'s reading of a malformed reply (None when it cannot read one)."""
    import json_repair

    try:
        return json_repair.loads(text[:_MAX_REPAIR_CHARS])
    except (ValueError, RecursionError, TypeError):
        return None


def _find_request(value: Any, depth: int = 0) -> dict | None:
    """The first dict (breadth-first through nested dicts and lists) that has ASR, DET or TYPE."""
    queue = [value]
    while queue and depth < 10_000:
        depth += 1
        item = queue.pop(0)
        if isinstance(item, dict):
            if _known_keys(item):
                return item
            queue.extend(item.values())
        elif isinstance(item, list):
            queue.extend(item)
    return None


def _ends_inside_string(text: str) -> bool:
    """True when the reply stops inside a double-quoted string (cut off by the token limit)."""
    quotes = len(re.findall(r'(?<!\\)"', text))
    return quotes % 2 == 1


def _drop_cut_entity(obj: dict, body: str, notes: list[str]) -> None:
    """A reply cut off inside a string of the DET list: its last entity is a fragment ("tr" of "tree")."""
    open_list = re.search(r"""["']?([A-Za-z]+)["']?\s*:\s*[\[(][^\])]*$""", body)
    if not open_list or _KEY_ALIASES.get(open_list.group(1).lower()) != "DET":
        return
    key = _known_keys(obj).get("DET")
    value = obj.get(key) if key is not None else None
    if isinstance(value, list) and value and isinstance(value[-1], str):
        notes.append(f"dropped the cut-off last DET entity {value[-1]!r}")
        obj[key] = value[:-1]


def _note(notes: list[str], message: str) -> None:
    if message not in notes:
        notes.append(message)


def _is_nullish(value: str) -> bool:
    return value.strip().strip(".").strip().lower() in _NULL_WORDS
