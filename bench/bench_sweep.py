"""Sweep reuse: every expensive step once per sweep, against a naive re-extract-per-question mode.

    python bench/bench_sweep.py [--set synthetic|demo] [--frames 1,2,4,8]
        [--settings none,subtitles,asr,ocr,asr_ocr,full] [--model tiny_qwen2_5_vl] [--limit N] [--naive-limit 6]
        [--work DIR] [--out PATH]

Runs the grid (frame counts x settings) as cells in one process on a fresh cache, with a model that
writes its own decoupling request, and counts the work the models did (ASR videos transcribed, OCR
frames read, texts embedded, decoupling replies generated) and the wall time. The naive counts are
what the official code's per-question re-extraction does on the same cells (decoupling per question
and cell, OCR of every frame per question, every document and query text embedded per question; ASR
once per video as it caches ASR text); its wall time is estimated from the unit costs measured in
this run, and checked by running one cell for real in the bench-only naive mode (``naive.py``).
``--set synthetic`` is 20 distinct videos / 60 questions (``tasks/synthetic.py make_sweep_set``).
"""

from __future__ import annotations

import argparse
import json
import shutil
import time
from pathlib import Path

from _common import REPO, table, write_result
from bench_extraction import compose

RAG = {"none": "rag=none", "subtitles": "rag=subtitles", "asr": "rag=asr", "ocr": "rag=ocr", "asr_ocr": "rag=asr_ocr",
       "full": "rag=full"}


def run(overrides, only_finished=False):
    from videorag_eval.cell import identity as cells
    from videorag_eval.cell.runner import run_cell

    cfg = compose(*overrides)
    if only_finished and not cells.is_finished(cells.cell_dir(cfg)):
        return None
    cell = run_cell(cfg)
    metrics = json.loads((cell / "metrics.json").read_text())
    wall = metrics["timings"]["total"]  # the cell's own time (also right for a cell finished earlier)
    samples = [json.loads(l) for l in (cell / "samples.jsonl").read_text().splitlines()]
    return metrics, samples, wall


