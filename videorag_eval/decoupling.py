"""Query decoupling: ask the LVLM (text only) which auxiliary information a question needs.

The model sees the question with its lettered options and must reply with one JSON object::

    {"ASR": str | null, "DET": [entity, ...] | null, "TYPE": ["location" | "number" | "relation", ...] | null}

``ASR`` says what to look for in the speech transcript, ``DET`` lists at most five physical entities
to find in the frames (the same phrases drive OCR retrieval, there is no separate OCR request), and
``TYPE`` says which facts about the detected objects are wanted.

Small and mid-sized video LLMs rarely emit clean JSON, so :func:`parse_decoupling` is tolerant: it
finds the object inside prose or code fences, accepts Python-dict syntax, trailing commas, odd key
case, strings where lists are expected, and closes a truncated object when it can. Every repair is
listed in ``DecoupledRequest.reason``; ``reason`` is ``None`` only for clean output.

Decisions worth knowing:

* An object whose keys are all ``null`` (or empty lists) is a valid answer meaning "nothing beyond
  the question is needed": ``ok=True`` with ``asr``, ``det`` and ``types`` all ``None``. Retrieval
  then uses the question and options only, exactly as after a failure, but the record shows that
  the model was asked and answered.
* An empty ``DET`` or ``TYPE`` list is read as ``None`` (no note: it means the same).
* A key whose value has an unusable type (number, bool, dict) is treated as absent and noted. If
  *every* ASR/DET/TYPE key present is unusable, the result is ``ok=False``.
* Keys missing from an otherwise usable object are taken as ``null`` and noted.
* With several objects in the output, the first one having any of ASR/DET/TYPE wins.

Only the standard library is imported here.
"""

from __future__ import annotations

import json
import re
from typing import Any

from .records import SOURCES, DecoupledRequest, Question

__all__ = [
    "EXAMPLES",
    "MAX_DET",
    "TYPE_VALUES",
    "build_decoupling_prompt",
    "fallback_request",
    "parse_decoupling",
    "query_texts",
]

MAX_DET = 5
TYPE_VALUES = ("location", "number", "relation")
KEYS = ("ASR", "DET", "TYPE")

# Worked examples shown in the prompt: (question, options, expected JSON object).
EXAMPLES: tuple[tuple[str, tuple[str, ...], dict[str, Any]], ...] = (
    (
        "How many people are standing to the left of the red car when the race begins?",
        ("One", "Two", "Three", "Five"),
        {"ASR": None, "DET": ["person", "red car"], "TYPE": ["number", "relation"]},
    ),
    (
        "Where is the laptop placed when the woman starts typing?",
        ("On the sofa", "On the desk next to the lamp", "On the floor", "On the bookshelf"),
        {"ASR": None, "DET": ["laptop", "woman", "desk", "lamp", "sofa"], "TYPE": ["location"]},
    ),
    (
        "According to the narrator, in which year was the suspension bridge opened to traffic?",
        ("1883", "1907", "1937", "1964"),
        {"ASR": "the year the suspension bridge opened to traffic", "DET": None, "TYPE": None},
    ),
)

_NULL_WORDS = {"", "null", "none", "nil", "n/a", "na", "nothing", "not needed", "not applicable", "-"}

_TYPE_WORDS = {
    "location": "location locations position positions place places where coordinates",
    "number": "number numbers count counts counting quantity quantities amount num",
    "relation": "relation relations relationship relationships",
}
_TYPE_SYNONYMS = {word: canon for canon, words in _TYPE_WORDS.items() for word in words.split()}
_TYPE_SYNONYMS.update({"how many": "number", "spatial relation": "relation", "spatial relations": "relation"})
_TYPE_SYNONYMS.update({"relative position": "relation", "relative positions": "relation"})

_KEY_ALIASES = {"asr": "ASR", "det": "DET", "type": "TYPE", "types": "TYPE"}


# --------------------------------------------------------------------------------------------
# prompt
# --------------------------------------------------------------------------------------------
def _lettered(options: tuple[str, ...] | list[str], letters: str = "ABCDEFGH") -> list[str]:
    return [f"{letter}. {text}" for letter, text in zip(letters, options)]


def _example_json(obj: dict[str, Any]) -> str:
    return json.dumps(obj, ensure_ascii=False)


