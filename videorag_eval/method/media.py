"""Video decoding: probing a file, uniform frame sampling, reading frames.

Every failure becomes a ``VideoError`` that names the file and says what to do, so the caller can
record it against the questions of that video and go on.
"""

from __future__ import annotations

import os
from collections import Counter, OrderedDict
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..core.records import FrameSample


class VideoError(RuntimeError):
    """A video that cannot be used: missing, unreadable, truncated, or empty."""

    def __init__(self, path: str | os.PathLike[str], reason: str, kind: str = "unreadable_video"):
        self.path = str(path)
        self.reason = reason
        self.kind = kind
        super().__init__(f"{kind}: {self.path}: {reason}")


@dataclass(frozen=True)
class VideoInfo:
    path: str
    duration: float
    fps: float
    total_frames: int
    width: int
    height: int
    has_audio: bool


def probe(path: str | os.PathLike[str]) -> VideoInfo:
    """Open a video with decord (frames) and PyAV (streams); raise VideoError if unusable."""
    return _probe(path)[0]


def _probe(path: str | os.PathLike[str], opened: list | None = None) -> tuple[VideoInfo, dict[int, "object"]]:
    """``probe``, and the frames it decoded to check the file ({index: RGB array}: the first and the last);
    ``opened`` gets one entry per file opened (the container, the frame reader)."""
    p = Path(path)
    if not p.exists():
        raise VideoError(
            p, "file does not exist; check task.data_dir and that the benchmark's archives are extracted",
            kind="missing_video",
        )
    if p.stat().st_size == 0:
        raise VideoError(p, "file is empty (0 bytes); re-download or re-extract it")
    try:
        import av

        if opened is not None:
            opened.append("container")
        with av.open(str(p)) as container:
            has_audio = any(s.type == "audio" for s in container.streams)
    except Exception as exc:  # av raises many error types for broken containers
        raise VideoError(p, f"cannot open container ({type(exc).__name__}: {exc}); the file is truncated or corrupt; re-download or re-extract it") from exc
    if opened is not None:
        opened.append("frames")
    reader = _open_reader(p)
    total = len(reader)
    if total <= 0:
        raise VideoError(p, "no decodable video frames")
    fps = float(reader.get_avg_fps()) or 1.0
    # The last frame must decode too: a truncated file often lists frames it no longer has.
    ends = sorted({0, total - 1})
    batch = _read(reader, ends, p)
    height, width = batch[0].shape[:2]
    return VideoInfo(str(p), total / fps, fps, total, width, height, has_audio), {i: batch[k] for k, i in enumerate(ends)}


def _open_reader(p: Path):
    try:
        from decord import VideoReader, cpu

        return VideoReader(str(p), ctx=cpu(0), num_threads=1)
    except Exception as exc:
        raise VideoError(p, f"decord cannot open it ({type(exc).__name__}: {exc}); the file is truncated or corrupt; re-download or re-extract it") from exc


def _read(reader, indices, p: Path):
    try:
        return reader.get_batch(list(indices)).asnumpy()
    except Exception as exc:
        raise VideoError(p, f"frames {list(indices)[:4]}... do not decode ({type(exc).__name__}: {exc}); the file is truncated or corrupt; re-download or re-extract it") from exc


def uniform_indices(total_frames: int, n: int) -> list[int]:
    """N frame indices spread uniformly from the first to the last frame (as lmms-eval adapters do)."""
    import numpy as np

    if n <= 0:
        raise ValueError(f"frames must be positive, got {n}")
    n = min(n, total_frames)
    return [int(i) for i in np.linspace(0, total_frames - 1, n, dtype=int)]


def sample_frames(path: str | os.PathLike[str], n: int, rule=None) -> FrameSample:
    """Which N frames a cell uses (no decoding of pixels beyond the container's index).

    ``rule(total_frames, fps, n) -> indices`` picks them (``frame_sampling``: the inner adapter's own
    rule); None = uniform. With a ``VideoInfo`` from ``probe`` at hand, ``frames_of`` gives the same
    answer without opening the file again.
    """
    p = Path(path)
    if not p.exists():
        raise VideoError(p, "file does not exist", kind="missing_video")
    reader = _open_reader(p)
    return _choose(len(reader), float(reader.get_avg_fps()) or 1.0, n, rule)


