"""The decoupling replies, cached across cells: one generation per (model, question, route[, video]).

The reply to the decoupling prompt depends on the inner model, the exact prompt text, the generation
settings and, on the ``with_video`` route, the video and the frame count it is sent with -- not on
the cell's threshold or sources. So a sweep over settings asks the model once per question, and
every later cell reads the reply from the cache (``decoupling`` namespace, packed per video).

The key holds: the inner model's identity (adapter, style, every constructor argument incl. the
resolved ``pretrained``; a local weights directory also by its files' names, sizes and times), the
prompt text, the generation kwargs, the route (with the video's content hash and frame count when
the route sends the video), and the lmms-eval / transformers / torch versions.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable

from ..runtime.weights import package_version
from ..store.cache import Cache, make_key

NAMESPACE = "decoupling"


def model_identity(cfg: Any, route: str) -> dict[str, Any]:
    """What makes the inner model's reply differ, from a cell's resolved config."""
    from ..runtime.model_args import adapter_args

    m = cfg.model
    args = adapter_args(cfg)  # incl. the method profile's arguments (e.g. bfloat16): they change the reply
    if m.get("tiny"):
        from ..models.tiny import ensure_tiny

        args["pretrained"] = ensure_tiny(str(m.tiny), cfg.cache_dir)
    frame_arg = m.get("frame_arg")
    if frame_arg:
        args.pop(frame_arg, None)
        if route == "with_video":  # the frames sent with the prompt change the reply
            args[frame_arg] = int(cfg.frames)
    if m.get("batch_arg") and int(cfg.get("batch_size", 1)) > 1:  # batched generation pads: replies may differ
        args[m.batch_arg] = int(cfg.batch_size)
    pretrained = args.get("pretrained")
    from .adapters import TEXT_ONLY_FIX_VERSION, TEXT_ONLY_FIXES

    # a text-only reply of an adapter that cannot answer one itself comes from our fix: replies cached before it
    # (e.g. llava_hf's "" under a text_only override) are never served as its replies
    fix = {"text_only_fix": TEXT_ONLY_FIX_VERSION} if route == "text_only" and str(m.adapter) in TEXT_ONLY_FIXES else {}
    from .adapters import fix_identity

    fix.update(fix_identity(str(m.adapter), int(cfg.get("batch_size", 1) or 1)))  # replies our batch fixes change
    return {
        **fix,
        "adapter": str(m.adapter),
        "force_simple": bool(m.get("force_simple", False)),
        "model_args": args,
        "weights": _local_fingerprint(pretrained) if isinstance(pretrained, str) else None,
        "versions": {p: package_version(p) for p in ("lmms-eval", "transformers", "torch")},
    }


def _local_fingerprint(path: str) -> list | None:
    p = Path(path)
    if not p.is_dir():
        return None
    return sorted([f.name, f.stat().st_size, f.stat().st_mtime_ns] for f in p.iterdir() if f.is_file())


class DecouplingCache:
    """Reply lookup and store; with ``cache=None`` every reply is generated (and nothing stored)."""

    def __init__(self, cache: Cache | None, identity: dict[str, Any] | None = None):
        self.cache = cache
        self.identity = identity or {}

    def key(self, prompt: str, gen_kwargs: dict, route: str, video_hash: str, frames: int | None) -> str:
        video = {"video": video_hash, "frames": frames} if route == "with_video" else {}
        return make_key(model=self.identity, prompt=prompt, gen_kwargs=gen_kwargs, route=route, **video)

    def lookup(self, *, prompt: str, gen_kwargs: dict, route: str, video_hash: str, frames: int | None = None) -> str | None:
        """The cached reply, or None (nothing is generated)."""
        if self.cache is None:
            return None
        got = self.cache.get_json(NAMESPACE, self.key(prompt, gen_kwargs, route, video_hash, frames), group=video_hash)
        return got["raw"] if got is not None and isinstance(got.get("raw"), str) else None

    def reply(self, generate: Callable[[], str], *, prompt: str, gen_kwargs: dict, route: str, video_hash: str,
              frames: int | None = None) -> tuple[str, bool]:
        """(raw reply, whether it came from the cache); ``generate`` runs only on a miss."""
        if self.cache is None:
            return generate(), False
        key = self.key(prompt, gen_kwargs, route, video_hash, frames)
        got = self.cache.get_json(NAMESPACE, key, group=video_hash)
        if got is not None and isinstance(got.get("raw"), str):
            return got["raw"], True
        raw = generate()
        self.cache.put_json(NAMESPACE, key, {"raw": raw, "route": route}, group=video_hash)
        return raw, False