def naive_counts(metrics, samples, decoupling_capable=True) -> dict:
    rag = metrics["rag"]
    retrieval_sources = [s for s in ("asr", "ocr") if rag[s]]
    out = {"decoupling": 0, "ocr_frames": 0, "texts_embedded": 0}
    for s in samples:
        if s.get("error_kind") in ("missing_video", "unreadable_video"):
            continue
        if (rag["asr"] or rag["ocr"] or rag["det"]) and decoupling_capable:
            out["decoupling"] += 1
        if rag["ocr"]:
            out["ocr_frames"] += len((s.get("frames") or {}).get("indices", []))
        cands = s.get("aux_candidates") or {}
        n_query = 1 + len(s.get("letters", "ABCD")) + 1  # question, options, request
        out["texts_embedded"] += sum(cands.get(src, 0) + n_query for src in retrieval_sources)
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--set", choices=("synthetic", "demo"), default="synthetic")
    ap.add_argument("--frames", default="1,2,4,8")
    ap.add_argument("--settings", default="none,subtitles,asr,ocr,asr_ocr,full")
    ap.add_argument("--model", default="tiny_qwen2_5_vl")
    ap.add_argument("--limit", type=int, default=None, help="first N questions of the set (scale down on busy machines)")
    ap.add_argument("--naive-limit", type=int, default=6, help="questions of the naive check cell (0: skip)")
    ap.add_argument("--work", default=str(REPO / "results" / "bench" / "work"))
    ap.add_argument("--resume", action="store_true", help="keep the work dir: finished cells count as they ran")
    ap.add_argument("--summarize", action="store_true", help="run nothing: tabulate the finished cells of the work dir")
    ap.add_argument("--out")
    args = ap.parse_args()
    import logging

    logging.getLogger("videorag_eval").setLevel(logging.WARNING)
    work = Path(args.work) / f"sweep_{args.set}"
    if not (args.resume or args.summarize):
        shutil.rmtree(work, ignore_errors=True)
    if args.set == "synthetic":
        import synthetic

        data = work / "data"
        if not (data / "videomme").exists():
            synthetic.make_sweep_set(data, 20, 60)
        task = ["task=videomme", f"task.data_dir={data}"]
    else:
        task = ["task=demo"]
    if args.limit:
        task.append(f"limit={args.limit}")
    base = [f"model={args.model}", *task, f"results_dir={work / 'results'}", f"cache_dir={work / 'cache'}"]
    frames = [int(f) for f in args.frames.split(",")]
    settings = args.settings.split(",")

    rows, cells = [], []
    for f in frames:
        for name in settings:
            got = run([*base, f"frames={f}", RAG[name]], only_finished=args.summarize)
            if got is None:
                continue
            metrics, samples, wall = got
            c = metrics["computed"]
            row = {"frames": f, "setting": name, "n": metrics["n"], "asr_videos": c["asr_videos"],
                   "ocr_frames": c["ocr_frames"], "texts_embedded": c["texts_embedded"],
                   "decoupling_generated": metrics["decoupling"]["generated"],
                   "decoupling_cached": metrics["decoupling"]["cached"], "wall_s": round(wall, 1)}
            naive = naive_counts(metrics, samples)
            row.update({f"naive_{k}": v for k, v in naive.items()})
            rows.append(row)
            cells.append({"row": row, "timings": metrics["timings"], "computed": c})
            print(f"  cell f{f} {name}: {wall:.1f} s", flush=True)
    grid_wall = sum(r["wall_s"] for r in rows)
    table(rows, ["frames", "setting", "n", "asr_videos", "ocr_frames", "texts_embedded", "decoupling_generated",
                 "decoupling_cached", "naive_decoupling", "naive_ocr_frames", "naive_texts_embedded", "wall_s"])

    # unit costs measured in this run
    ocr_s = sum(c["timings"].get("extract_ocr", 0) for c in cells)
    ocr_n = sum(c["computed"]["ocr_frames"] for c in cells)
    asr_s = sum(c["timings"].get("extract_asr", 0) for c in cells)
    asr_n = sum(c["computed"]["asr_videos"] for c in cells)
    dec_s = sum(c["timings"].get("decouple", 0) for c in cells if c["row"]["decoupling_generated"])
    dec_n = sum(c["row"]["decoupling_generated"] for c in cells)
    unit = {"ocr_s_per_frame": ocr_s / max(ocr_n, 1), "asr_s_per_video": asr_s / max(asr_n, 1),
            "decouple_s_per_call": dec_s / max(dec_n, 1)}
    unit["embed_s_per_text"] = _embed_cost()
    ours = {k: sum(r[k] for r in rows) for k in ("asr_videos", "ocr_frames", "texts_embedded", "decoupling_generated")}
    naive = {"asr_videos": ours["asr_videos"], **{k: sum(r[f"naive_{k}"] for r in rows)
                                                  for k in ("ocr_frames", "texts_embedded")},
             "decoupling_generated": sum(r["naive_decoupling"] for r in rows)}
    extra = ((naive["ocr_frames"] - ours["ocr_frames"]) * unit["ocr_s_per_frame"]
             + (naive["texts_embedded"] - ours["texts_embedded"]) * unit["embed_s_per_text"]
             + (naive["decoupling_generated"] - ours["decoupling_generated"]) * unit["decouple_s_per_call"])
    naive_wall = grid_wall + extra
    summary = {"cells": len(rows), "questions_per_cell": rows[0]["n"], "ours": ours, "naive": naive,
               "grid_wall_s": round(grid_wall, 1), "naive_wall_s_estimated": round(naive_wall, 1),
               "ratio_naive_over_ours": round(naive_wall / grid_wall, 2),
               "unit_costs": {k: round(v, 4) for k, v in unit.items()}}
    print("\ncounts over the grid (ours / naive):")
    table([{"step": k, "ours": ours[k], "naive": naive[k],
            "ratio": round(naive[k] / ours[k], 1) if ours[k] else None} for k in ours], ["step", "ours", "naive", "ratio"])
    print(f"wall: ours {grid_wall:.0f} s, naive (estimated) {naive_wall:.0f} s, ratio {naive_wall / grid_wall:.1f}x")

    if args.naive_limit and not args.summarize:
        from naive import naive_mode

        f, name = max(frames), "asr_ocr"
        check = [f"model={args.model}", *[t for t in task if not t.startswith("limit=")], f"cache_dir={work / 'cache'}",
                 f"frames={f}", RAG[name], f"limit={args.naive_limit}"]
        _, _, ours_wall = run([*check, f"results_dir={work / 'results_check'}"])  # warm cache, our mode
        with naive_mode():
            m_naive, s_naive, real_wall = run([*check, f"results_dir={work / 'results_naive'}"])
        counts = naive_counts(m_naive, s_naive)
        est = (ours_wall + counts["ocr_frames"] * unit["ocr_s_per_frame"]
               + counts["texts_embedded"] * unit["embed_s_per_text"] + counts["decoupling"] * unit["decouple_s_per_call"])
        summary["naive_check"] = {"cell": f"frames={f} {name} limit={args.naive_limit}", "ours_warm_wall_s": round(ours_wall, 1),
                                  "naive_wall_s_measured": round(real_wall, 1), "naive_wall_s_estimated": round(est, 1),
                                  "naive_computed": m_naive["computed"],
                                  "naive_decoupling_generated": m_naive["decoupling"]["generated"]}
        print(f"naive check ({summary['naive_check']['cell']}): measured {real_wall:.1f} s, estimated {est:.1f} s, "
              f"ours with a warm cache {ours_wall:.1f} s")
    write_result(f"sweep_{args.set}", {"summary": summary, "rows": rows}, args.out)


def _embed_cost() -> float:
    """Seconds per text for the packaged MiniLM on this machine (batch 32, demo-like texts)."""
    import tempfile

    from videorag_eval.store.cache import Cache
    from videorag_eval.method.retrieval import EncoderSettings, TextEncoder

    with tempfile.TemporaryDirectory() as tmp:
        enc = TextEncoder(EncoderSettings(kind="sentence_transformers", model="packaged:all-MiniLM-L6-v2"), Cache(tmp))
        enc.encode(["warm up"])
        texts = [f"the speaker says the meeting moved to room {i} on the third floor at noon" for i in range(256)]
        t0 = time.perf_counter()
        enc._encode_uncached(texts)
        return (time.perf_counter() - t0) / len(texts)


if __name__ == "__main__":
    main()
