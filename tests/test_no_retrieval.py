"""The no-retrieval arm (``rag.retrieval=false``, ``rag=transcript``): every ASR/OCR document in time order,
no decoupling request unless DET is on, within the token budget (latest documents dropped first); cells that
existed keep their directories, and the redundant combinations are one cell each."""

from __future__ import annotations

import json

import pytest

from helpers import REPO, compose, read_cell, run_cell
from videorag_eval.cell.identity import cell_dir, identity
from videorag_eval.core.records import AuxDoc
from videorag_eval.method.rag_settings import RagSettings
from videorag_eval.cell.settings import ConfigError, check_config

# Directory names of cells computed by the code before the key existed (main at 7d6ec8a): none may move.
BEFORE = {
    (): "f8-asr+ocr+det_t0.3-7eb689bb",
    ("rag=none",): "f8-none-e60e5129",
    ("rag=asr",): "f8-asr_t0.3-faa9d2f3",
    ("rag=ocr",): "f8-ocr_t0.3-64c9522e",
    ("rag=det",): "f8-det_t0.3-8efa59ff",
    ("rag=asr_ocr",): "f8-asr+ocr_t0.3-d10b758e",
    ("rag=subtitles",): "f8-subtitles-ae3c7657",
    ("rag=full", "method=official"): "f8-asr+ocr+det_t0.3-cfadacc5",
    ("rag=asr", "rag.threshold=0.5"): "f8-asr_t0.5-131b0bf9",
    ("model=llava_video_7b", "task=videomme"): "f64-asr+ocr+det_t0.3-210310a1",
    ("model=llava_video_7b", "task=videomme", "rag=none"): "f64-none-8dd2c018",
    ("model=qwen2_vl_7b", "task=mlvu", "rag=asr_ocr"): "f32-asr+ocr_t0.3-8b6099b1",
    ("model=qwen2_5_vl_7b", "task=longvideobench", "rag=subtitles"): "f32-subtitles-2dfcf432",
    ("limit=5", "rag=asr"): "f8-asr_t0.3-n5-b38c29d1",
    # moved by issue 24 (method=official loads LLaVA-Video with the checkpoint's own pooling, `overwrite: false`
    # in its method_args; docs/results.md, "Cells that moved"), not by rag.retrieval: b759d5f1 before it
    ("model=llava_video_7b", "task=videomme", "rag=asr", "method=official"): "f64-asr_t0.3-1afd6b26",
}


@pytest.mark.parametrize("overrides,name", sorted(BEFORE.items()))
def test_cells_with_retrieval_keep_their_directories(overrides, name):
    assert cell_dir(compose(*overrides)).name == name
    assert cell_dir(compose(*overrides, "rag.retrieval=true")).name == name  # the default, said out loud


@pytest.mark.parametrize("preset", ["none", "subtitles", "det"])
def test_retrieval_off_without_asr_or_ocr_is_the_same_cell(preset):
    # nothing to retrieve (DET is never retrieved): a sweep over rag.retrieval runs these once
    assert cell_dir(compose(f"rag={preset}", "rag.retrieval=false")) == cell_dir(compose(f"rag={preset}"))


def test_no_retrieval_arms_are_new_cells_and_equivalent_spellings_coincide():
    transcript = cell_dir(compose("rag=transcript"))
    assert transcript.name.startswith("f8-asr_noretrieval-")
    assert cell_dir(compose("rag=asr", "rag.retrieval=false")) == transcript  # the preset's name is not a setting
    assert cell_dir(compose("rag=transcript", "rag.threshold=0.5")) == transcript  # no threshold filters anything
    assert cell_dir(compose("rag=transcript", "rag.decouple=fallback")) == transcript  # no request is asked
    assert transcript != cell_dir(compose("rag=asr"))
    # `rag=transcript rag.retrieval=true` (the sweep rag=...,transcript rag.retrieval=true,false) is rag=asr's cell
    assert cell_dir(compose("rag=transcript", "rag.retrieval=true")) == cell_dir(compose("rag=asr"))
    full_nr = cell_dir(compose("rag=full", "rag.retrieval=false"))
    assert full_nr.name.startswith("f8-asr+ocr+det_noretrieval-") and full_nr != cell_dir(compose("rag=full"))
    # DET still asks for the request: rag.decouple changes what it detects
    assert cell_dir(compose("rag=full", "rag.retrieval=false", "rag.decouple=fallback")) != full_nr
    ident = identity(compose("rag=transcript"))
    assert ident["rag"]["retrieval"] is False and "threshold" not in ident["rag"]


