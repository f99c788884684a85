"""A damaged cache entry that still parses is never used (issue 19): an edited ASR text, garbled
embedding bytes, a wrong-shape array (payload checksums), a wrong-typed OCR entry written with a valid
checksum (type check), a file-hash memo pointing at another video (checked against the file it names).
Each is reported, removed and recomputed: the cell's answers equal those of the undamaged cache, and
the next run finds nothing wrong. Before, the damaged values were used and the cell finished, exit 0,
with other numbers."""

import hashlib
import json

import pytest

from conftest import REPO
from helpers import read_cell, run_cell
from videorag_eval.store.packs import MAGIC, decode_pack, encode_pack

pytestmark = pytest.mark.slow
DEMO_DATA = REPO / "tasks" / "demo" / "data"


def _split(data: bytes) -> tuple[dict, bytes]:
    n = int.from_bytes(data[len(MAGIC):len(MAGIC) + 8], "little")
    start = len(MAGIC) + 8
    return json.loads(data[start:start + n]), data[start + n:]


def _join(header: dict, blobs: bytes) -> bytes:
    raw = json.dumps(header, ensure_ascii=False, sort_keys=True).encode()
    return MAGIC + len(raw).to_bytes(8, "little") + raw + blobs


def _entry(keys, namespace: str) -> str:
    return next(k for k in keys if k.startswith(namespace + "/"))


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    cache = tmp_path_factory.mktemp("cache")
    args = ("rag=asr_ocr", "limit=2", f"cache_dir={cache}")  # the first 2 questions: video demo_001
    clean = run_cell(*args, f"results_dir={tmp_path_factory.mktemp('clean')}")
    packs = sorted((cache / "packs").rglob("*.pack"))
    video_pack = max(packs, key=lambda p: p.stat().st_size)  # the video's: ASR, OCR, embeddings
    memo_pack = next(p for p in packs if p.stem.startswith("dir"))  # the file-hash memos of data/

    # written with a valid checksum, wrong in content: a wrong-typed OCR entry
    pack = decode_pack(video_pack.read_bytes())
    ocr = _entry(pack.json, "ocr_frame")
    pack.json[ocr] = {"readings": "EASYOCR FAILED"}
    video_pack.write_bytes(encode_pack(pack))
    # changed after they were written (checksums no longer match): ASR text, embedding bytes, an array's shape
    header, blobs = _split(video_pack.read_bytes())
    asr = _entry(header["json"], "asr_segments")
    header["json"][asr]["segments"][0]["text"] = "The capital is Atlantis."
    emb = _entry(header["arrays"], "text_embedding")
    dtype, shape, off, size = header["arrays"][emb][:4]
    blobs = blobs[:off] + bytes(reversed(blobs[off:off + size])) + blobs[off + size:]
    raw = _entry(header["arrays"], "text_embedding_raw")
    header["arrays"][raw][1] = [2, header["arrays"][raw][1][0] // 2]
    video_pack.write_bytes(_join(header, blobs))
    damaged = run_cell(*args, f"results_dir={tmp_path_factory.mktemp('damaged')}")

    # the memo of demo_001 pointing at demo_002 (valid checksum): demo_001's texts would go into demo_002's pack
    other = DEMO_DATA / "data" / "demo_002.mp4"
    other_hash = hashlib.sha256(other.read_bytes()).hexdigest()
    memo = decode_pack(memo_pack.read_bytes())
    key = _entry(memo.json, "filehash")
    st = other.stat()
    memo.json[key] = {"sha256": other_hash, "path": str(other.resolve()), "size": st.st_size, "mtime_ns": st.st_mtime_ns}
    memo_pack.write_bytes(encode_pack(memo))
    misled = run_cell(*args, f"results_dir={tmp_path_factory.mktemp('misled')}")
    other_pack = cache / "packs" / other_hash[:2] / f"{other_hash}.pack"

    again = run_cell(*args, f"results_dir={tmp_path_factory.mktemp('again')}")
    return {"clean": clean, "damaged": damaged, "misled": misled, "again": again, "other_pack": other_pack,
            "entries": {"ocr": ocr, "asr": asr, "emb": emb, "raw": raw}}


def _answers(cell):
    _, samples = read_cell(cell)
    return {s["question_id"]: (s["prediction"], s["aux"], s["warnings"]) for s in samples}


def test_damaged_entries_are_not_used_the_answers_equal_the_clean_run(runs):
    assert _answers(runs["damaged"]) == _answers(runs["clean"])
    metrics, samples = read_cell(runs["damaged"])
    assert metrics["n_degraded"] == 0  # the wrong-typed OCR entry is not an "OCR failure" of the video
    assert not any("Atlantis" in json.dumps(s["aux"]) for s in samples)


def test_each_damaged_entry_is_reported_and_recomputed(runs):
    metrics, _ = read_cell(runs["damaged"])
    cache = metrics["cache"]
    for namespace in ("asr_segments", "ocr_frame", "text_embedding", "text_embedding_raw"):
        assert cache.get(f"{namespace}.corrupt", 0) >= 1, (namespace, cache)
    assert metrics["computed"]["asr_videos"] == 1  # the ASR was transcribed again, not used edited
    log = (runs["damaged"] / "run.log").read_text()
    for entry in runs["entries"].values():
        assert entry in log  # the warning names the entry
    assert "does not match its checksum" in log and "is not what its namespace holds" in log


def test_a_file_hash_memo_naming_another_video_is_not_trusted(runs):
    assert _answers(runs["misled"]) == _answers(runs["clean"])
    metrics, _ = read_cell(runs["misled"])
    assert metrics["cache"].get("filehash.corrupt") == 1
    assert "demo_002.mp4" in (runs["misled"] / "run.log").read_text()  # the warning names the file it named
    assert not runs["other_pack"].exists()  # demo_001's texts were not written into demo_002's pack


def test_the_next_run_finds_a_repaired_cache(runs):
    assert _answers(runs["again"]) == _answers(runs["clean"])
    metrics, _ = read_cell(runs["again"])
    assert not [k for k, v in metrics["cache"].items() if k.endswith(".corrupt") and v]
    assert "not used" not in (runs["again"] / "run.log").read_text()
