"""Issue 18, "Comparable numbers": the official setup for LLaVA-Video under ``method=official``, raw CLIP dot
products for DET keyframes under ``method=official``, the auxiliary text's token budget, the OCR cache key's
reading path, and the lmms-eval CLI path's subtitle frame_num."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from helpers import compose, read_cell, run_cell
from test_adapter_contracts import _init_params, _source_of
from test_detection_models import tiny_clip  # noqa: F401  (fixture)

from videorag_eval.runtime.adapter_specs import SPECS
from videorag_eval.store.cache import Cache

REPO = Path(__file__).resolve().parent.parent


# -- 1. method=official loads LLaVA-Video as the official code: bfloat16, LLaVA-Video's time instruction ----------

@pytest.mark.parametrize("model", ["llava_video_7b", "llava_video_72b"])
def test_official_llava_video_gets_bf16_and_the_time_instruction(model):
    from videorag_eval.cell.identity import cell_dir, identity
    from videorag_eval.lmms.decoupling_cache import model_identity
    from videorag_eval.runtime.model_args import adapter_args, apply_method_args

    official, default, paper = (compose(f"model={model}", f"method={m}", "task=videomme") for m in ("official", "default", "paper"))
    args = adapter_args(official)
    assert args["torch_dtype"] == "bfloat16" and args["add_time_instruction"] is True
    for other in (default, paper):  # the adapter's own defaults (float16, no time instruction) stay
        assert "torch_dtype" not in adapter_args(other) and "add_time_instruction" not in adapter_args(other)
    # the names are the installed llava_vid adapter's own parameters (read with ast: no llava import)
    params, strict, _ = _init_params(SPECS["llava_vid"].class_path)
    assert {"torch_dtype", "add_time_instruction"} <= params and strict  # strict: an unknown key would fail
    source = _source_of(SPECS["llava_vid"].class_path.rsplit(".", 1)[0])[0].read_text()
    assert 'if self.torch_dtype == "bfloat16":' in source  # the string it compares with: "bfloat16" exactly
    assert "if self.add_time_instruction:" in source and "The video lasts for" in source
    # the cell identity holds the merged arguments: official and default never share a directory,
    # also without auxiliary text (where `method` itself is not part of the identity)
    assert identity(official)["model"]["model_args"]["torch_dtype"] == "bfloat16"
    assert cell_dir(official) != cell_dir(default)
    none_official = compose(f"model={model}", "method=official", "task=videomme", "rag=none")
    none_default = compose(f"model={model}", "method=default", "task=videomme", "rag=none")
    assert cell_dir(none_official) != cell_dir(none_default)
    assert cell_dir(none_default) == cell_dir(compose(f"model={model}", "method=paper", "task=videomme", "rag=none"))
    # cached decoupling replies of a bf16 model are not those of the fp16 one
    assert model_identity(official, "with_video") != model_identity(default, "with_video")
    # config.yaml shows what the adapter is built with; applying twice changes nothing
    before = cell_dir(official)
    apply_method_args(official)
    apply_method_args(official)
    assert official.model.model_args.torch_dtype == "bfloat16" and cell_dir(official) == before


def test_the_adapter_is_built_with_the_official_args(monkeypatch):
    import lmms_eval.models

    from videorag_eval.lmms.factory import build_inner

    built = {}

    class Recorder:
        def __init__(self, **kwargs):
            built.update(kwargs)

    monkeypatch.setattr(lmms_eval.models, "get_model", lambda name, force_simple=False: Recorder)
    monkeypatch.setattr("videorag_eval.lmms.adapters.apply_adapter_fixes", lambda adapter: None)
    build_inner(compose("model=llava_video_7b", "method=official"), pipeline=None)
    assert built["torch_dtype"] == "bfloat16" and built["add_time_instruction"] is True and built["max_frames_num"] == 64
    built.clear()
    build_inner(compose("model=llava_video_7b"), pipeline=None)
    assert "torch_dtype" not in built and "add_time_instruction" not in built


def test_official_changes_no_other_models_args():
    from videorag_eval.cell.identity import cell_dir
    from videorag_eval.runtime.model_args import adapter_args

    for model in ("qwen2_vl_7b", "llava_onevision_7b", "video_llava_7b", "text_only"):
        a, b = compose(f"model={model}", "method=official", "rag=none"), compose(f"model={model}", "rag=none")
        assert adapter_args(a) == adapter_args(b)
        assert cell_dir(a) == cell_dir(b)  # no auxiliary text, same adapter arguments: one cell


# -- 2. raw CLIP dot products for DET keyframes under method=official ---------------------------------------------

def test_method_profiles_set_the_keyframe_similarity():
    assert compose("method=official").aux.det.keyframes.similarity == "dot"
    assert compose("method=default").aux.det.keyframes.similarity == "cosine"
    assert compose("method=paper").aux.det.keyframes.similarity == "cosine"
    from videorag_eval.cell.identity import cell_dir

    real = ("task=videomme", "aux=hub", "model=qwen2_vl_7b")  # CLIP keyframes (rule=paper)
    assert cell_dir(compose(*real, "aux.det.keyframes.similarity=dot")) != cell_dir(compose(*real))


def _images(n: int, seed: int = 3) -> list:
    """Frames whose CLIP features differ in norm as well as direction: noise of different contrast."""
    rng = np.random.default_rng(seed)
    out = []
    for k in range(n):
        base = rng.integers(0, 256, (32, 32, 3)).astype(np.float64)
        scale = 0.1 + 0.9 * (k % 4) / 3
        out.append(np.clip(128 + (base - 128) * scale + 40 * (k % 3), 0, 255).astype(np.uint8))
    return out


def _official(tiny_clip, images, entities, beta=3.0, tau=0.3):
    """The official code's keyframe scores written out directly (fp32 here; the official code runs fp16)."""
    import torch
    from transformers import CLIPModel, CLIPProcessor

    model, processor = CLIPModel.from_pretrained(tiny_clip).eval(), CLIPProcessor.from_pretrained(tiny_clip)
    with torch.no_grad():
        img = model.get_image_features(pixel_values=processor(images=images, return_tensors="pt")["pixel_values"])
        text = processor(text=["A picture of " + e for e in entities], return_tensors="pt", padding=True, truncation=True)
        txt = model.get_text_features(input_ids=text["input_ids"], attention_mask=text["attention_mask"])
        sims = (img @ txt.T).mean(1).numpy().astype(np.float64)
    alpha = beta * (len(sims) / 16)
    normalised = sims * alpha / np.sum(sims)
    return sims, [i for i in range(len(sims)) if normalised[i] > tau]