def test_settings_of_the_no_retrieval_arm():
    rag = RagSettings.from_cfg(compose("rag=transcript").rag)
    assert (rag.asr, rag.ocr, rag.det, rag.retrieval) == (True, False, False, False)
    assert rag.unretrieved and not rag.needs_request and rag.label() == "asr_noretrieval"
    full_nr = RagSettings.from_cfg(compose("rag=full", "rag.retrieval=false").rag)
    assert full_nr.needs_request and full_nr.label() == "asr+ocr+det_noretrieval"
    assert RagSettings.from_cfg(compose("rag=det", "rag.retrieval=false").rag).label() == "det_t0.3"
    assert RagSettings.from_cfg(compose("rag=asr").rag).needs_request


def test_without_retrieval_no_encoder_weight_is_required():
    from videorag_eval.cell.preflight import cell_weights

    def encoder(*overrides):
        return any(w[0].startswith("text encoder") for w in cell_weights(compose("model=llava_video_7b", "task=videomme", *overrides)))

    assert encoder("rag=asr") and not encoder("rag=transcript") and not encoder("rag=asr_ocr", "rag.retrieval=false")
    assert encoder("rag=transcript", "model=text_only", "task=demo")  # the weight-free model reads text with it


def test_a_bad_retrieval_value_is_refused_naming_the_key():
    with pytest.raises(ConfigError, match=r"rag\.retrieval='sometimes' is not allowed; allowed: true, false"):
        check_config(compose("rag.retrieval=sometimes"))


# -- the token budget without retrieval -------------------------------------------------------------


def _doc(source, start, score=None, frame=None):
    return AuxDoc(source, f"{source}@{start}", float(start), float(start) + 1, frame, score)


def test_unretrieved_documents_are_dropped_latest_first_before_det():
    from videorag_eval.method.budget import DROP_RULES, drop_order, drop_rule

    docs = {"asr": [_doc("asr", 0), _doc("asr", 30), _doc("asr", 60)], "ocr": [_doc("ocr", 10, frame=3), _doc("ocr", 45, frame=9)],
            "det": [_doc("det", 5, frame=1), _doc("det", 50, frame=12)]}
    order = drop_order(docs, det_scores={1: 0.2, 12: 0.9})
    assert [docs[s][p].text for s, p in order] == ["asr@60", "ocr@45", "asr@30", "ocr@10", "asr@0", "det@5", "det@50"]
    assert drop_rule(docs) == {"unretrieved": DROP_RULES["unretrieved"], "det": DROP_RULES["det"]}


def test_retrieved_documents_keep_their_drop_order():
    from videorag_eval.method.budget import drop_order, drop_rule

    docs = {"asr": [_doc("asr", 0, 0.5), _doc("asr", 30, 0.4)], "ocr": [_doc("ocr", 10, 0.45, 3)], "det": [_doc("det", 5, None, 1)]}
    assert [docs[s][p].text for s, p in drop_order(docs)] == ["asr@30", "ocr@10", "asr@0", "det@5"]
    assert set(drop_rule(docs)) == {"retrieved", "det"}


# -- end to end: the scripted stand-in LVLM through the real wrapper, pipeline and evaluator -------------

SCRIPT = {"*": {"ASR": "what the narrator says", "DET": ["red circle"], "TYPE": ["number"]}}
VIDEOS = ("demo_006", "demo_010")  # speech in two 30-s windows each: two ASR documents per video


def _manifest() -> dict:
    m = json.loads((REPO / "tasks" / "demo" / "data" / "manifest.json").read_text())
    return {v["video_id"]: v for v in m["videos"]}


def _two_video_copy(root):
    """The demo's data with only VIDEOS (laid out as a Video-MME copy: task.data_dir)."""
    import shutil

    import pandas as pd

    src = REPO / "tasks" / "demo" / "data"
    (root / "videomme").mkdir(parents=True)
    (root / "data").mkdir()
    (root / "subtitle").mkdir()
    rows = pd.read_parquet(src / "videomme" / "test-00000-of-00001.parquet")
    rows[rows["videoID"].isin(VIDEOS)].to_parquet(root / "videomme" / "test-00000-of-00001.parquet")
    for v in VIDEOS:
        shutil.copy(src / "data" / f"{v}.mp4", root / "data")
        shutil.copy(src / "subtitle" / f"{v}.srt", root / "subtitle")
    return root


