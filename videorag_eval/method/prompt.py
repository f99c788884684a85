"""Prompt assembly: auxiliary-text blocks placed before the task's own question prompt.

Each block starts with a fixed header line and ends with a blank line, so the assembled text can be
split back (``split_augmented``) by models that reason over the auxiliary text (``text_only``).
"""

from __future__ import annotations

import re
from typing import Callable, Sequence

from ..core.records import AuxDoc

HEADERS = {
    "ocr": "Text shown on screen in the video (recognised from its frames, in chronological order):",
    "asr": "Speech in the video (transcribed, in chronological order):",
    "det": "Objects detected in the video:",
    "subtitles": "Subtitles of the video (in chronological order):",
}
ORDERS = {
    "paper": ("ocr", "asr", "det"),  # as the paper's text
    "code": ("det", "asr", "ocr"),  # as the official code
}


def format_seconds(t: float) -> str:
    return f"{t:.0f}s" if float(t).is_integer() else f"{t:.1f}s"


def render_block(source: str, docs: Sequence[AuxDoc], det_block: str | None = None, timestamps: bool = True) -> str:
    """A source's block; ``timestamps=False`` drops the times before each document (official code)."""
    if source == "det":
        body = det_block or ""
    elif not timestamps:
        body = "\n".join(d.text for d in docs)
    elif source in ("asr", "subtitles"):
        body = "\n".join(f"[{format_seconds(d.start)}-{format_seconds(d.end)}] {d.text}" for d in docs)
    else:
        body = "\n".join(f"[{format_seconds(d.start)}] {d.text}" for d in docs)
    return f"{HEADERS[source]}\n{body.strip()}\n"


def render_det_block(docs: Sequence[AuxDoc], n_frames: int, frame_indices: Sequence[int] | None = None,
                     timestamps: bool = True) -> str:
    """The DET prompt block: "The video has N frames. Detected objects in specific frames:" then one
    "Frame k (t s): <scene graph>" line per document, chronologically; "" when there is no document.

    ``k`` is the keyframe's 1-based position among the N sampled frames: taken from
    ``frame_indices`` (the sampled frame indices) when given, else from ``DetDoc.position``.
    """
    docs = sorted((d for d in docs if d.text), key=lambda d: (d.start, d.frame_index or 0))
    if not docs:
        return ""
    where = {int(i): p for p, i in enumerate(frame_indices, 1)} if frame_indices is not None else {}
    lines = [f"The video has {int(n_frames)} frames. Detected objects in specific frames:"]
    for d in docs:
        k = where.get(int(d.frame_index)) if (where and d.frame_index is not None) else getattr(d, "position", None)
        label = f"Frame {k}" if k is not None else f"Frame #{d.frame_index}"
        lines.append(f"{label} ({format_seconds(d.start)}): {d.text}" if timestamps else f"{label}: {d.text}")
    return "\n".join(lines)


def assemble(context: str, blocks: dict[str, str], order: str = "paper") -> str:
    """The task's context with the non-empty blocks before it, in the configured order."""
    if order not in ORDERS:
        raise ValueError(f"rag.order must be one of {sorted(ORDERS)}, got {order!r}")
    sequence = (["subtitles"] if "subtitles" in blocks else []) + list(ORDERS[order])
    parts = [blocks[s] for s in sequence if blocks.get(s)]
    return "\n".join(parts + [context]) if parts else context


# A benchmark's own subtitle prompt (lmms-eval's videomme_w_subtitle): its header line, and the line that
# starts the question part after the subtitles (its option prompt; "Question: " in the qwen3_vl format).
BENCHMARK_SUBTITLES = ("This video's subtitles are listed below:",
                       ("Select the best answer to the following multiple-choice question", "Question: "))


def _split_benchmark_subtitles(prompt: str) -> tuple[str, str] | None:
    header, ends = BENCHMARK_SUBTITLES
    first, _, tail = prompt.partition("\n")
    if first.strip() != header:
        return None
    lines = tail.split("\n")
    cut = next((i for i, line in enumerate(lines) if line.startswith(ends)), len(lines))
    return "\n".join(lines[:cut]), "\n".join(lines[cut:])


def split_augmented(prompt: str) -> tuple[dict[str, str], str]:
    """Inverse of ``assemble``: ({source: block body}, the task's own context). A Video-MME
    with-subtitles prompt (lmms-eval's) counts as a ``subtitles`` block before its question."""
    found: dict[str, str] = {}
    rest = prompt
    by_header = {h: s for s, h in HEADERS.items()}
    while True:
        first, _, tail = rest.partition("\n")
        source = by_header.get(first.strip())
        if source is None:
            benchmark = _split_benchmark_subtitles(rest)
            if benchmark is not None:
                found["subtitles"], rest = benchmark
            return found, rest
        body, sep, rest = tail.partition("\n\n")
        found[source] = body
        if not sep:
            return found, ""


_OPTION = re.compile(r"^\s*\(?([A-Z])[.):]\s*(.+?)\s*$")


def parse_options(context: str) -> list[tuple[str, str]]:
    """Lettered options ("A. text", "(A) text", "A) text") in the order they appear: A, then B, ...
    (up to Z), so a line of the question that happens to start with a letter is not an option."""
    out = []
    for line in context.splitlines():
        m = _OPTION.match(line)
        if m and len(out) < 26 and m.group(1) == chr(ord("A") + len(out)):
            out.append((m.group(1), m.group(2)))
    return out


def count_tokens(text: str, tokenizer: Callable[[str], Sequence[int]] | None = None) -> tuple[int, str]:
    """Tokens of ``text`` with the inner model's tokenizer when there is one, else a word-piece estimate."""
    if not text:
        return 0, "none"
    if tokenizer is not None:
        return len(tokenizer(text)), "model_tokenizer"
    return len(re.findall(r"\w+|[^\w\s]", text)), "regex_wordpiece"
