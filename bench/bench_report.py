"""Time the ablation report on a large synthetic sweep (python bench/bench_report.py [--cells 100] [--questions 2700]).

Writes cell directories shaped like real ones (config.yaml, metrics.json, samples.jsonl with
retrieved texts and requests; 3 questions per video as Video-MME) under a temporary directory, then
times `build_report` without and with the per-cell question pages. Numbers go in docs/report.md."""

from __future__ import annotations

import argparse
import json
import random
import tempfile
import time
from pathlib import Path

MODELS = ["llava_video_7b", "qwen2_5_vl_7b", "internvl2_8b", "longva_7b", "llava_onevision_7b"]
RAGS = {"none": {}, "subtitles": {"subtitles": True}, "asr": {"asr": True}, "ocr": {"ocr": True}, "det": {"det": True},
        "asr_ocr": {"asr": True, "ocr": True}, "full": {"asr": True, "ocr": True, "det": True}}
DURATIONS = ["short", "medium", "long"]
TASK_TYPES = ["Counting Problem", "OCR Problems", "Action Reasoning", "Object Recognition", "Temporal Perception",
              "Information Synopsis"]


def write_sweep(root: Path, n_cells: int, n_questions: int, seed: int = 0) -> None:
    rng = random.Random(seed)
    frames_list = [8, 16, 32, 64]
    settings = [(m, f, r) for m in MODELS for f in frames_list for r in RAGS][:n_cells]
    aux_text = "the speaker says the museum opens at nine and the guide is called Maria " * 3
    for model, frames, rag in settings:
        cell = root / "videomme" / model / f"f{frames}-{rag}-bench"
        cell.mkdir(parents=True)
        flags = {"asr": False, "ocr": False, "det": False, "subtitles": False, "threshold": 0.3, **RAGS[rag]}
        p = 0.55 + 0.05 * bool(RAGS[rag])
        rows = []
        for i in range(n_questions):
            correct = rng.random() < p
            rows.append({
                "doc_id": i, "question_id": f"{i // 3:03d}-{i % 3 + 1}", "video": f"/data/videomme/data/v{i // 3:04d}.mp4",
                "question": "What is the name of the guide on the museum tour in this video?",
                "options": ["Maria", "Anna", "Lucia", "Sofia"], "letters": "ABCD", "answer": "A",
                "prediction": "A" if correct else "B", "parsed": "A" if correct else "B", "correct": correct,
                "error": None, "categories": {"duration": DURATIONS[(i // 3) % 3], "task_type": TASK_TYPES[i % 6]},
                "aux": {s: [aux_text] * 2 for s in ("asr", "ocr", "det") if flags[s]},
                "request": {"ASR": "guide name", "DET": ["person"], "TYPE": ["number"]} if RAGS[rag] else None,
                "aux_tokens": 120,
            })
        (cell / "samples.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
        acc = 100.0 * sum(r["correct"] for r in rows) / n_questions
        (cell / "config.yaml").write_text(f"model:\n  name: {model}\ntask:\n  name: videomme\n  data_dir: /data/videomme\n"
                                          f"frames: {frames}\nlimit: null\nparser: lmms_eval\nseed: 0\n")
        (cell / "metrics.json").write_text(json.dumps({
            "model": model, "task": "videomme", "frames": frames, "rag": flags, "accuracy": acc, "n": n_questions,
            "n_failed": 0, "by_category": {"duration": {}, "task_type": {}}, "parser": "lmms_eval"}))


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--cells", type=int, default=100)
    ap.add_argument("--questions", type=int, default=2700)
    ap.add_argument("--bootstrap", type=int, default=2000)
    args = ap.parse_args()

    from videorag_eval.report.build import build_report

    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "results"
        t0 = time.perf_counter()
        write_sweep(root, args.cells, args.questions)
        size = sum(p.stat().st_size for p in root.rglob("samples.jsonl")) / 1e6
        print(f"wrote {args.cells} cells x {args.questions} questions ({size:.0f} MB of samples) in {time.perf_counter() - t0:.1f} s")
        for pages in (False, True):
            res = build_report(root, Path(tmp) / f"report_{pages}", b=args.bootstrap, pages=pages)
            t = res.timings
            print(f"report {'with' if pages else 'without'} cell pages: {t['total']:.1f} s "
                  f"(load {t['load']:.1f}, statistics {t['statistics']:.1f}, tables {t['tables']:.1f}, "
                  f"plots {t['plots']:.1f}, html {t['html']:.1f}); B={args.bootstrap}")


if __name__ == "__main__":
    main()
