import json
import os

import numpy as np

from videorag_eval.store.cache import Cache, make_key


def test_key_is_order_independent_and_setting_sensitive():
    assert make_key(video="h", model="tiny", frame=3) == make_key(frame=3, model="tiny", video="h")
    assert make_key(video="h", model="tiny") != make_key(video="h", model="base")


def test_json_and_array_round_trip_and_stats(tmp_path):
    c = Cache(tmp_path)
    assert c.get_json("asr", "k1") is None
    c.put_json("asr", "k1", {"segments": [{"text": "hello"}]})
    assert c.get_json("asr", "k1") == {"segments": [{"text": "hello"}]}
    c.put_array("emb", "k2", np.arange(6, dtype="float32").reshape(2, 3))
    np.testing.assert_array_equal(c.get_array("emb", "k2"), np.arange(6, dtype="float32").reshape(2, 3))
    assert c.stats["asr.miss"] == 1 and c.stats["asr.hit"] == 1 and c.stats["emb.hit"] == 1


def test_corrupt_entry_is_a_miss_not_a_crash(tmp_path):
    c = Cache(tmp_path)
    c.put_json("ocr", "abc", {"x": 1})
    path = next((tmp_path / "ocr").rglob("abc.json"))
    path.write_text('{"x": ')  # torn write from another tool
    assert c.get_json("ocr", "abc") is None
    assert c.stats["ocr.corrupt"] == 1


def test_writes_leave_no_temporary_files(tmp_path):
    c = Cache(tmp_path)
    for i in range(5):
        c.put_json("ns", f"k{i}", {"i": i})
    leftovers = [p for p in tmp_path.rglob("*") if p.name.startswith(".tmp-")]
    assert leftovers == []


def test_file_hash_is_content_based_and_memoised(tmp_path):
    c = Cache(tmp_path / "cache")
    a, b = tmp_path / "a.bin", tmp_path / "b.bin"
    a.write_bytes(b"same bytes")
    b.write_bytes(b"same bytes")
    assert c.file_hash(a) == c.file_hash(b)
    hits_before = c.stats["filehash.hit"]
    c.file_hash(a)
    assert c.stats["filehash.hit"] == hits_before + 1
    a.write_bytes(b"other bytes!")
    os.utime(a, ns=(1, 1))
    assert c.file_hash(a) != c.file_hash(b)