def frames_of(info: VideoInfo, n: int, rule=None) -> FrameSample:
    """``sample_frames`` for a probed video: the same indices, from its frame count and rate."""
    return _choose(info.total_frames, info.fps, n, rule)


def _choose(total: int, fps: float, n: int, rule) -> FrameSample:
    if total > 0:  # more frames than the video has (frames=100000): each of its frames once, not n indices
        n = min(n, total)
    idx = uniform_indices(total, n) if rule is None else [int(i) for i in rule(total, fps, n)]
    return FrameSample(tuple(idx), tuple(round(i / fps, 3) for i in idx), fps, total, total / fps)


def read_frames(path: str | os.PathLike[str], indices) -> "list":
    """Decode the given frames as RGB uint8 arrays (H, W, 3)."""
    p = Path(path)
    reader = _open_reader(p)
    batch = _read(reader, indices, p)
    return [batch[i] for i in range(batch.shape[0])]


class FrameStore:
    """The cell's decoded frames, so that the probe, OCR, CLIP and the detector decode each frame of a video
    once per cell (``decode.max_frames_mb``), and the cell's decode accounting (``metrics.json`` ->
    ``decoding``).

    Frames are kept by (video, frame index), least recently used first out when the total would pass
    ``max_bytes`` (0: nothing kept, every read decodes: the behaviour before the store). A kept frame is
    read-only (a consumer that wrote into it would corrupt another consumer's input: it raises instead).
    What a consumer gets is the same pixels either way: decord decodes a frame exactly (accurate seek),
    whichever batch it is decoded in, so the store changes the work done, never a result.
    """

    def __init__(self, max_bytes: int = 1 << 30):
        self.max_bytes = max(0, int(max_bytes))
        self._frames: OrderedDict[tuple[str, int], Any] = OrderedDict()
        self.bytes = 0
        self.peak_bytes = 0
        self.evicted = 0
        self.videos: dict[str, Counter] = {}  # per video: opens, frames_decoded, frames_served, redecoded, <purpose>_...
        self._decoded: set[tuple[str, int]] = set()  # every (video, frame) this cell decoded at least once

    @classmethod
    def from_mb(cls, max_frames_mb: float | None) -> "FrameStore":
        return cls(int(float(max_frames_mb or 0) * (1 << 20)))

    def _count(self, path: str) -> Counter:
        return self.videos.setdefault(str(path), Counter())

    def probe(self, path: str | os.PathLike[str]) -> VideoInfo:
        """``probe``, keeping the frames it decoded (the first and the last) for OCR and DET."""
        opened: list = []
        c = self._count(str(path))
        try:
            info, frames = _probe(path, opened)
        finally:
            c["opens"] += len(opened)
            c["probe_opens"] += len(opened)
        self._note_decoded(str(path), list(frames), "probe")
        for i, frame in frames.items():
            self._keep(str(path), i, frame)
        return info

    def read(self, path: str | os.PathLike[str], indices, purpose: str = "frames") -> list:
        """The frames ``indices`` of ``path`` (RGB uint8 arrays), decoding only those not kept."""
        path = str(path)
        wanted = [int(i) for i in indices]
        c = self._count(path)
        have = {i: self._frames[(path, i)] for i in dict.fromkeys(wanted) if (path, i) in self._frames}
        for i in have:
            self._frames.move_to_end((path, i))
        missing = sorted(set(wanted) - set(have))
        c["frames_served"] += len(have)
        c[f"{purpose}_served"] += len(have)
        if missing:
            c["opens"] += 1
            c[f"{purpose}_opens"] += 1
            decoded = dict(zip(missing, read_frames(path, missing)))
            self._note_decoded(path, missing, purpose)
            for i, frame in decoded.items():
                kept = self._keep(path, i, frame)
                have[i] = frame if kept is None else kept
        return [have[i] for i in wanted]

    def _note_decoded(self, path: str, indices: list[int], purpose: str) -> None:
        c = self._count(path)
        c["frames_decoded"] += len(indices)
        c[f"{purpose}_decoded"] += len(indices)
        again = sum((path, i) in self._decoded for i in indices)
        c["redecoded"] += again
        self._decoded.update((path, i) for i in indices)

    def _keep(self, path: str, index: int, frame):
        size = int(getattr(frame, "nbytes", 0))
        if size <= 0 or size > self.max_bytes:
            return None
        if getattr(frame, "base", None) is not None:  # a view of its decode batch: keeping it would keep the batch
            frame = frame.copy()
        while self._frames and self.bytes + size > self.max_bytes:
            _, old = self._frames.popitem(last=False)
            self.bytes -= int(old.nbytes)
            self.evicted += 1
        frame.flags.writeable = False
        self._frames[(path, index)] = frame
        self.bytes += size
        self.peak_bytes = max(self.peak_bytes, self.bytes)
        return frame

    def clear(self) -> None:
        self._frames.clear()
        self.bytes = 0

    def report(self, questions: int | None = None) -> dict[str, Any]:
        """For metrics.json: totals, per purpose, per question and per video."""
        total: Counter = Counter()
        for c in self.videos.values():
            total.update(c)
        keys = ("opens", "frames_decoded", "frames_served", "redecoded")
        out: dict[str, Any] = {k: int(total.get(k, 0)) for k in keys}
        out["by_purpose"] = {p: {k: int(total.get(f"{p}_{k}", 0)) for k in ("opens", "decoded", "served")}
                             for p in ("probe", "ocr", "det") if any(total.get(f"{p}_{k}") for k in ("opens", "decoded", "served"))}
        out["videos"] = len(self.videos)
        if questions:
            out["questions"] = int(questions)
            out["per_question"] = {k: round(out[k] / questions, 3) for k in ("opens", "frames_decoded", "frames_served")}
        out["store"] = {"max_mb": round(self.max_bytes / (1 << 20), 1), "peak_mb": round(self.peak_bytes / (1 << 20), 1),
                        "evicted_frames": self.evicted}
        return out


