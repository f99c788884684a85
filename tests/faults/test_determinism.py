"""The same config twice gives identical samples.jsonl apart from timings."""

import json

import pytest

from helpers import run_cell

pytestmark = pytest.mark.slow
TIMING_KEYS = {"seconds"}


def _samples(cell):
    rows = [json.loads(line) for line in (cell / "samples.jsonl").read_text().splitlines()]
    return [{k: v for k, v in r.items() if k not in TIMING_KEYS} for r in rows]


def test_same_config_twice_gives_identical_samples(tmp_path, e2e_cache):
    args = ("rag=asr_ocr", "limit=4", f"cache_dir={e2e_cache}")
    first = run_cell(*args, f"results_dir={tmp_path / 'a'}")
    second = run_cell(*args, f"results_dir={tmp_path / 'b'}")
    a, b = _samples(first), _samples(second)
    assert len(a) == 4 and any(r["aux"].get("asr") or r["aux"].get("ocr") for r in a)
    assert a == b
    assert (first / "identity.json").read_text() == (second / "identity.json").read_text()