def build_decoupling_prompt(question: Question) -> str:
    """The text-only prompt that asks the model for the ASR/DET/TYPE request of ``question``."""
    parts: list[str] = [
        (
            "You will later answer a multiple-choice question about a long video, but you cannot see "
            "the video yet. First decide which extra information should be looked up to answer it. "
            "Three kinds of information can be extracted from the video: the speech transcript, the "
            "text written on screen, and the objects an object detector finds in the frames."
        ),
        "",
        "Reply with a single JSON object that has exactly these three keys:",
        (
            '- "ASR": a short description of what to search for in the speech transcript (what '
            "someone in the video might say that helps), or null when the speech is not useful."
        ),
        (
            f'- "DET": a list of at most {MAX_DET} concrete physical things that can be seen in the '
            "video (people, animals, objects, vehicles; no abstract ideas, actions or events), written "
            "as short noun phrases, or null when detecting objects would not help. These phrases are "
            "also used to search the on-screen text."
        ),
        (
            '- "TYPE": null, or a list chosen from "location", "number" and "relation", saying which '
            'facts about the detected objects are needed: "location" for where an object is in the '
            'frame, "number" for how many there are, "relation" for how objects are placed relative '
            'to each other. Use null when "DET" is null.'
        ),
        "Use JSON syntax: double quotes around strings and null (not None) for an empty key.",
        "",
    ]
    for i, (q, options, obj) in enumerate(EXAMPLES, start=1):
        parts.append(f"Example {i}")
        parts.append(f"Question: {q}")
        parts.append("Options:")
        parts.extend(_lettered(options))
        parts.append(f"Output: {_example_json(obj)}")
        parts.append("")
    parts.append("Now the real question.")
    parts.append(f"Question: {question.question}")
    parts.append("Options:")
    parts.extend(_lettered(question.options))
    parts.append("")
    parts.append(
        "Do not answer the question and do not explain anything. Output only the JSON object with the "
        'keys "ASR", "DET" and "TYPE".'
    )
    return "\n".join(parts)


# --------------------------------------------------------------------------------------------
# fallback and retrieval query
# --------------------------------------------------------------------------------------------
def fallback_request(reason: str, raw: str | None = None) -> DecoupledRequest:
    """A request meaning "decoupling gave nothing": retrieval uses the question and options only."""
    return DecoupledRequest(asr=None, det=None, types=None, ok=False, reason=reason, raw=raw)


def query_texts(question: Question, request: DecoupledRequest | None, source: str) -> list[str]:
    """Texts whose embeddings are averaged into the retrieval query for ``source``.

    Always the question and every option text (blank ones skipped); then, if the request was parsed
    (``ok``), the ASR request for ``"asr"`` or the DET entities joined with ", " for ``"ocr"`` and
    ``"det"``. A failed or missing request gives the question and options only.
    """
    src = source.lower()
    if src not in SOURCES:
        raise ValueError(f"unknown retrieval source {source!r}; expected one of {', '.join(SOURCES)}")
    texts = [t for t in (question.question, *question.options) if isinstance(t, str) and t.strip()]
    if request is None or not request.ok:
        return texts
    if src == "asr":
        if request.asr and request.asr.strip():
            texts.append(request.asr)
    elif request.det:
        texts.append(", ".join(request.det))
    return texts


# --------------------------------------------------------------------------------------------
# parser: finding and repairing the JSON object
# --------------------------------------------------------------------------------------------
_MAX_CANDIDATES = 64
_MAX_CUTS = 200
_STRING_FOLLOW = ",:}])"
_VALID_ESCAPES = set('"\\/bfnrtu')


def _next_nonspace(text: str, i: int) -> int:
    n = len(text)
    while i < n and text[i].isspace():
        i += 1
    return i


def _read_string(text: str, i: int, notes: list[str]) -> tuple[int | None, str]:
    """Read a quoted string starting at ``text[i]`` (either quote). Returns (index after it, JSON body).

    The body is escaped for a double-quoted JSON string. A quote of the opening kind closes the
    string only when followed by ``, : } ] )`` or the end of the text, so unescaped inner quotes and
    apostrophes survive. The index is ``None`` when the text ends inside the string.
    """
    quote = text[i]
    if quote == "'":
        _note(notes, "read single-quoted (Python-style) strings")
    n = len(text)
    j = i + 1
    body: list[str] = []
    while j < n:
        ch = text[j]
        if ch == "\\":
            if j + 1 >= n:
                j += 1
                continue
            nxt = text[j + 1]
            if nxt == "'":
                body.append("'")
            elif nxt in _VALID_ESCAPES:
                body.append("\\" + nxt)
            else:
                body.append("\\\\" + nxt)
            j += 2
            continue
        if ch == quote:
            k = _next_nonspace(text, j + 1)
            if k >= n or text[k] in _STRING_FOLLOW:
                return j + 1, "".join(body)
            _note(notes, "escaped quotes inside a string")
            body.append('\\"' if ch == '"' else "'")
            j += 1
            continue
        if ch == '"':  # a double quote inside a single-quoted string
            body.append('\\"')
        else:
            body.append(ch)
        j += 1
    return None, "".join(body)


