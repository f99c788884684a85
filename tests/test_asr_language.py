"""With ``aux.asr.language`` unset, ASR decides the language once per video (the first audio window's),
not once per ``audio_window``: every later window is transcribed with that language.

Offline only Whisper tiny.en can run (an English-only model: its detection always says "en"), so this
shows the decision through the language each window was actually given, on real audio in 10-s windows."""

import pytest

from videorag_eval.store.cache import Cache, make_key
from videorag_eval.method.extractors.asr import ASRSettings, WhisperASR

pytestmark = pytest.mark.slow


def _entry(asr: WhisperASR, cache: Cache, path: str) -> dict:
    digest = cache.file_hash(path)
    asr.segments(path, digest)
    return cache.get_json(asr.namespace, make_key(video=digest, **asr.identity), group=digest)


def test_one_language_decision_per_video(demo_data, tmp_path):
    cache = Cache(tmp_path)
    path = str(demo_data / "data" / "demo_002.mp4")  # 36 s: four 10-s windows
    unset = WhisperASR(ASRSettings(model="packaged:whisper-tiny.en", compute_type="int8", language=None, beam_size=1,
                                   audio_window=10.0), cache)
    entry = _entry(unset, cache, path)
    assert entry["window_languages"] == [None, "en", "en", "en"]  # detected on the first window, then given
    assert entry["language"] == "en" and entry["language_from"] == "first audio window"
    assert unset.identity["language_decision"] == "per_video"  # transcripts cached per window never reused

    pinned = WhisperASR(ASRSettings(model="packaged:whisper-tiny.en", compute_type="int8", language="en", beam_size=1,
                                    audio_window=10.0), cache)
    entry = _entry(pinned, cache, path)
    assert entry["window_languages"] == ["en"] * 4 and entry["language_from"] == "aux.asr.language"