def audio_windows(path: str | os.PathLike[str], seconds: float, sampling_rate: int = 16000):
    """Yield ``(offset_seconds, float32 mono samples)`` windows of at most ``seconds`` of audio.

    Decodes and resamples (PyAV) as it goes, so memory holds one window, not the whole track
    (one hour at 16 kHz is 230 MB as float32; a 10-minute window 38 MB). ``seconds <= 0``: one window.
    """
    import av
    import numpy as np

    limit = int(seconds * sampling_rate) if seconds and seconds > 0 else None
    resampler = av.audio.resampler.AudioResampler(format="s16", layout="mono", rate=sampling_rate)
    pending: list = []
    held = 0
    offset = 0

    def take(n: int | None):
        nonlocal pending, held
        buf = np.concatenate(pending) if pending else np.zeros(0, dtype=np.int16)
        n = len(buf) if n is None else n
        out, rest = buf[:n], buf[n:]
        pending, held = ([rest] if len(rest) else []), len(rest)
        return out.astype(np.float32) / 32768.0

    with av.open(str(path), mode="r", metadata_errors="ignore") as container:
        for frame in container.decode(audio=0):
            try:
                resampled = resampler.resample(frame)
            except av.error.InvalidDataError:  # a damaged packet: skip it, as faster-whisper does
                continue
            for rf in resampled:
                arr = rf.to_ndarray().reshape(-1)
                pending.append(arr)
                held += len(arr)
            while limit is not None and held >= limit:
                yield offset / sampling_rate, take(limit)
                offset += limit
        for rf in resampler.resample(None):  # flush
            pending.append(rf.to_ndarray().reshape(-1))
            held += rf.samples
    if held or offset == 0:
        yield offset / sampling_rate, take(None)
