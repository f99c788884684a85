"""Local synthetic copies of Video-MME, MLVU and LongVideoBench, built from the bundled demo.

Each copy has the real benchmark's layout and column names (CONTRACT, "Local benchmark copies"),
with the demo's real speech, rendered text and shapes, so ``task.data_dir=<copy>`` exercises the
real lmms-eval task definitions offline:

    python tasks/synthetic.py OUT_DIR            # writes OUT_DIR/{videomme,mlvu,longvideobench}

Video-MME: the demo already is a Video-MME copy. MLVU: options move into the question as "(A) ..."
lines, ``candidates`` hold their texts, task types are MLVU's. LongVideoBench: ``lvb_val.json`` with
``option0..4`` ("N/A" unused), an integer ``correct_choice`` and subtitle JSON files.
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
from pathlib import Path

import pandas as pd

DEMO = Path(__file__).resolve().parent / "demo" / "data"
# which real category each demo source stands in for
MLVU_TYPE = {"asr": "plotQA", "ocr": "needle", "det": "count", "none": "topic_reasoning"}
LVB_CATEGORY = {"asr": "T2E", "ocr": "S2O", "det": "O3O", "none": "SSS"}


def _demo_frame(demo: Path) -> pd.DataFrame:
    return pd.read_parquet(demo / "videomme" / "test-00000-of-00001.parquet")


def _option_texts(options) -> list[str]:
    return [re.sub(r"^[A-H]\.\s*", "", str(o)) for o in options]


def make_videomme(out: Path, demo: Path = DEMO) -> Path:
    if out.exists():
        shutil.rmtree(out)
    shutil.copytree(demo, out, ignore=shutil.ignore_patterns("manifest.json"))
    return out


def make_mlvu(out: Path, demo: Path = DEMO) -> Path:
    df = _demo_frame(demo)
    (out / "mlvu").mkdir(parents=True, exist_ok=True)
    (out / "video").mkdir(parents=True, exist_ok=True)
    rows = []
    for _, r in df.iterrows():
        texts = _option_texts(r.options)
        question = r.question + "\n" + "\n".join(f"({'ABCDEFGH'[i]}) {t}" for i, t in enumerate(texts))
        video_name = f"video/{r.videoID}.mp4"
        rows.append({"video_name": video_name, "duration": 30.0, "question": question, "candidates": texts,
                     "answer": r.answer, "task_type": MLVU_TYPE[r.source], "question_id": f"mlvu_{r.question_id}",
                     "source": r.source})
        if not (out / video_name).exists():
            shutil.copy(demo / "data" / f"{r.videoID}.mp4", out / video_name)
    pd.DataFrame(rows).to_parquet(out / "mlvu" / "test-00000-of-00001.parquet")
    return out


def _srt_to_lvb(path: Path) -> list[dict]:
    """LongVideoBench's subtitle JSON (``start``/``end`` as ``HH:MM:SS.mmm``, tag-free ``line``) from a
    Video-MME SRT; a malformed cue raises SubtitleError naming the file and the cue."""
    import srt

    from videorag_eval.benchmarks.subtitles import read_srt

    def stamp(t) -> str:
        return srt.timedelta_to_srt_timestamp(t).replace(",", ".")

    cues = []
    for cue in read_srt(path):
        text = re.sub(r"<[^>]+>", "", " ".join(cue.content.split("\n"))).strip()
        cues.append({"start": stamp(cue.start), "end": stamp(cue.end), "line": text})
    return cues


def make_longvideobench(out: Path, demo: Path = DEMO) -> Path:
    df = _demo_frame(demo)
    (out / "videos").mkdir(parents=True, exist_ok=True)
    (out / "subtitles").mkdir(parents=True, exist_ok=True)
    records = []
    for i, r in df.iterrows():
        texts = _option_texts(r.options)
        video_path, subtitle_path = f"{r.videoID}.mp4", f"{r.videoID}_en.json"
        if not (out / "videos" / video_path).exists():
            shutil.copy(demo / "data" / video_path, out / "videos" / video_path)
            (out / "subtitles" / subtitle_path).write_text(json.dumps(_srt_to_lvb(demo / "subtitle" / f"{r.videoID}.srt")))
        record = {"video_id": r.videoID, "video_path": video_path, "subtitle_path": subtitle_path, "duration": 30.0,
                  "duration_group": 60, "starting_timestamp_for_subtitles": 0, "question": r.question,
                  "question_category": LVB_CATEGORY[r.source], "topic_category": "synthetic",
                  "correct_choice": "ABCDE".index(r.answer), "id": f"lvb_{r.question_id}", "source": r.source,
                  "view_count": 0, "question_wo_referring_query": r.question}
        for k in range(5):
            record[f"option{k}"] = texts[k] if k < len(texts) else "N/A"
        records.append(record)
    (out / "lvb_val.json").write_text(json.dumps(records, indent=1))
    return out


MAKERS = {"videomme": make_videomme, "mlvu": make_mlvu, "longvideobench": make_longvideobench}


def remux(sources: list[Path], out: Path, title: str = "") -> Path:
    """Concatenate videos of identical encoding by copying packets (no re-encoding) into one MP4;
    ``title`` goes into the container metadata, so equal sources still give distinct file bytes."""
    import av

    out.parent.mkdir(parents=True, exist_ok=True)
    with av.open(str(sources[0])) as first, av.open(str(out), "w", format="mp4") as dst:
        dst.metadata["title"] = title or out.stem
        streams = {s.index: dst.add_stream_from_template(s) for s in first.streams if s.type in ("video", "audio")}
        ends: dict[int, int] = {}  # where the next source starts, per stream, in the stream's time base
        for src in sources:
            with av.open(str(src)) as c:
                starts: dict[int, int] = {}
                last = dict(ends)
                for packet in c.demux():
                    i = packet.stream.index
                    if packet.dts is None or i not in streams:
                        continue
                    shift = last.get(i, 0) - starts.setdefault(i, packet.dts)
                    packet.dts += shift
                    packet.pts += shift
                    ends[i] = max(ends.get(i, 0), packet.dts + (packet.duration or 0))
                    packet.stream = streams[i]
                    dst.mux(packet)
    return out


def make_sweep_set(out: Path, videos: int = 20, questions: int = 60, demo: Path = DEMO) -> Path:
    """A Video-MME-layout set of ``videos`` distinct files (the demo's videos, re-muxed with a distinct
    title so each has its own content hash) and ``questions`` questions spread evenly over them."""
    df = _demo_frame(demo)
    (out / "videomme").mkdir(parents=True, exist_ok=True)
    (out / "subtitle").mkdir(parents=True, exist_ok=True)
    demo_ids = sorted(df.videoID.unique())
    rows = []
    per_video = max(1, questions // videos)
    for k in range(videos):
        src = demo_ids[k % len(demo_ids)]
        vid = f"sweep_{k:03d}"
        remux([demo / "data" / f"{src}.mp4"], out / "data" / f"{vid}.mp4", title=vid)
        shutil.copy(demo / "subtitle" / f"{src}.srt", out / "subtitle" / f"{vid}.srt")
        for j, (_, r) in enumerate(df[df.videoID == src].head(per_video).iterrows()):
            rows.append({**r.to_dict(), "videoID": vid, "video_id": f"{k + 1:03d}", "question_id": f"{vid}-{j + 1}"})
    pd.DataFrame(rows[:questions]).to_parquet(out / "videomme" / "test-00000-of-00001.parquet")
    return out


def make_long_video(out: Path, minutes: float = 60.0, demo: Path = DEMO) -> Path:
    """One long video of at least ``minutes``: the demo's videos, in turn, re-muxed end to end."""
    import av

    srcs = sorted((demo / "data").glob("demo_*.mp4"))
    seconds = []
    for src in srcs:
        with av.open(str(src)) as c:
            seconds.append(float(c.duration or 0) / 1e6)
    chosen, total = [], 0.0
    while total < minutes * 60:
        k = len(chosen) % len(srcs)
        chosen.append(srcs[k])
        total += seconds[k]
    return remux(chosen, out, title=f"long_{minutes:g}min")


def make_all(root: Path, demo: Path = DEMO) -> dict[str, Path]:
    return {name: make(root / name, demo) for name, make in MAKERS.items()}


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("out", type=Path)
    for name, path in make_all(parser.parse_args().out).items():
        print(f"{name}: {path}")