@pytest.fixture(scope="module")
def cells(tmp_path_factory, e2e_cache):
    root = tmp_path_factory.mktemp("noretrieval")
    script = root / "script.json"
    script.write_text(json.dumps(SCRIPT))
    data = _two_video_copy(root / "data")
    common = ["model=scripted", f"model.model_args.script={script}", f"task.data_dir={data}",
              f"results_dir={root / 'results'}", f"cache_dir={e2e_cache}"]
    out = {}
    for name, extra in (("asr", ["rag=asr"]), ("transcript", ["rag=transcript"]),
                        ("full_nr", ["rag=full", "rag.retrieval=false"]),
                        ("budget", ["rag=transcript", "rag.token_budget=45"])):
        out[name] = read_cell(run_cell(*common, *extra))
    return out


@pytest.mark.slow
def test_transcript_gives_every_asr_document_in_time_order_and_asks_nothing(cells):
    metrics, samples = cells["transcript"]
    assert metrics["rag"]["retrieval"] is False and metrics["rag"]["label"] == "asr_noretrieval"
    # no decoupling request: none generated, none read from the reply cache, no inner call for it
    assert metrics["decoupling"]["generated"] == 0 and metrics["decoupling"]["cached"] == 0
    assert metrics["batching"]["inner_calls"]["decouple"] == 0
    manifest = _manifest()
    for s in samples:
        assert s["request"] is None and "not asked" in s["request_note"] and s["queries"] == {}
        docs = s["aux_docs"]["asr"]
        assert len(docs) == s["aux_candidates"]["asr"] > 0  # every document of the video, none filtered out
        assert [d["start"] for d in docs] == sorted(d["start"] for d in docs)
        assert all(d["score"] is None for d in docs)
        video = manifest[s["question_id"].split("-")[0]]
        assert len(docs) == len({int(sp["start"] // 30) for sp in video["speech"]}) == 2  # one per 30-s window spoken in
    # the retrieval arm asked its request and kept only what matched: never more than the transcript, here less
    _, asr = cells["asr"]
    by_q = {s["question_id"]: s for s in samples}
    assert all(a["request"] == SCRIPT["*"] for a in asr)
    assert all(len(a["aux"]["asr"]) <= len(by_q[a["question_id"]]["aux"]["asr"]) for a in asr)
    assert any(len(a["aux"]["asr"]) < len(by_q[a["question_id"]]["aux"]["asr"]) for a in asr)


@pytest.mark.slow
def test_full_without_retrieval_gives_every_ocr_document_and_asks_for_det(cells):
    metrics, samples = cells["full_nr"]
    assert metrics["rag"]["label"] == "asr+ocr+det_noretrieval"
    assert metrics["decoupling"]["generated"] + metrics["decoupling"]["cached"] == len(samples) == 10  # DET needs its objects
    for s in samples:
        assert s["request"] == SCRIPT["*"] and s["queries"] == {}  # requested for DET; no retrieval query
        for source in ("asr", "ocr"):
            assert len(s["aux"][source]) == s["aux_candidates"][source]
        assert s["det"]["entities"] == ["red circle"]
    manifest = _manifest()
    for s in samples:  # every screen text of the video, in the order shown
        assert s["aux"]["ocr"] == [t["text"] for t in manifest[s["question_id"].split("-")[0]]["screen_text"]]


@pytest.mark.slow
def test_transcript_within_a_token_budget_drops_the_latest_documents(cells):
    from videorag_eval.method.budget import DROP_RULES

    metrics, samples = cells["budget"]
    cut = 0
    for s in samples:  # 45 tokens: some transcripts fit, others lose their end
        kept, dropped = [d["start"] for d in s["aux_docs"]["asr"]], [d["start"] for d in s["aux_dropped"]]
        assert s["aux_budget"]["tokens_after"] <= 45 and s["aux_budget"]["drop_rule"] == {"unretrieved": DROP_RULES["unretrieved"]}
        assert sorted(kept + dropped) == [0.0, 30.0] and dropped == sorted(dropped, reverse=True)
        assert all(d > k for d in dropped for k in kept)  # cut from the end, never from the middle
        cut += bool(kept and dropped)
    assert cut > 0, "the budget must keep the start of some transcript and drop its end"
    assert metrics["token_budget"]["drop_rules"] == {"unretrieved": DROP_RULES["unretrieved"]}
