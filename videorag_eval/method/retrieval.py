"""Dense retrieval of auxiliary documents, as the paper: every document above a cosine threshold.

Embeddings of every text (documents, questions, options, requests) are cached per (encoder, text),
so a later cell with another threshold or source set embeds nothing again and loads no encoder.
They are stored packed per (video, encoder): inside ``TextEncoder.scoped(video_hash)`` every text
embedded lands in that video's pack, one file holding its documents of every source and setting and
its questions' query texts; a cell reads each video's pack once (``cache_packs``).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
from dataclasses import dataclass, replace
from typing import Any, Sequence

from ..core.records import AuxDoc
from ..runtime.devices import resolve_device
from ..runtime.weights import loading, package_version, resolve
from ..store.cache import Cache, make_key, text_hash

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class EncoderSettings:
    kind: str = "hf_mean_pool"  # hf_mean_pool | sentence_transformers
    model: str = "facebook/contriever"
    device: str = "cpu"
    batch_size: int = 32

    @classmethod
    def from_cfg(cls, cfg: Any) -> "EncoderSettings":
        return cls(**{k: cfg[k] for k in cls.__dataclass_fields__ if k in cfg})


class TextEncoder:
    """L2-normalised text embeddings with a per-text disk cache; the model loads on first miss."""

    namespace = "text_embedding"

    def __init__(self, settings: EncoderSettings, cache: Cache):
        if settings.kind not in ("hf_mean_pool", "sentence_transformers"):
            raise ValueError(f"encoder.kind must be hf_mean_pool or sentence_transformers, got {settings.kind!r}")
        self.settings = settings
        self.cache = cache
        self._model = None
        self._tokenizer = None
        self.texts_encoded = 0
        self._scope: str | None = None
        self._key_prefix: bytes | None = None

    @contextlib.contextmanager
    def scoped(self, group: str):
        """Texts embedded inside are stored in ``group``'s pack (a video's content hash)."""
        previous, self._scope = self._scope, group
        try:
            yield self
        finally:
            self._scope = previous

    def _key(self, text: str) -> str:
        if self._key_prefix is None:
            self._key_prefix = json.dumps(self.identity, sort_keys=True).encode() + b"\0"
        return hashlib.sha256(self._key_prefix + text.encode("utf-8")).hexdigest()

    @property
    def identity(self) -> dict[str, Any]:
        lib = "sentence-transformers" if self.settings.kind == "sentence_transformers" else "transformers"
        return {"kind": self.settings.kind, "model": self.settings.model, "lib_version": package_version(lib)}

    def _device(self) -> str:
        return resolve_device(self.settings.device)

    def _load(self):
        if self._model is not None:
            return
        path = resolve(self.settings.model)
        log.info("loading text encoder %s (%s)", self.settings.model, self.settings.kind)
        with loading("text encoder", self.settings.model):
            if self.settings.kind == "sentence_transformers":
                from sentence_transformers import SentenceTransformer

                self._model = SentenceTransformer(path, device=self._device())
            else:
                from transformers import AutoModel, AutoTokenizer

                self._tokenizer = AutoTokenizer.from_pretrained(path)
                self._model = AutoModel.from_pretrained(path).to(self._device()).eval()

    def _encode_uncached(self, texts: list[str]):
        return normalise(self._encode_raw(texts))

    def _encode_raw(self, texts: list[str]):
        """The encoder's own output (mean pooling; no normalisation beyond the model's own modules)."""
        import numpy as np

        self._load()
        self.texts_encoded += len(texts)
        if self.settings.kind == "sentence_transformers":
            vecs = self._model.encode(texts, batch_size=self.settings.batch_size, convert_to_numpy=True,
                                      normalize_embeddings=False, show_progress_bar=False)
        else:
            import torch

            chunks = []
            for i in range(0, len(texts), self.settings.batch_size):
                batch = self._tokenizer(texts[i:i + self.settings.batch_size], padding=True, truncation=True,
                                        max_length=512, return_tensors="pt").to(self._device())
                with torch.no_grad():
                    hidden = self._model(**batch).last_hidden_state
                mask = batch["attention_mask"].unsqueeze(-1).to(hidden.dtype)
                chunks.append(((hidden * mask).sum(1) / mask.sum(1).clamp(min=1e-9)).cpu().numpy())
            vecs = np.concatenate(chunks)
        return np.asarray(vecs, dtype="float32")

    def encode(self, texts: Sequence[str]):
        """(len(texts), dim) float32, rows L2-normalised.

        Looked up in the current scope's pack, then in any pack already in memory; only texts found
        nowhere are embedded (once per distinct text in the call) and added to the scope's pack.
        Outside a scope, texts are stored in 256 shared packs by text hash.
        """
        import numpy as np

        keys = [self._key(t) for t in texts]
        groups = [self._scope or f"shared{k[:2]}" for k in keys]
        rows: list[Any] = [self.cache.get_array(self.namespace, k, group=g) for k, g in zip(keys, groups)]
        absent = [i for i, r in enumerate(rows) if r is None]  # not in this scope's pack
        for i in absent:
            rows[i] = self.cache.packs.known(self.namespace, keys[i])  # embedded for another video
        todo = sorted({texts[i] for i in absent if rows[i] is None})
        fresh = dict(zip(todo, self._encode_uncached(todo))) if todo else {}
        with self.cache.batch():
            for i in absent:
                if rows[i] is None:
                    rows[i] = fresh[texts[i]]
                self.cache.put_array(self.namespace, keys[i], rows[i], group=groups[i])
        if not rows:
            return np.zeros((0, 1), dtype="float32")
        return np.stack(rows).astype("float32")

    @property
    def loaded(self) -> bool:
        return self._model is not None


def normalise(vecs):
    import numpy as np

    norms = np.linalg.norm(vecs, axis=1, keepdims=True)
    return vecs / np.maximum(norms, 1e-12)


def raw_embeddings(encoder: TextEncoder, texts: Sequence[str]):
    """(len(texts), dim) float32 raw (un-normalised) embeddings, cached per text like ``encode``."""
    import numpy as np

    ident = encoder.identity
    keys = [make_key(text=text_hash(t), **ident) for t in texts]
    groups = [encoder._scope or f"shared{k[:2]}" for k in keys]  # packed like ``encode`` (the video's entry)
    rows = [encoder.cache.get_array(RAW_NAMESPACE, k, group=g) for k, g in zip(keys, groups)]
    todo = sorted({t for t, r in zip(texts, rows) if r is None})
    if todo:
        fresh = dict(zip(todo, encoder._encode_raw(todo)))
        with encoder.cache.batch():  # one write of the video's pack, not one per text
            for i, t in enumerate(texts):
                if rows[i] is None:
                    rows[i] = fresh[t]
                    encoder.cache.put_array(RAW_NAMESPACE, keys[i], fresh[t], group=groups[i])
    return np.stack(rows).astype("float32")


RAW_NAMESPACE = "text_embedding_raw"


def query_vector(encoder: TextEncoder, texts: Sequence[str]):
    """The method's query: the mean of the texts' RAW embeddings, then L2-normalised (as the
    official code: Contriever mean pooling, ``np.mean``, ``faiss.normalize_L2``). Encoders whose
    own modules already normalise (sentence-transformers' all-MiniLM-L6-v2) give the same query
    as a mean of normalised rows."""
    if not texts:
        raise ValueError("a retrieval query needs at least one text")
    vecs = raw_embeddings(encoder, list(texts))
    return normalise(vecs.mean(axis=0, keepdims=True))


def retrieve(encoder: TextEncoder, query_texts: Sequence[str], docs: Sequence[AuxDoc], threshold: float) -> list[AuxDoc]:
    """Every document whose cosine with the query exceeds ``threshold``, in chronological order."""
    import faiss
    import numpy as np

    if not docs:
        return []
    doc_vecs = encoder.encode([d.text for d in docs])
    index = faiss.IndexFlatIP(doc_vecs.shape[1])
    index.add(np.ascontiguousarray(doc_vecs))
    q = np.ascontiguousarray(query_vector(encoder, query_texts))
    lims, scores, ids = index.range_search(q, float(threshold))
    hits = [replace(docs[int(i)], score=round(float(s), 4)) for i, s in zip(ids[lims[0]:lims[1]], scores[lims[0]:lims[1]])]
    return sorted(hits, key=lambda d: (d.start, d.frame_index or 0))
