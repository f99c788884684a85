"""Video-RAG itself: decoding frames, ASR/OCR/DET extraction, query decoupling, retrieval, the token budget and the prompt's auxiliary blocks."""