class _Walk:
    """The object starting at a ``{`` rewritten as JSON text, and whether the text ended inside it."""

    def __init__(self, text: str, start: int):
        self.start = start
        self.end = len(text)
        self.notes: list[str] = []
        self.truncated = True
        out: list[str] = []
        stack: list[str] = []
        n = len(text)
        i = start
        while i < n:
            c = text[i]
            if c in "\"'":
                after, body = _read_string(text, i, self.notes)
                out.append('"' + body)
                if after is None:
                    break
                out.append('"')
                i = after
                continue
            if c in "{[(":
                if c == "(":
                    _note(self.notes, "read Python tuples as lists")
                opener = "{" if c == "{" else "["
                stack.append(opener)
                out.append(opener)
                i += 1
                continue
            if c in "}])":
                want = "{" if c == "}" else "["
                if stack and stack[-1] == want:
                    stack.pop()
                    out.append("}" if want == "{" else "]")
                elif want in stack:
                    _note(self.notes, "fixed mismatched brackets")
                    while stack:
                        top = stack.pop()
                        out.append("}" if top == "{" else "]")
                        if top == want:
                            break
                else:
                    _note(self.notes, "dropped a stray closing bracket")
                i += 1
                if not stack:
                    self.truncated = False
                    self.end = i
                    break
                continue
            if c == ",":
                k = _next_nonspace(text, i + 1)
                if k < n and text[k] in "}])":
                    _note(self.notes, "removed trailing commas")
                elif k < n and text[k] == ",":
                    _note(self.notes, "removed repeated commas")
                else:
                    out.append(",")
                i += 1
                continue
            if c.isalpha() or c == "_":
                k = i
                while k < n and (text[k].isalnum() or text[k] == "_"):
                    k += 1
                word = text[i:k]
                low = word.lower()
                if low in ("null", "none", "nil"):
                    if word != "null":
                        _note(self.notes, f"read {word} as null")
                    out.append("null")
                elif low in ("true", "false"):
                    out.append(low)
                elif _next_nonspace(text, k) < n and text[_next_nonspace(text, k)] == ":":
                    _note(self.notes, "quoted bare keys")
                    out.append(json.dumps(word))
                else:
                    out.append(word)  # left as is: the object will not parse
                i = k
                continue
            out.append(c)
            i += 1
        self.json = "".join(out)


def _json_state(text: str) -> tuple[bool, str, list[tuple[int, str]]]:
    """Scan JSON text: (ends inside a string, open brackets, cut points).

    A cut point ``(pos, open_brackets)`` is a place outside any string where ``text[:pos]`` closed
    with ``_closers(open_brackets)`` may be a complete document: after a string, a number, a
    literal or a closed bracket, before a comma, or right after the opening brace. The open
    brackets are kept as an immutable string so that recording a cut point costs nothing.
    """
    in_string = False
    escaped = False
    stack = ""
    cuts: list[tuple[int, str]] = []
    n = len(text)
    for i, c in enumerate(text):
        if in_string:
            if escaped:
                escaped = False
            elif c == "\\":
                escaped = True
            elif c == '"':
                in_string = False
                cuts.append((i + 1, stack))
            continue
        if c == '"':
            in_string = True
        elif c in "{[":
            stack += c
            if i == 0:
                cuts.append((1, stack))
        elif c in "}]":
            stack = stack[:-1]
            cuts.append((i + 1, stack))
        elif c == ",":
            cuts.append((i, stack))
        elif c.isalnum() and (i + 1 == n or not text[i + 1].isalnum() and text[i + 1] not in ".+-"):
            cuts.append((i + 1, stack))  # end of a number or a literal
    return in_string, stack, cuts


def _closers(stack: str | list[str]) -> str:
    return "".join("}" if b == "{" else "]" for b in reversed(stack))


def _loads(text: str) -> Any:
    try:
        return json.loads(text, strict=False)
    except ValueError:
        return None


