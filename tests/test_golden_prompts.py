"""Golden prompts: the exact text the inner model receives, per task and RAG setting.

The inner model here is a recorder (it answers "A" and keeps every request); everything else is
real: Hydra config, lmms-eval tasks and evaluator, extraction, retrieval, prompt assembly. Under
``rag=none`` the recorded text must equal what plain lmms-eval sends to the same model; and with each
tiny random model (real adapters, not the recorder) the predictions must equal plain lmms-eval's.
Regenerate after an intended prompt change with ``UPDATE_GOLDEN=1 python -m pytest --runslow tests/test_golden_prompts.py`` (the module is in the slow set).
"""

import difflib
import os
import re
import sys
from pathlib import Path

import pytest
from lmms_eval.api.model import lmms

from helpers import compose

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tasks"))
import synthetic  # noqa: E402

pytestmark = pytest.mark.slow
GOLDEN = Path(__file__).resolve().parent / "golden"
LIMIT = 4  # the demo's first video: two speech, one screen-text, one object question


class Recorder(lmms):
    is_simple = True

    def __init__(self):
        super().__init__()
        self.seen = []

    def generate_until(self, requests):
        for r in requests:
            self.seen.append({"doc_id": r.args[3], "context": r.args[0], "visuals": r.args[2](self.task_dict[r.args[4]][r.args[5]][r.args[3]])})
        return ["A"] * len(requests)

    def loglikelihood(self, requests):
        raise NotImplementedError

    def generate_until_multi_round(self, requests):
        raise NotImplementedError


@pytest.fixture(scope="module")
def copies(tmp_path_factory):
    return synthetic.make_all(tmp_path_factory.mktemp("golden_bench"))


def _run(monkeypatch, tmp_path, e2e_cache, overrides):
    from videorag_eval.cell import runner

    recorder = Recorder()
    monkeypatch.setattr(runner, "build_inner", lambda cfg, pipeline: recorder)
    # the inner model is replaced by the recorder, so its package and weights are never loaded: no pre-flight
    runner.run_cell(compose(*overrides, f"limit={LIMIT}", f"results_dir={tmp_path}", f"cache_dir={e2e_cache}",
                            "preflight.enabled=false"))
    return recorder


def _render(seen):
    return "".join(f"===== doc {s['doc_id']} =====\n{s['context']}\n" for s in sorted(seen, key=lambda s: s["doc_id"]))


# A transcribed line of the speech block: "[0s-30s] words ...". Whisper's words on the CPU depend on the
# machine: the golden files (recorded on another CPU) hear "The museum doors start set the harbor", an
# AVX-512 EPYC hears "tours". There, forcing CTranslate2's kernels (CT2_FORCE_CPU_ISA=AVX2/GENERIC) changes
# nothing, while faster-whisper's VAD (onnxruntime, kernels chosen by the CPU) on/off flips the word: the
# VAD's speech boundaries differ by machine. metrics.json records the CPU (provenance.cpu()).
TRANSCRIBED = re.compile(r"^(\[\d+s-\d+s\] )(.*)$")
MIN_WORD_SIMILARITY = 0.85


def _same_but_transcript_words(text: str, golden: str) -> list[str]:
    """Why ``text`` is not ``golden`` up to the words of transcribed lines ([] when it is): every line
    equal, except transcribed lines in a speech block, which must keep their time span and
    ``MIN_WORD_SIMILARITY`` of their words (difflib's ratio over word lists)."""
    got, want = text.split("\n"), golden.split("\n")
    if len(got) != len(want):
        return [f"{len(got)} lines, golden has {len(want)}"]
    problems, in_speech = [], False
    for n, (a, b) in enumerate(zip(got, want), 1):
        if b.startswith("Speech in the video"):
            in_speech = True
        elif not b.strip():
            in_speech = False
        if a == b:
            continue
        ma, mb = TRANSCRIBED.match(a), TRANSCRIBED.match(b)
        if in_speech and ma and mb and ma.group(1) == mb.group(1):
            ratio = difflib.SequenceMatcher(None, ma.group(2).split(), mb.group(2).split()).ratio()
            if ratio >= MIN_WORD_SIMILARITY:
                continue
        problems.append(f"line {n}: {a!r} != golden {b!r}")
    return problems


def _check(name, text):
    path = GOLDEN / f"{name}.txt"
    if os.environ.get("UPDATE_GOLDEN") or not path.exists():
        path.write_text(text)
    golden = path.read_text()
    if text != golden:
        problems = _same_but_transcript_words(text, golden)
        assert not problems, f"prompt differs from {path} (UPDATE_GOLDEN=1 if intended): " + "; ".join(problems[:5])


def test_transcript_tolerance_is_only_for_transcribed_words():
    golden = ("Speech in the video (transcribed, in chronological order):\n"
              "[0s-30s] The museum doors start set the harbor in Lisbon. Our guide is Maria.\n\nQuestion?\nA. x\n")
    assert _same_but_transcript_words(golden.replace("doors", "tours"), golden) == []  # one word heard otherwise
    assert _same_but_transcript_words(golden.replace("[0s-30s]", "[0s-31s]"), golden)  # a time span
    assert _same_but_transcript_words(golden.replace("Question?", "Question!"), golden)  # the prompt itself
    assert _same_but_transcript_words(golden.replace("Maria.", "Maria.\nextra"), golden)  # a line more
    garbled = golden.replace("The museum doors start set the harbor", "A different sentence was heard in it")
    assert _same_but_transcript_words(garbled, golden)  # a transcript that is not the same speech


