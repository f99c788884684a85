"""Retrieval with the real packaged MiniLM encoder and a real FAISS index."""

import pytest

from videorag_eval.core.records import AuxDoc
from videorag_eval.method.retrieval import EncoderSettings, TextEncoder, retrieve

DOCS = [
    AuxDoc("asr", "Welcome back to the channel, today we bake sourdough bread at home.", 0, 30),
    AuxDoc("asr", "The museum tour starts at the harbour in Lisbon next Tuesday.", 30, 60),
    AuxDoc("asr", "Our goalkeeper saved a penalty in the final minute of the match.", 60, 90),
]


def test_retrieves_the_relevant_document_in_chronological_order(minilm_encoder):
    query = ["In which city does the museum tour start?", "Lisbon", "Oslo", "Dublin", "Prague"]
    hits = retrieve(minilm_encoder, query, DOCS, threshold=0.3)
    assert [h.start for h in hits] == sorted(h.start for h in hits)
    assert any("Lisbon" in h.text for h in hits)
    assert not any("goalkeeper" in h.text for h in hits)
    assert all(h.score > 0.3 for h in hits)


def test_threshold_controls_how_much_is_kept(minilm_encoder):
    query = ["What does the narrator bake?"]
    loose = retrieve(minilm_encoder, query, DOCS, threshold=-1.0)
    strict = retrieve(minilm_encoder, query, DOCS, threshold=0.99)
    assert len(loose) == len(DOCS)  # every document passes a threshold below any cosine
    assert strict == []


def test_embeddings_are_cached_and_normalised(session_cache, minilm_encoder):
    texts = ["a red circle", "the harbour in Lisbon"]
    first = minilm_encoder.encode(texts)
    assert first.shape[0] == 2
    assert abs(float((first[0] ** 2).sum()) - 1.0) < 1e-4
    # A new encoder over the same cache returns the same vectors without loading any model.
    again = TextEncoder(minilm_encoder.settings, session_cache)
    second = again.encode(texts)
    assert not again.loaded
    assert (first == second).all()


def test_unknown_encoder_kind_is_a_clear_error(session_cache):
    with pytest.raises(ValueError, match="encoder.kind"):
        TextEncoder(EncoderSettings(kind="bm25"), session_cache)


def test_query_is_the_normalised_mean_of_raw_embeddings(session_cache):
    """The method's query: mean of the RAW embeddings (Contriever-style mean pooling, no per-text
    normalisation), then L2-normalised. MiniLM's weights through hf_mean_pool give raw rows whose
    norms differ, so the two readings really differ."""
    import numpy as np

    from videorag_eval.method.retrieval import EncoderSettings, TextEncoder, normalise, query_vector

    enc = TextEncoder(EncoderSettings(kind="hf_mean_pool", model="packaged:all-MiniLM-L6-v2", device="cpu"), session_cache)
    texts = ["How many red circles appear in the video?", "3", "red circle", "A long option that says a lot more words"]
    raw = enc._encode_raw(texts)
    norms = np.linalg.norm(raw, axis=1)
    assert norms.max() / norms.min() > 1.1
    q = query_vector(enc, texts)
    assert np.allclose(q, normalise(raw.mean(axis=0, keepdims=True)), atol=1e-5)
    assert not np.allclose(q, normalise(normalise(raw).mean(axis=0, keepdims=True)), atol=1e-3)
    assert np.allclose(enc.encode(texts), normalise(raw), atol=1e-5)  # documents stay normalised
    assert np.allclose(query_vector(enc, texts), q)  # the raw rows come from the cache the second time


def test_ocr_and_det_queries_embed_each_phrase():
    from videorag_eval.method.query import query_texts
    from videorag_eval.core.records import DecoupledRequest, Question

    fields = Question.__dataclass_fields__
    q = Question(**{k: None for k in fields} | {"question": "What is on the menu?", "options": ("Tea", "Soup")})
    req = DecoupledRequest(asr="the menu", det=("sign", "lunch menu"), types=None, ok=True)
    assert query_texts(q, req, "ocr") == ["What is on the menu?", "Tea", "Soup", "sign", "lunch menu"]
    assert query_texts(q, req, "asr") == ["What is on the menu?", "Tea", "Soup", "the menu"]
    failed = DecoupledRequest(asr=None, det=None, types=None, ok=False, reason="no JSON")
    assert query_texts(q, failed, "ocr") == ["What is on the menu?", "Tea", "Soup"]
