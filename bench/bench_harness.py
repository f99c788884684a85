"""Harness overhead against plain lmms-eval: the same tiny inner model, ``rag=none`` (issue 13).

    python bench/bench_harness.py [--model tiny_qwen2_5_vl] [--frames 8] [--limit 46] [--reps 3] [--out PATH]

Plain: build the inner lmms-eval model and call ``lmms_eval.simple_evaluate`` on the same task.
Ours: ``runner.run_cell`` (force=true), i.e. the wrapper, journal, scoring and cell files on top.
Both in one process, alternated ``--reps`` times; the medians are compared.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

from _common import table, write_result
from bench_extraction import compose


def plain_lmms_eval(cfg, lmms_task: str, include_path: str, batch_size: int = 1) -> float:
    """Seconds for plain lmms-eval: the cell's inner adapter (built with its batch size) through
    ``simple_evaluate`` on the same task, limit, generation settings and seeds."""
    from lmms_eval.evaluator import simple_evaluate
    from lmms_eval.tasks import TaskManager

    from videorag_eval.lmms.factory import build_inner, build_pipeline

    t0 = time.perf_counter()
    inner = build_inner(cfg, build_pipeline(cfg))
    results = simple_evaluate(
        model=inner, tasks=[lmms_task], limit=cfg.limit, batch_size=batch_size, log_samples=True,
        task_manager=TaskManager("WARNING", include_path=include_path, model_name=str(cfg.model.adapter)),
        verbosity="WARNING", process_docs_parallel=1,
        gen_kwargs=",".join(f"{k}={v}" for k, v in cfg.generation.items()),
        random_seed=cfg.seed, numpy_random_seed=cfg.seed, torch_random_seed=cfg.seed, fewshot_random_seed=cfg.seed)
    assert results and results["samples"][lmms_task]
    return time.perf_counter() - t0


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", default="tiny_qwen2_5_vl")
    ap.add_argument("--frames", type=int, default=8)
    ap.add_argument("--limit", type=int, default=46)
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--out")
    args = ap.parse_args()
    import logging

    logging.getLogger("videorag_eval").setLevel(logging.WARNING)
    tmp = Path(tempfile.mkdtemp(prefix="bench_harness_"))
    cfg = compose(f"model={args.model}", "task=demo", "rag=none", f"frames={args.frames}", f"limit={args.limit}",
                  f"results_dir={tmp / 'results'}", f"cache_dir={tmp / 'cache'}", "force=true")

    from videorag_eval.lmms.tasks import configure_environment, prepare_task
    from videorag_eval.cell.runner import run_cell

    configure_environment(cfg.cache_dir)
    lmms_task, include_path, _ = prepare_task(cfg.task, cfg.cache_dir)

    def plain() -> float:
        return plain_lmms_eval(cfg, lmms_task, include_path)

    def ours() -> float:
        t0 = time.perf_counter()
        run_cell(cfg)
        return time.perf_counter() - t0

    plain()  # warm-up: builds the tiny model once, fills the OS cache, lmms-eval's dataset cache
    ours()
    times = {"plain": [], "ours": []}
    for _ in range(args.reps):
        times["plain"].append(plain())
        times["ours"].append(ours())
    med = {k: statistics.median(v) for k, v in times.items()}
    row = {"model": args.model, "questions": args.limit, "frames": args.frames, "reps": args.reps,
           "plain_s": round(med["plain"], 2), "ours_s": round(med["ours"], 2),
           "overhead_pct": round(100 * (med["ours"] / med["plain"] - 1), 1),
           "per_question_ms": round(1000 * (med["ours"] - med["plain"]) / args.limit, 1)}
    table([row], list(row))
    write_result("harness", {"result": row, "times": times}, args.out)


if __name__ == "__main__":
    main()
