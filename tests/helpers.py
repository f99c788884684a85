"""Shared helpers for tests: compose the real Hydra config and run a cell in-process."""

from __future__ import annotations

import json
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent

from videorag_eval.core.resources import CONF_DIR  # noqa: E402


def compose(*overrides: str):
    from hydra import compose as hydra_compose
    from hydra import initialize_config_dir

    with initialize_config_dir(config_dir=str(CONF_DIR), version_base="1.3"):
        return hydra_compose("config", overrides=list(overrides))


def run_cell(*overrides: str) -> Path:
    from videorag_eval.cell.runner import run_cell as _run

    return _run(compose(*overrides))


COMMITTED_CACHE = REPO / "tests" / "fixtures" / "demo_cache"
REGENERATE = "python tests/fixtures/make_demo_cache.py"


def copy_demo_cache(dst: Path) -> Path:
    """A writable copy of the committed pre-extracted demo cache in ``dst`` (its extraction entries only:
    decoupling replies, detections and the dataset copies are made by the cells that use it)."""
    import shutil

    assert (COMMITTED_CACHE / "layout.json").exists(), f"{COMMITTED_CACHE} missing: {REGENERATE}"
    shutil.copytree(COMMITTED_CACHE, dst, dirs_exist_ok=True)
    return dst


def run_cached_cell(cache: Path, *overrides: str) -> Path:
    """A demo cell on a pre-extracted cache with ``require_cache=true``: nothing is extracted; a cache that lacks
    an entry (a key changed since the cache was committed) fails naming the script that regenerates it."""
    from videorag_eval.method.pipeline import MissingCache

    try:
        return run_cell("require_cache=true", f"cache_dir={cache}", *overrides)
    except MissingCache as exc:
        raise AssertionError(f"the committed demo cache is stale ({exc}); regenerate it: {REGENERATE}") from exc


def read_cell(cell: Path) -> tuple[dict, list[dict]]:
    metrics = json.loads((cell / "metrics.json").read_text())
    samples = [json.loads(line) for line in (cell / "samples.jsonl").read_text().splitlines()]
    return metrics, samples


# --------------------------------------------------------------------------- media (PyAV; no system ffmpeg)


def strip_audio(src: Path | str, dst: Path | str) -> Path:
    """Copy ``src`` to ``dst`` with its first video stream only: packets copied as they are (no
    re-encoding, like ``ffmpeg -an -c:v copy``), every audio/subtitle stream dropped."""
    import av

    with av.open(str(src)) as inp, av.open(str(dst), "w") as out:
        vin = inp.streams.video[0]
        vout = out.add_stream_from_template(vin)
        for packet in inp.demux(vin):
            if packet.dts is None:  # the demuxer's final flush packet
                continue
            packet.stream = vout
            out.mux(packet)
    return Path(dst)


def truncate(src: Path | str, dst: Path | str, fraction: float = 1 / 3) -> Path:
    """The first ``fraction`` of ``src``'s bytes: a download that stopped part-way."""
    blob = Path(src).read_bytes()
    Path(dst).write_bytes(blob[: int(len(blob) * fraction)])
    return Path(dst)


def stream_types(path: Path | str) -> list[str]:
    """The kinds of the streams in a container, e.g. ``["video", "audio"]``."""
    import av

    with av.open(str(path)) as container:
        return [s.type for s in container.streams]


def write_test_video(path: Path | str, frames: int = 12, fps: int = 4, size: tuple[int, int] = (128, 96)) -> Path:
    """A silent mpeg4 test pattern (a coloured bar that grows frame by frame); mpeg4 is built into
    every PyAV wheel."""
    import av
    import numpy as np

    width, height = size
    with av.open(str(path), "w") as container:
        stream = container.add_stream("mpeg4", rate=fps)
        stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
        for i in range(frames):
            img = np.zeros((height, width, 3), np.uint8)
            img[:, : width // 8 * (i % 8 + 1)] = (255, 40 * (i % 6), 0)
            for packet in stream.encode(av.VideoFrame.from_ndarray(img, format="rgb24")):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    return Path(path)
