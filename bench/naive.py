"""A bench-only *naive* mode: re-extract per question, as the official Video-RAG code does.

Not a user option. Inside ``naive_mode()``: every packed cache entry (OCR readings, text embeddings,
CLIP features, detections) misses and nothing is stored, the pipeline forgets its per-video memo
before each question, and every decoupling reply is generated. ASR segments (one file per video)
stay cached, as the official code caches ASR text per video.
"""

from __future__ import annotations

import contextlib


@contextlib.contextmanager
def naive_mode():
    from videorag_eval.store import packs as cache_packs
    from videorag_eval.method.decoupling import cache as dcache
    from videorag_eval.method.extractors.asr import WhisperASR
    from videorag_eval.method.pipeline import AuxPipeline

    saved = (cache_packs.PackStore.get, cache_packs.PackStore.put, cache_packs.PackStore.known,
             AuxPipeline.augment, dcache.DecouplingCache.reply)

    def get(self, namespace, group, key, kind):
        if namespace == WhisperASR.namespace:  # the official code keeps ASR text per video
            return saved[0](self, namespace, group, key, kind)
        self.stats[f"{namespace}.miss"] += 1
        return None

    def put(self, namespace, group, key, kind, value):
        if namespace == WhisperASR.namespace:
            return saved[1](self, namespace, group, key, kind, value)
        return None

    def augment(self, question, request, subtitles=None):
        self._docs.clear()
        return saved[3](self, question, request, subtitles=subtitles)

    def reply(self, generate, **_):
        return generate(), False

    cache_packs.PackStore.get = get
    cache_packs.PackStore.put = put
    cache_packs.PackStore.known = lambda self, *a, **k: None
    AuxPipeline.augment = augment
    dcache.DecouplingCache.reply = reply
    try:
        yield
    finally:
        (cache_packs.PackStore.get, cache_packs.PackStore.put, cache_packs.PackStore.known,
         AuxPipeline.augment, dcache.DecouplingCache.reply) = saved
