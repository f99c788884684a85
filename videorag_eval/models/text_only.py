"""``text_only``: a blind baseline that needs no LVLM weights.

It sees no frames and generates nothing. It reads the auxiliary blocks the wrapper placed in the
prompt, splits them into facts (lines, and "; "-separated parts of a line), and answers with the
option mentioned by the fact most similar to the question (embedding cosine); when no option is
mentioned, the option closest in embedding space to any fact. With no auxiliary text it has no evidence and picks
an option by a seeded hash of the question: chance level, by design. It makes an offline run of the
whole pipeline meaningful: its accuracy measures what the auxiliary text alone carries.
"""

from __future__ import annotations

import hashlib
import re
from typing import Any

from lmms_eval.api.model import lmms

from ..method.prompt import parse_options, split_augmented
from ..method.retrieval import EncoderSettings, TextEncoder
from ..store.cache import Cache

_STOP = set("a an the of in on at to is are was were be by for with and or what which who whom how many much does did do "
            "video according this that these those it its from as into than".split())
_TIME_PREFIX = re.compile(r"^\[[^\]]*\]\s*|^frame \d+[^:]*:\s*", re.IGNORECASE)


def _words(text: str) -> list[str]:
    return re.findall(r"[0-9a-z]+", text.lower())


def _contains(haystack: list[str], needle: list[str]) -> bool:
    n = len(needle)
    return n > 0 and any(haystack[i:i + n] == needle for i in range(len(haystack) - n + 1))


class TextOnlyMatcher(lmms):
    is_simple = True
    generates_text = False

    def __init__(self, encoder: Any = None, cache_dir: str = "results/.cache", seed: int = 0,
                 text_encoder: TextEncoder | None = None, **_: Any) -> None:
        super().__init__()
        if text_encoder is None:
            settings = EncoderSettings.from_cfg(encoder or {"kind": "sentence_transformers", "model": "packaged:all-MiniLM-L6-v2"})
            text_encoder = TextEncoder(settings, Cache(cache_dir))
        self.encoder = text_encoder
        self.seed = int(seed)
        self.device = "cpu"

    # -- the choice -------------------------------------------------------------------------
    def choose(self, context: str) -> tuple[str, str]:
        """(letter, why) for one augmented prompt."""
        blocks, rest = split_augmented(context)
        options = parse_options(rest)
        if not options:
            return "", "no lettered options found in the prompt"
        units = []
        for body in blocks.values():
            for line in body.splitlines():
                line = _TIME_PREFIX.sub("", line.strip())
                # scene-graph lines hold several facts separated by "; ": each is its own unit
                for unit in line.split("; "):
                    unit = unit.strip()
                    if unit and not unit.lower().startswith("the video has") and unit not in units:
                        units.append(unit)
        question = rest.split("\n" + options[0][0], 1)[0]
        if not units:
            h = hashlib.sha256(f"{self.seed}:{question}".encode()).digest()[0]
            return options[h % len(options)][0], "no auxiliary text: seeded guess"
        vecs = self.encoder.encode([question] + units + [text for _, text in options])
        qv, uv, ov = vecs[0], vecs[1:1 + len(units)], vecs[1 + len(units):]
        relevance = uv @ qv
        unit_words = [_words(u) for u in units]
        best, best_score, why = None, float("-inf"), ""
        for (letter, text), vec in zip(options, ov):
            words = [w for w in _words(text) if w not in _STOP] or _words(text)
            mentions = [i for i, uw in enumerate(unit_words) if _contains(uw, words)]
            lexical = max((float(relevance[i]) for i in mentions), default=None)
            semantic = float((uv @ vec).max())
            score = (10.0 + lexical if lexical is not None else 0.0) + semantic
            if score > best_score:
                best, best_score = letter, score
                why = "mentioned in auxiliary text" if lexical is not None else "closest in embedding space"
        return best, why

    # -- lmms-eval interface ----------------------------------------------------------------------
    def generate_until(self, requests) -> list[str]:
        return [self.choose(req.args[0])[0] for req in requests]

    def loglikelihood(self, requests):
        raise NotImplementedError("text_only answers multiple-choice generate_until tasks only")

    def generate_until_multi_round(self, requests):
        raise NotImplementedError("text_only answers multiple-choice generate_until tasks only")
