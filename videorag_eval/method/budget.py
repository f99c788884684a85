"""The token budget of the auxiliary text: what fits in the inner model's context beside the video.

``rag.token_budget``:

``auto`` (default)
    From the model's numbers (``model.context_tokens``, ``model.tokens_per_frame``; see its config):
    per question, ``context_tokens - frames * tokens_per_frame - max_new_tokens - PROMPT_OVERHEAD``
    minus the tokens of the question's own prompt (the task's text, options and post-prompt). A model
    without those numbers (``text_only``, ``scripted``, models whose visual token count is not known)
    has no limit.
``none``
    No limit (as before the budget existed, and as the official code).
``<int>``
    At most that many tokens of auxiliary text per question.

When the auxiliary blocks (ASR, OCR, DET; never the benchmark's own subtitles) are over the budget,
documents are dropped one at a time, the lowest-scoring first, until they fit: retrieved ASR/OCR
documents by their retrieval cosine; ASR/OCR documents given without retrieval (``rag.retrieval=false``,
no score) latest first, so the text is cut from its end as a too-long transcript would be; DET documents
(not retrieved: one per keyframe) after every ASR/OCR document, the lowest CLIP keyframe score first
(latest frame first when unknown). The survivors keep their chronological (document) order and the blocks
are rendered again. Each question's record lists what was dropped (``aux_dropped``) and the budget
(``aux_budget``, with ``drop_rule``: the rule of each kind of document it held); ``metrics.json`` counts
them (``token_budget``, with ``drop_rules``).

Tokens are counted as ``aux_tokens`` is: with the inner model's tokenizer when the wrapper can reach
it, else a word-piece estimate (``aux_budget.method`` says which).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Sequence

from ..core.records import AuxDoc

# Tokens of the chat template, system prompt and image placeholders around the question, beyond its text
# (LLaVA-Video's qwen_1_5 template with its system prompt is ~30 tokens; a conservative margin).
PROMPT_OVERHEAD = 64
# llava_vid's time instruction (add_time_instruction, method=official): ~40 tokens of text and one "12.34s," per
# frame (at most 8 tokens each with Qwen2's tokenizer: digits are single tokens)
TIME_INSTRUCTION_BASE, TIME_INSTRUCTION_PER_FRAME = 40, 8
MODES = ("auto", "none")


@dataclass(frozen=True)
class TokenBudget:
    mode: str  # "auto" | "none" | "fixed"
    tokens: int | None  # fixed: the aux budget; auto: what is left for question + aux; None: no limit
    detail: dict[str, Any] | None = None  # auto: the numbers it was computed from

    @property
    def limited(self) -> bool:
        return self.tokens is not None

    def for_question(self, question_tokens: int) -> int | None:
        """Tokens of auxiliary text this question may carry (None: no limit)."""
        if self.tokens is None:
            return None
        if self.mode == "fixed":
            return self.tokens
        return max(0, self.tokens - int(question_tokens))

    def identity(self) -> Any:
        """What the cell identity holds: None when there is no limit (cells as before the budget existed); a
        budget whose tokens per frame come from the checkpoint says so (its number is known once it loads)."""
        if self.tokens is None:
            return None
        if isinstance((self.detail or {}).get("tokens_per_frame"), str):
            return {"mode": self.mode, "tokens": self.tokens, "per_frame": "checkpoint"}
        return {"mode": self.mode, "tokens": self.tokens}

    def to_dict(self) -> dict[str, Any]:
        return {"mode": self.mode, "tokens": self.tokens, **({"from": self.detail} if self.detail else {})}


def parse_setting(value: Any) -> str | int:
    """``auto`` / ``none`` / a non-negative int; anything else raises ValueError naming the key."""
    if value is None:
        return "none"
    if isinstance(value, bool):
        raise ValueError(f"rag.token_budget={value!r} is not allowed; allowed: auto, none, or an integer >= 0")
    if isinstance(value, int):
        if value < 0:
            raise ValueError(f"rag.token_budget={value} is not allowed; allowed: auto, none, or an integer >= 0")
        return value
    text = str(value).strip().lower()
    if text in MODES:
        return text
    if text.isdigit():
        return int(text)
    raise ValueError(f"rag.token_budget={value!r} is not allowed; allowed: auto, none, or an integer >= 0")


def _get(node: Any, key: str) -> Any:
    try:
        return node.get(key) if node is not None else None
    except AttributeError:
        return None


def llava_tokens_per_frame(patches_per_side: int, stride: int, mode: str, newline: str) -> int:
    """Visual tokens LLaVA-NeXT gives one video frame (its ``get_2dPool`` and ``mm_newline_position``): the vision
    tower's ``patches_per_side`` squared, pooled by ``stride`` (average / max round down, bilinear rounds up), plus
    a newline token per row (``grid``) or per frame (``frame``)."""
    if mode in ("average", "max"):
        side = patches_per_side // stride
    elif mode == "bilinear":
        side = -(-patches_per_side // stride)
    else:
        raise ValueError(f"mm_spatial_pool_mode={mode!r}: LLaVA-NeXT pools only with average, max or bilinear")
    return side * side + {"grid": side, "frame": 1}.get(newline, 0)


def from_checkpoint(cfg: Any) -> bool:
    """The adapter keeps the checkpoint's own pooling (``overwrite: false``, method=official for LLaVA-Video): the
    tokens per frame follow the checkpoint's config (``model.vision_patches_per_side`` and its pooling)."""
    from ..runtime.model_args import adapter_args

    return adapter_args(cfg).get("overwrite") is False and _get(_get(cfg, "model"), "vision_patches_per_side") is not None


