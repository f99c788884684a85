"""lmms-eval task functions of the bundled demo (Video-MME prompt, local videos)."""

import os
from pathlib import Path

BUNDLED = Path(__file__).resolve().parent / "data"


def data_dir() -> Path:
    """Read at call time (not import time), so one process can evaluate several copies."""
    return Path(os.environ.get("VIDEORAG_DATA_DIR") or BUNDLED)


def demo_doc_to_visual(doc):
    # the same checked path as Video-MME's (videorag_eval.benchmarks.safe_paths): a row pointing outside the data
    # directory is refused (unsafe_path); missing: the .mp4 path, recorded as a failed question
    from videorag_eval.lmms.task_functions import videomme_video

    return [videomme_video(data_dir(), doc["videoID"])]


def demo_process_docs(dataset):
    # malformed rows tagged and made readable, as for Video-MME (videorag_eval.benchmarks.row_checks)
    from videorag_eval.lmms.task_functions import videomme_process_docs

    return videomme_process_docs(dataset)


def demo_doc_to_text(doc, lmms_eval_specific_kwargs=None):
    # Exactly Video-MME's prompt, so the demo exercises the same text as the real benchmark.
    from lmms_eval.tasks.videomme.utils import videomme_doc_to_text

    return videomme_doc_to_text(doc, lmms_eval_specific_kwargs or {})


def demo_process_results(doc, results):
    from lmms_eval.tasks._task_utils.mcq_extract import extract_mcq_answer

    parsed = extract_mcq_answer(results[0] or "", choices=["A", "B", "C", "D"]) or ""
    return {"videorag_demo_accuracy": {"question_id": doc["question_id"], "source": doc.get("source"),
                                       "score": float(parsed.upper() == doc["answer"].upper())}}


def demo_aggregate(results):
    return 100.0 * sum(r["score"] for r in results) / max(len(results), 1)