def test_dot_is_the_official_formula_and_differs_from_cosine(tiny_clip, tmp_path):
    from videorag_eval.method.detection.keyframes import ClipKeyframes
    from videorag_eval.core.records import FrameSample

    n = 16
    images = _images(n)
    frames = FrameSample(tuple(range(n)), tuple(float(i) for i in range(n)), 1.0, n, float(n))
    decode = lambda idx: [images[i] for i in idx]  # noqa: E731
    entities = ["red circle", "blue square"]
    cache = Cache(tmp_path)
    dot = ClipKeyframes(cache, tiny_clip, rule="paper", beta=3.0, similarity="dot").select("v", frames, entities, decode)
    cos = ClipKeyframes(cache, tiny_clip, rule="paper", beta=3.0).select("v", frames, entities, decode)
    sims, kept = _official(tiny_clip, images, entities)
    assert [dot.scores[i] for i in range(n)] == pytest.approx(list(sims), rel=1e-4, abs=1e-5)
    assert dot.keyframes == kept
    # cosines are not the raw dot products (a random tiny CLIP scores below zero: the sum's sign decides here)
    assert [cos.scores[i] for i in range(n)] != pytest.approx([dot.scores[i] for i in range(n)], rel=1e-3)
    # both feature forms were cached by the first computation: the cosine selector loaded nothing
    assert cache.stats["clip_image.miss"] == n  # only the dot selector's first look-up missed