def resolve(cfg: Any, pooling: dict[str, Any] | None = None) -> TokenBudget:
    """The cell's budget from its config (``rag.token_budget``, the model's numbers, frames, max_new_tokens).
    Where the tokens per frame follow the checkpoint (``from_checkpoint``), ``pooling`` is what its config says
    (``adapters.checkpoint_pooling`` once the model is loaded); before that the configured number stands in."""
    setting = parse_setting(_get(_get(cfg, "rag"), "token_budget") if _get(cfg, "rag") is not None else "none")
    if setting == "none":
        return TokenBudget("none", None)
    if isinstance(setting, int):
        return TokenBudget("fixed", setting)
    model = _get(cfg, "model")
    context, per_frame = _get(model, "context_tokens"), _get(model, "tokens_per_frame")
    if context is None or per_frame is None:
        return TokenBudget("auto", None, {"note": "the model's context_tokens / tokens_per_frame are not set: no limit"})
    per_frame_from: dict[str, Any] = {}
    if from_checkpoint(cfg):
        if pooling is None:
            per_frame_from = {"tokens_per_frame": "the checkpoint's pooling, read when the model loads"}
        else:
            per_frame = llava_tokens_per_frame(int(_get(model, "vision_patches_per_side")),
                                               int(pooling["mm_spatial_pool_stride"]),
                                               str(pooling["mm_spatial_pool_mode"]),
                                               str(pooling.get("mm_newline_position") or "grid"))
            per_frame_from = {"tokens_per_frame": per_frame, "checkpoint_pooling": dict(pooling)}
    frames = int(_get(cfg, "frames") or 0)
    new_tokens = int(_get(_get(cfg, "generation"), "max_new_tokens") or 0)
    visual = frames * int(per_frame)
    from ..runtime.model_args import adapter_args

    overhead = PROMPT_OVERHEAD
    if adapter_args(cfg).get("add_time_instruction"):  # llava_vid's "The video lasts for ... located at 0.00s,..." line
        overhead += TIME_INSTRUCTION_BASE + TIME_INSTRUCTION_PER_FRAME * frames
    left = int(context) - visual - new_tokens - overhead
    return TokenBudget("auto", max(0, left), {"context_tokens": int(context), "visual_tokens": visual,
                                              "max_new_tokens": new_tokens, "prompt_overhead": overhead,
                                              **per_frame_from})


# How documents are dropped, per kind (recorded in each question's ``aux_budget.drop_rule`` and metrics.json)
DROP_RULES = {
    "retrieved": "lowest retrieval cosine first (ties: latest first)",
    "unretrieved": "latest first (rag.retrieval=false: no score; the text is cut from its end, as a transcript)",
    "det": "lowest keyframe score first (unknown: latest first), after every ASR/OCR document",
}


def drop_rule(retrieved: dict[str, Sequence[AuxDoc]]) -> dict[str, str]:
    """The rules that apply to these documents: {kind: rule} for each kind present."""
    kinds = {_kind(source, d) for source, docs in retrieved.items() if source != "subtitles" for d in docs}
    return {k: DROP_RULES[k] for k in DROP_RULES if k in kinds}


def _kind(source: str, doc: AuxDoc) -> str:
    if source == "det":
        return "det"
    return "retrieved" if doc.score is not None else "unretrieved"


def drop_order(retrieved: dict[str, Sequence[AuxDoc]], det_scores: dict[int, float] | None = None) -> list[tuple[str, int]]:
    """(source, position) of every budgeted document, the first to drop first: retrieved documents by
    ascending score (ties: later first); then ASR/OCR documents given without retrieval (``rag.retrieval=false``:
    no score), latest first, so the text is cut from its end; then DET documents (never retrieved) by ascending
    keyframe score, later first."""
    scored, unretrieved, det = [], [], []
    for source, docs in retrieved.items():
        if source == "subtitles":
            continue
        for pos, d in enumerate(docs):
            kind = _kind(source, d)
            if kind == "retrieved":
                scored.append((float(d.score), -float(d.start), source, pos))
            elif kind == "unretrieved":
                unretrieved.append((-float(d.start), -float(d.frame_index or 0), source, pos))
            else:
                kf = (det_scores or {}).get(d.frame_index) if d.frame_index is not None else None
                det.append((float("inf") if kf is None else float(kf), -float(d.start), source, pos))
    return [(s, p) for *_, s, p in sorted(scored) + sorted(unretrieved) + sorted(det)]


def fit(retrieved: dict[str, list[AuxDoc]], render: Callable[[dict[str, list[AuxDoc]]], dict[str, str]],
        count: Callable[[str], int], limit: int, det_scores: dict[int, float] | None = None
        ) -> tuple[dict[str, list[AuxDoc]], dict[str, str], list[AuxDoc], int, int]:
    """(kept documents per source, their blocks, dropped documents in drop order, tokens before, after).
    ``render`` turns documents per source into blocks; ``count`` counts the tokens of the joined blocks."""
    blocks = render(retrieved)
    before = count("\n".join(blocks.values()))
    if before <= limit:
        return retrieved, blocks, [], before, before
    gone: set[tuple[str, int]] = set()
    dropped: list[AuxDoc] = []
    kept = retrieved
    tokens = before
    for source, pos in drop_order(retrieved, det_scores):
        gone.add((source, pos))
        dropped.append(retrieved[source][pos])
        kept = {s: [d for p, d in enumerate(docs) if (s, p) not in gone] for s, docs in retrieved.items()}
        blocks = render(kept)
        tokens = count("\n".join(blocks.values()))
        if tokens <= limit:
            break
    return kept, blocks, dropped, before, tokens
