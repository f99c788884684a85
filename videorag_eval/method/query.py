"""The retrieval query of a question for one source: which texts are embedded and averaged."""

from __future__ import annotations

from ..core.records import SOURCES, DecoupledRequest, Question


def query_texts(question: Question, request: DecoupledRequest | None, source: str) -> list[str]:
    """Texts whose embeddings are averaged into the retrieval query for ``source`` (as the method).

    Always the question and every option text (blank ones skipped); then, if the request was parsed
    (``ok``), the ASR request for ``"asr"``, or each DET phrase as its own text for ``"ocr"`` and
    ``"det"`` (the method has no OCR request: OCR retrieval uses the DET phrases). A failed or
    missing request gives the question and options only. ``retrieval.query_vector`` averages the
    texts' raw embeddings and then L2-normalises.
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
        texts.extend(p for p in request.det if isinstance(p, str) and p.strip())
    return texts