def _repair_truncated(text: str) -> dict | None:
    """Close a JSON object cut short, dropping an incomplete last element if needed.

    Tries closing the text as it is, then cutting it back at ever earlier cut points. A parse
    error inside the kept text rules out every longer cut, which keeps garbage cheap to reject.
    """
    in_string, stack, cuts = _json_state(text)
    bound = len(text)
    # A string cut inside a list is a partial entity: better dropped than kept.
    if not (in_string and stack and stack[-1] == "["):
        try:
            obj = json.loads(text + ('"' if in_string else "") + _closers(stack), strict=False)
            if isinstance(obj, dict):
                return obj
        except json.JSONDecodeError as exc:
            bound = min(bound, exc.pos)
    tried = 0
    for pos, open_brackets in reversed(cuts):
        if pos > bound:
            continue
        tried += 1
        if tried > _MAX_CUTS:
            break
        prefix = text[:pos].rstrip()
        try:
            obj = json.loads(prefix + _closers(open_brackets), strict=False)
        except json.JSONDecodeError as exc:
            if exc.pos < len(prefix):
                bound = min(bound, exc.pos)
            continue
        if isinstance(obj, dict) and (obj or not text[1:].strip()):
            return obj  # an empty object cut out of a longer text is not a repair
    return None


def _note(notes: list[str], message: str) -> None:
    if message not in notes:
        notes.append(message)


# --------------------------------------------------------------------------------------------
# parser: reading the fields
# --------------------------------------------------------------------------------------------
def _is_nullish(value: str) -> bool:
    return value.strip().strip(".").strip().lower() in _NULL_WORDS


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


def _split_list_string(value: str) -> list[str]:
    return [p for p in re.split(r"[,;\n]+", value)]


def _read_det(value: Any, notes: list[str]) -> tuple[tuple[str, ...] | None, bool]:
    if value is None:
        return None, True
    if isinstance(value, str):
        if _is_nullish(value):
            _note(notes, f"DET was the string {value.strip()!r}, read as null")
            return None, True
        _note(notes, "DET given as a string, split on commas")
        items: list[Any] = _split_list_string(value)
    elif isinstance(value, list):
        items = value
    else:
        _note(notes, f"DET had the wrong type ({_kind(value)}), ignored")
        return None, False
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


def _canonical_type(value: str) -> str | None:
    key = re.sub(r"[^a-z]+", " ", value.lower()).strip()
    if key in _TYPE_SYNONYMS:
        return _TYPE_SYNONYMS[key]
    return None


def _read_types(value: Any, notes: list[str]) -> tuple[tuple[str, ...] | None, bool]:
    if value is None:
        return None, True
    if isinstance(value, str):
        if _is_nullish(value):
            _note(notes, f"TYPE was the string {value.strip()!r}, read as null")
            return None, True
        _note(notes, "TYPE given as a string, split")
        items: list[Any] = re.split(r"[,;/|\n]+|\s+and\s+|\s*&\s*", value)
    elif isinstance(value, list):
        items = value
    else:
        _note(notes, f"TYPE had the wrong type ({_kind(value)}), ignored")
        return None, False
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
        canon = _canonical_type(item)
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


# --------------------------------------------------------------------------------------------
# parser: entry point
# --------------------------------------------------------------------------------------------
def parse_decoupling(raw: str) -> DecoupledRequest:
    """Read the model's decoupling output into a :class:`DecoupledRequest` (see module doc).

    ``ok=True``: an object with at least one of ASR/DET/TYPE was found; ``reason`` lists the repairs
    (``None`` when the output was clean JSON). ``ok=False``: nothing usable; ``reason`` says why and
    the caller should retrieve with the question and options only. ``raw`` is always kept.
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

    first_keys: list[str] | None = None
    first_error: str | None = None
    for index, start in enumerate(starts):
        walk = _Walk(text, start)
        notes = list(walk.notes)
        obj = _loads(walk.json)
        if not isinstance(obj, dict) and walk.truncated:
            obj = _repair_truncated(walk.json)
            if isinstance(obj, dict):
                _note(notes, "closed a truncated JSON object")
        if not isinstance(obj, dict):
            if first_error is None:
                try:
                    json.loads(walk.json, strict=False)
                    first_error = "not an object"
                except ValueError as exc:
                    first_error = str(exc)
            continue
        found = _known_keys(obj)
        if not found:
            if first_keys is None:
                first_keys = [str(k) for k in obj]
            continue
        if index > 0:
            _note(notes, "skipped earlier braces that held no ASR/DET/TYPE object")
        outside = _outside_note(text, start, walk.end)
        notes_out: list[str] = []
        if outside:
            notes_out.append(outside)
        notes_out.extend(notes)
        return _build(obj, found, notes_out, raw)

    if first_keys is not None:
        listed = ", ".join(first_keys) if first_keys else "none"
        return fallback_request(f"JSON object has none of ASR/DET/TYPE (keys: {listed})", raw)
    return fallback_request(f"no parseable JSON object in output ({first_error})", raw)


def _build(obj: dict, found: dict[str, str], notes: list[str], raw: str) -> DecoupledRequest:
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
    return DecoupledRequest(asr=asr, det=det, types=types, ok=True, reason="; ".join(notes) or None, raw=raw)
