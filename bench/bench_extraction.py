"""Extraction throughput and peak memory on one long synthetic video (issue 13).

    python bench/bench_extraction.py [--minutes 60] [--frames 64] [--unbounded] [--work DIR] [--out PATH]

Builds a long video from the demo's (re-muxed, no re-encoding), extracts ASR (faster-whisper, the
packaged tiny.en) and OCR (EasyOCR, packaged English) at ``--frames`` frames into a fresh cache, and
embeds every document (MiniLM). Prints the ASR real-time factor, OCR seconds per frame, documents
embedded per second and the process's peak RSS. ``--unbounded`` decodes all frames in one batch
and the whole audio track at once (the behaviour before bounded batches), for comparison.
Run each mode in its own process: the peak RSS is the process's.
"""

from __future__ import annotations

import argparse
import shutil
import time
from pathlib import Path

from _common import REPO, peak_rss_mb, table, write_result


def compose(*overrides):
    from hydra import compose as hydra_compose
    from hydra import initialize_config_dir

    from videorag_eval.core.resources import CONF_DIR

    with initialize_config_dir(config_dir=str(CONF_DIR), version_base="1.3"):
        return hydra_compose("config", overrides=list(overrides))


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--minutes", type=float, default=60.0)
    ap.add_argument("--frames", type=int, default=64)
    ap.add_argument("--unbounded", action="store_true")
    ap.add_argument("--work", default=str(REPO / "results" / "bench" / "work"))
    ap.add_argument("--out")
    args = ap.parse_args()

    import synthetic

    work = Path(args.work)
    video = work / f"long_{args.minutes:g}min.mp4"
    if not video.exists():
        synthetic.make_long_video(video, args.minutes)
    mode = "unbounded" if args.unbounded else "bounded"
    cache_dir = work / f"cache_extraction_{mode}"
    shutil.rmtree(cache_dir, ignore_errors=True)
    overrides = ["aux=packaged", f"frames={args.frames}", "rag=asr_ocr", f"cache_dir={cache_dir}"]
    if args.unbounded:
        overrides += [f"aux.ocr.batch_frames={args.frames}", "aux.asr.audio_window=0"]
    cfg = compose(*overrides)

    from videorag_eval.store.cache import Cache
    from videorag_eval.method.media import probe
    from videorag_eval.method.pipeline import AuxPipeline
    from videorag_eval.method.rag_settings import RagSettings

    rss_start = peak_rss_mb()
    pipeline = AuxPipeline(RagSettings(asr=True, ocr=True), cfg.aux, Cache(cache_dir), args.frames)
    pipeline.encoder._load()  # embedding throughput without the model's load time
    encode = pipeline.encoder._encode_uncached
    embed_seconds = [0.0]

    def timed_encode(texts):
        t = time.perf_counter()
        try:
            return encode(texts)
        finally:
            embed_seconds[0] += time.perf_counter() - t

    pipeline.encoder._encode_uncached = timed_encode
    t0 = time.perf_counter()
    counts = pipeline.extract_all([str(video)], progress=False)
    wall = time.perf_counter() - t0
    duration = probe(video).duration
    asr, ocr = pipeline.asr, pipeline.ocr
    row = {
        "mode": mode, "video_minutes": round(duration / 60, 1), "frames": args.frames,
        "asr_seconds": round(asr.seconds_transcribing, 1), "asr_rtf": round(asr.seconds_transcribing / duration, 4),
        "ocr_frames": ocr.frames_read, "ocr_s_per_frame": round(ocr.seconds_reading / max(ocr.frames_read, 1), 3),
        "docs": counts["documents"], "texts_embedded": pipeline.encoder.texts_encoded,
        "embed_per_s": round(pipeline.encoder.texts_encoded / max(embed_seconds[0], 1e-9), 1),
        "wall_s": round(wall, 1), "peak_rss_mb": round(peak_rss_mb()), "rss_before_mb": round(rss_start),
    }
    table([row], list(row))
    write_result(f"extraction_{mode}", {"result": row, "counts": counts, "cache_dir": str(cache_dir)}, args.out)


if __name__ == "__main__":
    main()
