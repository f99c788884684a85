"""Decode once (issue 20): how often the harness decodes a video per question, with and without the cell's
frame store (``decode.max_frames_mb``), on a cold and on a warm cache.

    python bench/bench_decoding.py [--model text_only] [--rag full] [--frames 8] [--limit N] [--out PATH]

Four cells of the embedded demo, each ``python -m videorag_eval`` in its own process: the store on
(default bound) and off (``decode.max_frames_mb=0``: every read decodes, as before the store), each first
on an empty cache (cold: ASR, OCR, detections extracted) and then again on that cache (warm). From each
cell's ``metrics.json`` -> ``decoding``: files opened, frames decoded and frames served from the store, in
total and per question, by purpose (probe, OCR, DET), frames decoded a second time (``redecoded``), and the
inner adapter's own reads (counted apart: it decodes the video itself). Then whether the store changed
any record (it must not): the per-question records of store on and off are compared, wall time excepted.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _common import REPO, table, write_result

TIMING = {"seconds"}


def _cell(results: Path, cache: Path, mb: float, args) -> tuple[dict, list[dict], float]:
    cmd = [sys.executable, "-m", "videorag_eval", f"model={args.model}", f"rag={args.rag}", f"frames={args.frames}",
           f"results_dir={results}", f"cache_dir={cache}", f"decode.max_frames_mb={mb}", "force=true"]
    if args.limit:
        cmd.append(f"limit={args.limit}")
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, cwd=REPO, env=env, capture_output=True, text=True)
    wall = time.perf_counter() - t0
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)} failed:\n{proc.stdout[-2000:]}{proc.stderr[-3000:]}")
    (metrics_path,) = results.glob("demo/*/*/metrics.json")
    samples = [json.loads(line) for line in (metrics_path.parent / "samples.jsonl").read_text().splitlines() if line]
    return json.loads(metrics_path.read_text()), samples, wall


def _comparable(sample: dict) -> dict:
    out = {k: v for k, v in sample.items() if k not in TIMING}
    if out.get("det"):
        out["det"] = {k: v for k, v in out["det"].items() if k != "seconds"}
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", default="text_only")
    ap.add_argument("--rag", default="full")
    ap.add_argument("--frames", type=int, default=8)
    ap.add_argument("--limit", type=int, default=None)
    ap.add_argument("--out", default=None)
    args = ap.parse_args()

    rows, samples = [], {}
    with tempfile.TemporaryDirectory(prefix="bench_decoding_") as tmp:
        for store, mb in (("on", 1024), ("off", 0)):
            cache = Path(tmp) / f"cache_{store}"
            for phase in ("cold", "warm"):
                metrics, cell_samples, wall = _cell(Path(tmp) / f"results_{store}_{phase}", cache, mb, args)
                d = metrics["decoding"]
                by = d.get("by_purpose", {})
                adapter = d.get("adapter", {})
                rows.append({"store": store, "cache": phase, "questions": d.get("questions"), "videos": d.get("videos"),
                             "opens": d["opens"], "frames_decoded": d["frames_decoded"], "frames_served": d["frames_served"],
                             "redecoded": d["redecoded"],
                             "opens_per_q": d["per_question"]["opens"], "decoded_per_q": d["per_question"]["frames_decoded"],
                             "probe_decoded": by.get("probe", {}).get("decoded", 0),
                             "ocr_decoded": by.get("ocr", {}).get("decoded", 0), "det_decoded": by.get("det", {}).get("decoded", 0),
                             "peak_store_mb": d["store"]["peak_mb"], "evicted": d["store"]["evicted_frames"],
                             "adapter_decodes": adapter.get("decodes_itself"),
                             "adapter_reads": sum((adapter.get("video_reads") or {}).values()),
                             "accuracy": metrics["accuracy"], "wall_s": round(wall, 1),
                             "extract_ocr_s": metrics["timings"].get("extract_ocr"),
                             "extract_det_s": metrics["timings"].get("extract_det")})
                samples[(store, phase)] = {s["doc_id"]: _comparable(s) for s in cell_samples}
                print(f"store {store}, {phase} cache: {d['frames_decoded']} frames decoded, {d['frames_served']} served, "
                      f"{wall:.1f} s", flush=True)
    same = {phase: samples[("on", phase)] == samples[("off", phase)] for phase in ("cold", "warm")}
    table(rows, ["store", "cache", "questions", "opens", "frames_decoded", "frames_served", "redecoded", "decoded_per_q",
                 "ocr_decoded", "det_decoded", "adapter_reads", "wall_s"])
    print(f"records identical with and without the store: {same}")
    write_result("decoding", {"args": vars(args), "rows": rows, "records_identical": same}, args.out)


if __name__ == "__main__":
    main()