def test_per_frame_norms_make_dot_and_cosine_keep_different_frames(tmp_path, monkeypatch):
    """Positive scores as real CLIP gives: 16 frames at cosine 0.5 (norm 1), frame 3 at cosine 0.9 (norm 1),
    frame 10 at cosine 0.5 with norm 4. Cosine keeps frame 3, the official dot product frame 10."""
    from videorag_eval.store.cache import make_key
    from videorag_eval.method.detection.keyframes import PROMPT, ClipKeyframes
    from videorag_eval.core.records import FrameSample

    model, n = "no-such-clip", 16
    cache = Cache(tmp_path)
    text = np.array([1.0, 0.0], np.float32)
    raw = {i: np.array([0.5, np.sqrt(0.75)], np.float32) for i in range(n)}
    raw[3] = np.array([0.9, np.sqrt(1 - 0.81)], np.float32)
    raw[10] = 4 * raw[10]
    prompt = PROMPT.format("boat")
    plain_t = make_key(model=model, prompt=prompt)
    cache.put_array("clip_text", plain_t, text, group=plain_t[:2])
    cache.put_array("clip_text", make_key(model=model, prompt=prompt, features="raw"), text, group=plain_t[:2])
    for i, vec in raw.items():
        cache.put_array("clip_image", make_key(video="v", frame=i, model=model), vec / np.linalg.norm(vec), group="v")
        cache.put_array("clip_image", make_key(video="v", frame=i, model=model, features="raw"), vec, group="v")
    frames = FrameSample(tuple(range(n)), tuple(float(i) for i in range(n)), 1.0, n, float(n))
    no_decode = lambda idx: pytest.fail("decoded a frame although everything was cached")  # noqa: E731
    dot = ClipKeyframes(cache, model, rule="paper", beta=3.0, similarity="dot").select("v", frames, ["boat"], no_decode)
    cos = ClipKeyframes(cache, model, rule="paper", beta=3.0).select("v", frames, ["boat"], no_decode)
    assert cos.keyframes == [3] and dot.keyframes == [10]
    s = np.array([float(raw[i] @ text) for i in range(n)])  # the official formula, written out
    assert dot.keyframes == [i for i in range(n) if s[i] * (3.0 * n / 16) / s.sum() > 0.3]
    top_dot = ClipKeyframes(cache, model, rule="top_k", top_k=1, similarity="dot").select("v", frames, ["boat"], no_decode)
    top_cos = ClipKeyframes(cache, model, rule="top_k", top_k=1).select("v", frames, ["boat"], no_decode)
    assert (top_cos.keyframes, top_dot.keyframes) == ([3], [10])


def test_clip_cache_keeps_raw_and_normalised_apart(tiny_clip, tmp_path):
    from videorag_eval.method.detection.keyframes import ClipKeyframes

    images = _images(4)
    decode = lambda idx: [images[i] for i in idx]  # noqa: E731
    sel = ClipKeyframes(Cache(tmp_path), tiny_clip, similarity="dot")
    raw = sel.image_features("v", [0, 1, 2, 3], decode)
    unit = sel.image_features("v", [0, 1, 2, 3], decode, raw=False)
    norms = np.linalg.norm(raw, axis=1)
    assert not np.allclose(norms, 1.0) and np.allclose(np.linalg.norm(unit, axis=1), 1.0, atol=1e-5)
    assert np.allclose(raw / norms[:, None], unit, atol=1e-5)


# -- 3. the token budget of the auxiliary text ------------------------------------------------------------------

def _doc(source, text, start, score=None, frame=None):
    from videorag_eval.core.records import AuxDoc

    return AuxDoc(source, text, float(start), float(start), frame_index=frame, score=score)


