"""The three real benchmark task definitions (lmms-eval's videomme, mlvu_dev, longvideobench_val_v),
run offline on synthetic local copies in their real layouts, through real adapters."""

import sys
from pathlib import Path

import pytest
from omegaconf import OmegaConf

from helpers import read_cell, run_cell

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tasks"))
import synthetic  # noqa: E402

pytestmark = pytest.mark.slow

BREAKDOWNS = {"videomme": {"duration", "domain", "task_type"}, "mlvu": {"task_type"},
              "longvideobench": {"duration_group", "question_category"}}


@pytest.fixture(scope="module")
def copies(tmp_path_factory):
    return synthetic.make_all(tmp_path_factory.mktemp("bench_copies"))


@pytest.fixture(scope="module")
def results(tmp_path_factory):
    return tmp_path_factory.mktemp("bench_results")


@pytest.mark.parametrize("task", ["videomme", "mlvu", "longvideobench"])
def test_text_only_answers_speech_and_screen_text_on_each_benchmark(task, copies, results, e2e_cache):
    cell = run_cell(f"task={task}", f"task.data_dir={copies[task]}", "aux=packaged", "rag=full",
                    f"results_dir={results}", f"cache_dir={e2e_cache}")
    metrics, samples = read_cell(cell)
    assert metrics["task"] == task and metrics["n"] == len(samples) == 46 and metrics["n_failed"] == 0
    assert BREAKDOWNS[task] <= set(metrics["by_category"])
    picked = [s for s in samples if s["categories"]["source"] in ("asr", "ocr")]
    assert sum(s["correct"] for s in picked) >= 0.8 * len(picked)
    if task == "mlvu":
        assert metrics["official"]["mlvu_macro_present_types"] > metrics["official"]["mlvu_macro_7_types"]


@pytest.mark.parametrize("task", ["videomme", "mlvu", "longvideobench"])
def test_tiny_qwen2_5_vl_runs_each_benchmark_offline(task, copies, results, e2e_cache):
    cell = run_cell("model=tiny_qwen2_5_vl", f"task={task}", f"task.data_dir={copies[task]}", "limit=4",
                    f"results_dir={results}", f"cache_dir={e2e_cache}")
    metrics, samples = read_cell(cell)
    assert metrics["model"] == "tiny_qwen2_5_vl" and metrics["n"] == 4 and metrics["n_failed"] == 0
    assert BREAKDOWNS[task] <= set(metrics["by_category"])
    for s in samples:
        assert isinstance(s["prediction"], str) and s["aux_tokens_method"] == "model_tokenizer"
        # the random model's decoupling output is recorded, parsed or with the reason it failed
        assert (s["request"] is not None) or s["request_note"]
    assert metrics["decoupling"]  # decoupling was attempted through the inner model


@pytest.mark.parametrize("model,style", [("tiny_qwen2_5_vl", "model.force_simple=false"),
                                         ("tiny_llava_onevision", "model.force_simple=true"),
                                         ("tiny_video_llava", "model.force_simple=true")])
def test_other_adapters_and_chat_style(model, style, copies, results, e2e_cache):
    cell = run_cell(f"model={model}", style, "task=videomme", f"task.data_dir={copies['videomme']}", "limit=2",
                    "rag=asr_ocr", f"results_dir={results}", f"cache_dir={e2e_cache}")
    metrics, samples = read_cell(cell)
    assert metrics["n"] == 2 and metrics["n_failed"] == 0
    assert all(s["aux"].get("asr") is not None for s in samples)
    # the decoupling prompt went text only (llava_hf / video_llava through our fix) and the model answered it
    assert OmegaConf.load(cell / "config.yaml").model.decouple_route == "text_only"
    assert metrics["decoupling"]["generated"] + metrics["decoupling"]["cached"] == 2
    assert not metrics["decoupling"].get("decouple_raised") and not any(s.get("request_error") for s in samples)


def test_subtitles_arm_longvideobench_answers_speech(copies, results, e2e_cache):
    metrics, samples = read_cell(run_cell("task=longvideobench", f"task.data_dir={copies['longvideobench']}",
                                          "rag=subtitles", "aux=packaged", f"results_dir={results}", f"cache_dir={e2e_cache}"))
    assert metrics["rag"]["subtitles"] is True and metrics["aux_retrieved"]["subtitles"] > 0
    speech = [s for s in samples if s["categories"]["source"] == "asr"]
    # the subtitles carry the spoken facts exactly: text_only answers the speech questions
    assert sum(s["correct"] for s in speech) >= 0.8 * len(speech)


def test_subtitles_arm_videomme_does_not_depend_on_the_cells_frames(copies, results, e2e_cache):
    prompts = {}
    for frames in (8, 32):
        metrics, samples = read_cell(run_cell("task=videomme", f"task.data_dir={copies['videomme']}", "rag=subtitles",
                                              "aux=packaged", f"frames={frames}", f"results_dir={results}",
                                              f"cache_dir={e2e_cache}"))
        prompts[frames] = [s["prompt"] for s in samples]
        speech = [s for s in samples if s["categories"]["source"] == "asr"]
        assert sum(s["correct"] for s in speech) >= 0.8 * len(speech)
    # as lmms-eval's videomme_w_subtitle: cues under its own frame_num (32), whatever frames the LVLM gets
    assert prompts[8] == prompts[32]


def test_mlvu_has_no_subtitles_arm(copies, results, e2e_cache):
    from videorag_eval.cell.settings import ConfigError

    with pytest.raises(ConfigError, match="MLVU ships no subtitles"):
        run_cell("task=mlvu", f"task.data_dir={copies['mlvu']}", "rag=subtitles", f"results_dir={results}")


def test_a_data_dir_with_the_wrong_layout_names_what_is_missing(tmp_path):
    from videorag_eval.cell.preflight import PreflightFailed

    with pytest.raises(PreflightFailed, match="lvb_val.json") as refused:  # the pre-flight lists it with the rest
        run_cell("task=longvideobench", f"task.data_dir={tmp_path}", f"results_dir={tmp_path}")
    assert [p.check for p in refused.value.problems if "lvb_val.json" in p.problem] == ["data"]