CASES = [("demo", "none"), ("demo", "asr_ocr"), ("demo", "det"), ("demo", "subtitles"), ("videomme", "asr_ocr"),
         ("videomme", "subtitles"), ("mlvu", "none"), ("mlvu", "asr_ocr"), ("longvideobench", "none"),
         ("longvideobench", "asr_ocr"), ("longvideobench", "subtitles"),
         # the no-retrieval arms: every ASR (and OCR) document in time order (DET as with retrieval)
         ("demo", "transcript"), ("demo", "full_noretrieval"), ("mlvu", "transcript")]
ARMS = {"full_noretrieval": ["rag=full", "rag.retrieval=false"]}  # arms that are not a preset of their own


@pytest.mark.parametrize("task,rag", CASES)
def test_golden_prompt(task, rag, copies, monkeypatch, tmp_path, e2e_cache):
    data = [] if task == "demo" else [f"task.data_dir={copies[task]}", "aux=packaged"]
    recorder = _run(monkeypatch, tmp_path, e2e_cache, [f"task={task}", *ARMS.get(rag, [f"rag={rag}"]), *data])
    assert len(recorder.seen) == LIMIT
    _check(f"{task}__{rag}", _render(recorder.seen))


@pytest.mark.parametrize("task,model", [("demo", "text_only"), ("videomme", "llava_video_7b"), ("mlvu", "qwen2_vl_7b"),
                                        ("longvideobench", "qwen2_5_vl_7b")])
def test_rag_none_is_exactly_plain_lmms_eval(task, model, copies, monkeypatch, tmp_path, e2e_cache):
    from lmms_eval.evaluator import simple_evaluate
    from lmms_eval.tasks import TaskManager

    from videorag_eval.lmms.tasks import prepare_task

    data = [] if task == "demo" else [f"task.data_dir={copies[task]}"]
    ours = _run(monkeypatch, tmp_path, e2e_cache, [f"task={task}", f"model={model}", "rag=none", *data])
    cfg = compose(f"task={task}", f"model={model}", *data)
    lmms_task, include, _ = prepare_task(cfg.task, e2e_cache)
    plain = Recorder()
    simple_evaluate(model=plain, tasks=[lmms_task], limit=LIMIT, batch_size=1,
                    task_manager=TaskManager("WARNING", include_path=include, model_name=cfg.model.adapter),
                    gen_kwargs="max_new_tokens=16,temperature=0,do_sample=False,num_beams=1")
    assert _render(ours.seen) == _render(plain.seen)
    assert [s["visuals"] for s in sorted(ours.seen, key=lambda s: s["doc_id"])] == \
           [s["visuals"] for s in sorted(plain.seen, key=lambda s: s["doc_id"])]


@pytest.mark.parametrize("model", ["tiny_qwen2_5_vl", "tiny_video_llava", "tiny_llava_onevision"])
def test_rag_none_predictions_equal_plain_lmms_eval_on_each_tiny_model(model, monkeypatch, tmp_path, e2e_cache):
    """With ``rag=none`` the harness's predictions equal plain lmms-eval's ``simple_evaluate`` on the same
    inner model (the real adapter with a tiny random model), task, generation settings, seed and frames,
    question for question. The models are random: equal answers mean identical inputs."""
    from lmms_eval.evaluator import simple_evaluate
    from lmms_eval.tasks import TaskManager

    from helpers import read_cell
    from videorag_eval.cell import runner
    from videorag_eval.lmms.tasks import prepare_task

    built = []

    def build_and_keep(cfg, pipeline):
        built.append(runner_build(cfg, pipeline))
        return built[-1]

    runner_build = runner.build_inner
    monkeypatch.setattr(runner, "build_inner", build_and_keep)
    cfg = compose(f"model={model}", "task=demo", "rag=none", f"limit={LIMIT}", f"results_dir={tmp_path}",
                  f"cache_dir={e2e_cache}", "preflight.enabled=false")
    metrics, samples = read_cell(runner.run_cell(cfg))
    assert metrics["n"] == LIMIT and metrics["n_failed"] == 0 and len(built) == 1
    ours = {int(s["doc_id"]): s["prediction"] for s in samples}

    lmms_task, include, _ = prepare_task(cfg.task, e2e_cache)
    plain = simple_evaluate(model=built[0], tasks=[lmms_task], limit=LIMIT, batch_size=1, log_samples=True,
                            task_manager=TaskManager("WARNING", include_path=include, model_name=cfg.model.adapter),
                            gen_kwargs=",".join(f"{k}={v}" for k, v in cfg.generation.items()),
                            random_seed=cfg.seed, numpy_random_seed=cfg.seed, torch_random_seed=cfg.seed,
                            fewshot_random_seed=cfg.seed)
    theirs = {int(s["doc_id"]): s["resps"][0][0] for s in plain["samples"][lmms_task]}
    theirs = {d: r if isinstance(r, str) else r.text for d, r in theirs.items()}
    print(f"[{model}] predictions: {ours}")
    assert len(ours) == LIMIT and ours == theirs
    assert len(set(ours.values())) > 1  # the random model answers each question differently: inputs differ