def test_budget_drops_the_lowest_scoring_first_and_keeps_order():
    from videorag_eval.method.budget import fit
    from videorag_eval.method.prompt import count_tokens, render_block

    retrieved = {"asr": [_doc("asr", "alpha beta gamma delta", 0, 0.9), _doc("asr", "epsilon zeta eta theta", 30, 0.35),
                         _doc("asr", "iota kappa lambda mu", 60, 0.6)],
                 "ocr": [_doc("ocr", "SHOP SIGN", 5, 0.5, 1), _doc("ocr", "EXIT", 50, 0.31, 7)]}

    def render(docs):
        return {s: render_block(s, d) for s, d in docs.items() if d}

    count = lambda text: count_tokens(text)[0]  # noqa: E731
    full = count("\n".join(render(retrieved).values()))
    kept, blocks, dropped, before, after = fit(retrieved, render, count, full - 1)
    assert before == full and after <= full - 1
    assert [d.text for d in dropped] == ["EXIT"]  # the lowest score (0.31) goes first
    kept, blocks, dropped, before, after = fit(retrieved, render, count, full // 2)
    assert len(dropped) >= 2 and any(kept.values())
    assert [d.score for d in dropped] == sorted(d.score for d in dropped)
    assert max(d.score for d in dropped) <= min(d.score for docs in kept.values() for d in docs)
    for docs in kept.values():  # survivors in their (chronological) order
        assert [d.start for d in docs] == sorted(d.start for d in docs)
    assert after <= full // 2 and blocks == render(kept)
    same = fit(retrieved, render, count, full)  # enough room: nothing dropped, the same blocks
    assert same[2] == [] and same[1] == render(retrieved)


def test_auto_budget_from_the_models_numbers():
    from videorag_eval.method.budget import PROMPT_OVERHEAD, resolve

    b = resolve(compose("model=video_llava_7b"))  # 4096 context, 8 frames x 257 visual tokens
    assert b.tokens == 4096 - 8 * 257 - 16 - PROMPT_OVERHEAD and b.for_question(100) == b.tokens - 100
    assert resolve(compose("model=llava_video_7b", "frames=64")).tokens == 32768 - 64 * 182 - 16 - PROMPT_OVERHEAD
    # method=official adds llava_vid's time instruction: room for it is kept
    assert resolve(compose("model=llava_video_7b", "frames=64", "method=official")).tokens == \
        32768 - 64 * 182 - 16 - PROMPT_OVERHEAD - 40 - 8 * 64
    assert resolve(compose()).tokens is None  # text_only: no context limit
    assert resolve(compose("rag.token_budget=none", "model=video_llava_7b")).tokens is None
    assert resolve(compose("rag.token_budget=50")).for_question(10_000) == 50
    from videorag_eval.cell.settings import ConfigError, check_config

    with pytest.raises(ConfigError, match="rag.token_budget='lots' is not allowed"):
        check_config(compose("rag.token_budget=lots"))


@pytest.mark.slow
def test_a_small_context_drops_documents_in_the_cell(tmp_path, e2e_cache):
    common = ("rag=asr_ocr", "rag.threshold=-1", "limit=6", "frames=8", f"cache_dir={e2e_cache}")
    free = run_cell(*common, "rag.token_budget=none", f"results_dir={tmp_path / 'free'}")
    metrics0, samples0 = read_cell(free)
    assert metrics0["token_budget"]["docs_dropped"] == 0
    many = [s for s in samples0 if sum(len(v) for v in s["aux"].values()) >= 3]
    assert many, "the test needs questions with several documents"
    # a context that leaves about half of the largest auxiliary text beside the question
    target = max(s["aux_tokens"] for s in many) // 2
    question = max(len(s["question"].split()) * 3 + 40 for s in many)
    context = 8 * 10 + 16 + 64 + question + target
    small = run_cell(*common, f"+model.context_tokens={context}", "+model.tokens_per_frame=10",
                     f"results_dir={tmp_path / 'small'}")
    metrics, samples = read_cell(small)
    assert metrics["token_budget"]["mode"] == "auto" and metrics["token_budget"]["tokens"] == context - 80 - 16 - 64
    dropped = [d for s in samples for d in s["aux_dropped"]]
    assert dropped and metrics["token_budget"]["docs_dropped"] == len(dropped)
    assert metrics["token_budget"]["questions_with_drops"] == sum(1 for s in samples if s["aux_dropped"])
    by_id = {s["question_id"]: s for s in samples0}
    for s in samples:
        budget = s["aux_budget"]
        assert budget["tokens_after"] <= budget["limit"] or not any(s["aux"].values())
        assert s["aux_tokens"] == budget["tokens_after"]
        kept = [d for docs in s["aux_docs"].values() for d in docs]
        if s["aux_dropped"] and kept:  # the lowest-scoring documents went first
            assert max(d["score"] for d in s["aux_dropped"]) <= min(d["score"] for d in kept)
        for docs in s["aux_docs"].values():  # survivors keep their order
            assert [d["start"] for d in docs] == sorted(d["start"] for d in docs)
        before = {src: [d["text"] for d in docs] for src, docs in by_id[s["question_id"]]["aux_docs"].items()}
        for src, docs in s["aux_docs"].items():  # survivors = the unbudgeted documents minus the dropped ones
            assert [d["text"] for d in docs] == [t for t in before[src]
                                                 if t not in {x["text"] for x in s["aux_dropped"] if x["source"] == src}]
    # a large context: nothing dropped, the same texts and answers as without a budget
    large = run_cell(*common, "+model.context_tokens=1000000", "+model.tokens_per_frame=10",
                     f"results_dir={tmp_path / 'large'}")
    metrics2, samples2 = read_cell(large)
    assert metrics2["token_budget"]["docs_dropped"] == 0
    assert [(s["aux"], s["aux_tokens"], s["prediction"]) for s in samples2] == \
           [(s["aux"], s["aux_tokens"], s["prediction"]) for s in samples0]


# -- 4. the OCR cache key holds the reading path ----------------------------------------------------------------

class _FakeEasyOCR:
    def __init__(self):
        self.calls = []

    def readtext(self, image):
        self.calls.append("readtext")
        return [([[0, 0], [1, 0], [1, 1], [0, 1]], "CPU TEXT", 0.9)]

    def readtext_batched(self, images, batch_size=1):
        self.calls.append(f"readtext_batched:{len(images)}")
        return [[([[0, 0], [1, 0], [1, 1], [0, 1]], "GPU TEXT", 0.9)] for _ in images]


def test_ocr_readings_of_one_path_are_never_reused_by_the_other(tmp_path):
    from videorag_eval.method.extractors.ocr import EasyOCRReader, OCRSettings
    from videorag_eval.core.records import FrameSample

    frames = FrameSample((0, 5, 9), (0.0, 0.5, 0.9), 10.0, 10, 1.0)
    decode = lambda idx: [np.zeros((8, 8, 3), np.uint8) for _ in idx]  # noqa: E731
    cache = Cache(tmp_path)
    cpu, gpu = EasyOCRReader(OCRSettings(device="cpu"), cache), EasyOCRReader(OCRSettings(device="cuda"), cache)
    assert cpu.identity["reading"] == "cpu_per_frame" and gpu.identity["reading"] == "gpu_batched"
    cpu._reader, gpu._reader = _FakeEasyOCR(), _FakeEasyOCR()
    got_cpu = cpu.read_frames("v", frames, decode)
    got_gpu = gpu.read_frames("v", frames, decode)  # not the CPU's readings from the cache
    assert {r["text"] for rs in got_cpu.values() for r in rs} == {"CPU TEXT"}
    assert {r["text"] for rs in got_gpu.values() for r in rs} == {"GPU TEXT"}
    assert cpu._reader.calls == ["readtext"] * 3 and gpu._reader.calls == ["readtext_batched:3"]
    again = EasyOCRReader(OCRSettings(device="cuda"), cache)
    again._reader = _FakeEasyOCR()
    assert again.read_frames("v", frames, decode) == got_gpu and again._reader.calls == []  # its own path: cached


# -- 5. lmms-eval's CLI path: Video-MME's subtitle frame_num is the inner adapter's -------------------------------

def test_cli_path_subtitles_use_the_adapters_frame_num(tmp_path, monkeypatch):
    import sys

    from omegaconf import OmegaConf

    from videorag_eval.lmms import factory

    sys.path.insert(0, str(REPO / "tests"))
    from test_subtitle_arms import N_CUES, _videomme_docs, make_forty_cue_copy

    copy = make_forty_cue_copy(tmp_path / "hf" / "videomme")
    cfg = compose("model=llava_video_7b", "task=videomme", f"task.data_dir={copy}", "rag=subtitles", "aux=packaged",
                  f"results_dir={tmp_path / 'r'}", f"cache_dir={tmp_path / 'c'}")
    path = tmp_path / "config.yaml"
    path.write_text(OmegaConf.to_yaml(cfg, resolve=True))
    monkeypatch.setattr(factory, "build_inner", lambda cfg, pipeline: object())  # no LLaVA-NeXT here
    from videorag_eval.cell.lmms_entry import build_wrapper_parts

    parts = build_wrapper_parts(str(path))
    doc = _videomme_docs(copy)[0]
    prompt = parts["subtitles"](None, doc, "")
    # llava_vid's entry of videomme_w_subtitle.yaml: frame_num 768 -> every one of the 40 cues; the default
    # entry (what this path used before) would keep 32
    assert len(prompt.docs) == N_CUES
    text_only = compose("task=videomme", f"task.data_dir={copy}", "rag=subtitles", "aux=packaged")
    assert len(factory.build_subtitles(text_only, copy)(None, doc, "").docs) == 32
    assert json.dumps(prompt.context).count("line ") == N_CUES
