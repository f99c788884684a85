"""Batched phases (issue 20; re-measured for issue 24, where every video of a batch got the cell's frames): the tiny
Qwen2.5-VL on the demo, ``rag=none`` and ``rag=full``, batch_size 1 vs B.

    python bench/bench_batching.py [--limit 46] [--batch 8] [--frames 4] [--out PATH]

For each (rag, batch_size): one cell on a copy of a pre-extracted cache (ASR, OCR and embeddings are
cached, decoupling replies are not: every cell generates its own), timed; inner-model calls per phase
from metrics.json; questions per second. Then how many predictions differ between batch sizes (left padding
can flip a near-tie of the random tiny model), and plain lmms-eval (``simple_evaluate`` on the inner adapter built
with the same batch_size) against the harness with ``rag=none``, alternated ``--reps`` times (medians).
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _common import REPO, table, write_result
from bench_extraction import compose
from bench_harness import plain_lmms_eval


def _cell(tmp: Path, cache0: Path, rag: str, batch: int, args) -> dict:
    from videorag_eval.cell.runner import run_cell

    cache = tmp / f"cache_{rag}_{batch}"
    shutil.copytree(cache0, cache, dirs_exist_ok=True)
    cfg = compose("model=tiny_qwen2_5_vl", "task=demo", f"rag={rag}", f"frames={args.frames}", f"limit={args.limit}",
                  f"batch_size={batch}", f"results_dir={tmp / 'results'}", f"cache_dir={cache}", "force=true")
    t0 = time.perf_counter()
    cell = run_cell(cfg)
    wall = time.perf_counter() - t0
    metrics = json.loads((cell / "metrics.json").read_text())
    samples = [json.loads(line) for line in (cell / "samples.jsonl").read_text().splitlines()]
    return {"rag": rag, "batch_size": batch, "wall_s": round(wall, 1), "q_per_s": round(args.limit / wall, 2),
            "decouple_calls": metrics["batching"]["inner_calls"]["decouple"],
            "answer_calls": metrics["batching"]["inner_calls"]["answer"],
            "generate_s": metrics["timings"].get("generate"), "decouple_s": metrics["timings"].get("decouple"),
            "_predictions": {s["doc_id"]: s["prediction"] for s in samples}}


def _overhead(tmp: Path, batch: int, args) -> dict:
    cfg = compose("model=tiny_qwen2_5_vl", "task=demo", "rag=none", f"frames={args.frames}", f"limit={args.limit}",
                  f"batch_size={batch}", f"results_dir={tmp / 'ovh_results'}", f"cache_dir={tmp / 'ovh_cache'}",
                  "force=true")
    from videorag_eval.lmms.tasks import configure_environment, prepare_task
    from videorag_eval.cell.runner import run_cell

    configure_environment(cfg.cache_dir)
    lmms_task, include_path, _ = prepare_task(cfg.task, cfg.cache_dir)

    def plain() -> float:  # the adapter built with batch_size=B
        return plain_lmms_eval(cfg, lmms_task, include_path, batch)

    def ours() -> float:
        t0 = time.perf_counter()
        run_cell(cfg)
        return time.perf_counter() - t0

    plain(), ours()  # warm-up
    times = {"plain": [], "ours": []}
    for _ in range(args.reps):
        times["plain"].append(plain())
        times["ours"].append(ours())
    med = {k: statistics.median(v) for k, v in times.items()}
    return {"batch_size": batch, "plain_s": round(med["plain"], 2), "ours_s": round(med["ours"], 2),
            "ratio": round(med["ours"] / med["plain"], 3)}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--limit", type=int, default=46)
    ap.add_argument("--batch", type=int, default=8)
    ap.add_argument("--frames", type=int, default=4)
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--out")
    ap.add_argument("--skip-overhead", action="store_true", help="only the four cells (no plain lmms-eval comparison)")
    ap.add_argument("--only-overhead", action="store_true", help="only the plain lmms-eval comparison (rag=none)")
    args = ap.parse_args()
    import logging

    logging.getLogger("videorag_eval").setLevel(logging.WARNING)
    tmp = Path(tempfile.mkdtemp(prefix="bench_batching_"))
    if args.only_overhead:
        overhead = [_overhead(tmp, b, args) for b in (1, args.batch)]
        table(overhead, list(overhead[0]))
        write_result("batching_overhead", {"overhead_vs_plain": overhead, "limit": args.limit}, args.out)
        return
    cache0 = tmp / "cache0"
    subprocess.run([sys.executable, "-m", "videorag_eval.extract", "task=demo", "model=tiny_qwen2_5_vl",
                    f"frames={args.frames}", f"limit={args.limit}", f"cache_dir={cache0}",
                    f"results_dir={tmp / 'extract_results'}"], cwd=REPO, check=True)
    rows = [_cell(tmp, cache0, rag, b, args) for rag in ("none", "full") for b in (1, args.batch)]
    differ = {}
    for rag in ("none", "full"):
        one, many = (r["_predictions"] for r in rows if r["rag"] == rag)
        differ[rag] = sum(one[d] != many[d] for d in one)
    for r in rows:
        r.pop("_predictions")
    table(rows, list(rows[0]))
    print(f"predictions that differ between batch_size 1 and {args.batch} (of {args.limit}): {differ}")
    write_result("batching", {"cells": rows, "differing_predictions": differ, "limit": args.limit}, args.out)
    if args.skip_overhead:
        return
    overhead = [_overhead(tmp, b, args) for b in (1, args.batch)]
    table(overhead, list(overhead[0]))
    write_result("batching", {"cells": rows, "differing_predictions": differ, "overhead_vs_plain": overhead,
                              "limit": args.limit}, args.out)


if __name__ == "__main__":
    main()
