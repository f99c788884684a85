"""Speech to text with faster-whisper, cut into fixed windows (one retrievable document each).

The timestamped segments of a whole video are cached once per (video content, model, settings);
windowing happens after the cache, so another window length costs no transcription.
Audio is decoded and transcribed ``audio_window`` seconds at a time (bounded memory for hour-long
videos); on a GPU the batched pipeline of faster-whisper (``BatchedInferencePipeline``) is used.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from typing import Any

from ...core.records import AuxDoc
from ...runtime.devices import resolve_device
from ...runtime.weights import loading, package_version, resolve
from ...store.cache import Cache, make_key

log = logging.getLogger(__name__)


class NoAudioTrack(RuntimeError):
    def __init__(self, path: str):
        self.path = path
        super().__init__(f"no_audio: {path} has no audio track; ASR is skipped for its questions")


@dataclass(frozen=True)
class ASRSettings:
    model: str = "large-v3"
    device: str = "cpu"
    compute_type: str = "auto"
    language: str | None = None
    vad_filter: bool = True
    beam_size: int = 5
    window: float = 30.0
    chunking: str = "file"  # file: transcribe the whole audio once | window: each window alone (official code)
    audio_window: float = 600.0  # seconds of audio decoded and transcribed at once (0 = the whole track)
    batch_size: int = 16  # faster-whisper's batched pipeline, on a GPU only (1 = never batched)

    @classmethod
    def from_cfg(cls, cfg: Any) -> "ASRSettings":
        fields = cls.__dataclass_fields__
        settings = cls(**{k: cfg[k] for k in fields if k in cfg})
        if settings.chunking not in ("file", "window"):
            raise ValueError(f"aux.asr.chunking must be file or window, got {settings.chunking!r}")
        return settings


class WhisperASR:
    """faster-whisper transcription with an on-disk cache of segments per video."""

    namespace = "asr_segments"

    def __init__(self, settings: ASRSettings, cache: Cache):
        self.settings = settings
        self.cache = cache
        self._model = None
        self.seconds_transcribing = 0.0
        self.videos_transcribed = 0

    @property
    def identity(self) -> dict[str, Any]:
        s = self.settings
        return {
            "extractor": "faster-whisper",
            "version": package_version("faster-whisper"),
            "model": s.model,
            "compute_type": self._compute_type(),
            "language": s.language,
            # no language set: decided once per video (the first audio window's), not once per window
            **({"language_decision": "per_video"} if s.language is None and s.chunking == "file" else {}),
            "vad_filter": s.vad_filter,
            "beam_size": s.beam_size,
            **({"chunking": s.chunking, "window": s.window} if s.chunking != "file" else {}),
            "audio_window": s.audio_window,
            "batched": self._batched(),
        }

    def _batched(self) -> bool:
        return resolve_device(self.settings.device) == "cuda" and self.settings.batch_size > 1

    def _compute_type(self) -> str:
        if self.settings.compute_type != "auto":
            return self.settings.compute_type
        return "float16" if resolve_device(self.settings.device) == "cuda" else "int8"

    def _load(self):
        if self._model is None:
            from faster_whisper import WhisperModel

            device = resolve_device(self.settings.device)
            path = resolve(self.settings.model)
            log.info("loading faster-whisper %s on %s (%s)", self.settings.model, device, self._compute_type())
            with loading("faster-whisper model", self.settings.model):
                self._model = WhisperModel(path, device=device, compute_type=self._compute_type(), cpu_threads=0)
        return self._model

    def segments(self, video_path: str, video_hash: str) -> list[dict[str, Any]]:
        """Timestamped segments [{start, end, text}] of the whole video (cached)."""
        key = make_key(video=video_hash, **self.identity)
        cached = self.cache.get_json(self.namespace, key, group=video_hash)
        if cached is not None:
            if cached.get("no_audio"):
                raise NoAudioTrack(video_path)
            return cached["segments"]
        if not _has_audio(video_path):
            self.cache.put_json(self.namespace, key, {"no_audio": True, "segments": []}, group=video_hash)
            raise NoAudioTrack(video_path)
        model = self._load()
        t0 = time.perf_counter()
        extra_record: dict[str, Any] = {}
        if self.settings.chunking == "window":  # the official code: each 30-s window transcribed alone
            out, language, duration = self._transcribe_windows(model, video_path)
        else:
            from ..media import audio_windows

            transcribe, extra = model.transcribe, {}
            if self._batched():
                from faster_whisper import BatchedInferencePipeline

                transcribe, extra = BatchedInferencePipeline(model=model).transcribe, {"batch_size": self.settings.batch_size}
            # One language decision per video: aux.asr.language, else Whisper's detection on the first audio
            # window, then given to every later window (a window opening on music no longer flips the language)
            out, language, duration, given = [], self.settings.language, 0.0, []
            for offset, audio in audio_windows(video_path, self.settings.audio_window):
                given.append(language)
                segs, info = transcribe(audio, language=language, vad_filter=self.settings.vad_filter,
                                        beam_size=self.settings.beam_size, condition_on_previous_text=False, **extra)
                out += [{"start": round(s.start + offset, 2), "end": round(s.end + offset, 2), "text": s.text.strip()}
                        for s in segs]
                language = language or info.language
                duration = offset + info.duration
            extra_record = {"language_from": "aux.asr.language" if self.settings.language else "first audio window",
                            "window_languages": given}  # the language each window was transcribed with (None: detected)
        self.seconds_transcribing += time.perf_counter() - t0
        self.videos_transcribed += 1
        self.cache.put_json(self.namespace, key, {"segments": out, "language": language, "duration": duration,
                                                  "path": video_path, **extra_record}, group=video_hash)
        return out

    def _transcribe_windows(self, model, video_path: str):
        """As the official code: cut the audio into windows and transcribe each alone (the language
        detected per window when not set); segment times are shifted to the video's clock."""
        from faster_whisper import decode_audio

        rate = 16000
        audio = decode_audio(video_path, sampling_rate=rate)
        step = int(self.settings.window * rate)
        out, languages = [], []
        for k, begin in enumerate(range(0, len(audio), step)):
            segs, info = model.transcribe(audio[begin:begin + step], language=self.settings.language,
                                          vad_filter=self.settings.vad_filter, beam_size=self.settings.beam_size,
                                          condition_on_previous_text=False)
            offset = k * self.settings.window
            out += [{"start": round(s.start + offset, 2), "end": round(s.end + offset, 2), "text": s.text.strip()}
                    for s in segs]
            languages.append(info.language)
        return out, sorted(set(languages)), len(audio) / rate

    def documents(self, video_path: str, video_hash: str) -> list[AuxDoc]:
        return window_segments(self.segments(video_path, video_hash), self.settings.window)


def window_segments(segments: list[dict[str, Any]], window: float) -> list[AuxDoc]:
    """Group segments into fixed windows [k*w, (k+1)*w) by their start time; one document each."""
    groups: dict[int, list[dict[str, Any]]] = {}
    for seg in segments:
        if seg["text"]:
            groups.setdefault(int(seg["start"] // window), []).append(seg)
    return [
        AuxDoc("asr", " ".join(s["text"] for s in segs), k * window, (k + 1) * window)
        for k, segs in sorted(groups.items())
    ]


def _has_audio(path: str) -> bool:
    import av

    with av.open(path) as container:
        return any(s.type == "audio" for s in container.streams)
