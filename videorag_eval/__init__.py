"""videorag_eval: Video-RAG auxiliary text for any lmms-eval video LLM, scored reproducibly.

Importing this package is cheap: torch, transformers, lmms-eval and the extractors are imported
only by the modules that need them, when they are used.
"""

__version__ = "0.1.0"
