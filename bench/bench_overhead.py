"""Per-question overhead with a warm cache: retrieval + prompt, no generation (issue 13).

    python bench/bench_overhead.py [--minutes 60] [--frames 64] [--questions 60] [--work DIR] [--out PATH]

Uses the long video and the cache that ``bench_extraction.py`` filled (same --work, --minutes and
--frames; run it first). A first pass embeds the questions' query texts (question + options, and an
ASR request and DET entities, as a decoupled request would give); the measured pass then starts in a
fresh cache object -- the in-process memo empty, as in a new cell -- and times, per question,
``AuxPipeline.augment`` (ASR + OCR retrieval over every document of the video) plus prompt assembly,
and counts the cache files read.
"""

from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path

from _common import REPO, table, write_result
from bench_extraction import compose

def reads(stats) -> int:
    return stats["disk.read"]  # every cache file read (packs and single entries)


def questions(video: str, n: int):
    import pandas as pd

    from videorag_eval.core.records import DecoupledRequest, Question

    df = pd.read_parquet(REPO / "tasks" / "demo" / "data" / "videomme" / "test-00000-of-00001.parquet")
    out = []
    for i in range(n):
        r = df.iloc[i % len(df)]
        opts = tuple(str(o).split(". ", 1)[-1] for o in r.options)
        q = Question(i, f"q{i}", video, f"{r.question} (#{i // len(df)})" if i >= len(df) else r.question, opts, r.answer)
        req = DecoupledRequest(asr=f"what is said about {opts[0]}", det=[opts[0].split()[-1]], types=None, ok=True,
                               reason=None, raw=None)
        out.append((q, req))
    return out


def run_pass(cfg, cache_dir, items):
    from videorag_eval.store.cache import Cache
    from videorag_eval.method.pipeline import AuxPipeline
    from videorag_eval.method.prompt import assemble
    from videorag_eval.method.rag_settings import RagSettings

    cache = Cache(cache_dir)
    pipeline = AuxPipeline(RagSettings(asr=True, ocr=True, threshold=0.3), cfg.aux, cache, int(cfg.frames))
    times, nreads, retrieved = [], [], []
    for q, req in items:
        before = reads(cache.stats)
        t0 = time.perf_counter()
        aug = pipeline.augment(q, req)
        prompt = assemble(f"{q.question}\n" + "\n".join(q.options), aug.blocks, "paper")
        times.append((time.perf_counter() - t0) * 1000)
        nreads.append(reads(cache.stats) - before)
        retrieved.append(sum(len(v) for v in aug.retrieved.values()))
        assert prompt
    return pipeline, times, nreads, retrieved, aug.candidates


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--minutes", type=float, default=60.0)
    ap.add_argument("--frames", type=int, default=64)
    ap.add_argument("--questions", type=int, default=60)
    ap.add_argument("--work", default=str(REPO / "results" / "bench" / "work"))
    ap.add_argument("--out")
    args = ap.parse_args()
    work = Path(args.work)
    video = work / f"long_{args.minutes:g}min.mp4"
    cache_dir = work / "cache_extraction_bounded"
    if not video.exists() or not cache_dir.exists():
        raise SystemExit(f"{video} or {cache_dir} missing: run bench/bench_extraction.py --minutes {args.minutes:g} "
                         f"--frames {args.frames} first")
    cfg = compose("aux=packaged", f"frames={args.frames}", "rag=asr_ocr", f"cache_dir={cache_dir}")
    items = questions(str(video.resolve()), args.questions)
    pipeline, *_ = run_pass(cfg, cache_dir, items)  # warms the query texts' embeddings
    pipeline, times, nreads, retrieved, candidates = run_pass(cfg, cache_dir, items)
    row = {
        "video_minutes": round(pipeline._info[str(video.resolve())].duration / 60, 1), "frames": args.frames,
        "questions": len(items), "candidates": candidates,
        "median_ms": round(statistics.median(times), 3), "p95_ms": round(sorted(times)[int(0.95 * (len(times) - 1))], 3),
        "first_ms": round(times[0], 1), "max_ms_after_first": round(max(times[1:]), 3) if len(times) > 1 else None,
        "reads_first": nreads[0], "reads_max_after_first": max(nreads[1:]) if len(nreads) > 1 else None,
        "reads_mean": round(sum(nreads) / len(nreads), 3), "retrieved_mean": round(sum(retrieved) / len(retrieved), 1),
        "models_loaded": any(pipeline.loaded_models().values()),
    }
    table([row], list(row))
    write_result("overhead", {"result": row, "ms": [round(t, 3) for t in times], "reads": nreads}, args.out)


if __name__ == "__main__":
    main()
