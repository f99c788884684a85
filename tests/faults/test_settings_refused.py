"""Settings are checked before any work: a wrong value exits 2 with one line naming the key, the
value and the allowed values, and leaves no cell directory behind."""

import pytest

from conftest import cells_under, run_cli
from helpers import compose
from videorag_eval.cell.settings import ConfigError, check_config

BAD = [
    # (overrides, key, allowed-values text)
    (["rag.order=Paper"], "rag.order", "paper, code"),
    (["rag.decouple=always"], "rag.decouple", "auto, fallback"),
    (["parser=strict"], "parser", "lmms_eval, paper"),
    (["model.decouple_route=text"], "model.decouple_route", "text_only, with_video, fallback"),
    (["rag.threshold=1.5"], "rag.threshold", "[-1, 1]"),
    (["rag.threshold=-2"], "rag.threshold", "[-1, 1]"),
    (["rag.threshold=high"], "rag.threshold", "[-1, 1]"),
    (["frames=0"], "frames", "integer >= 1"),
    (["frames=-8"], "frames", "integer >= 1"),
    (["frames=abc"], "frames", "integer >= 1"),
    (["frames=8.5"], "frames", "integer >= 1"),
    (["limit=0"], "limit", "integer >= 1"),
    (["rag.asr=maybe"], "rag.asr", "true, false"),
    (["force=yes please"], "force", "true, false"),
    # issue 25: settings that escaped the hand-written check (a traceback, a failed cell, or nothing at all)
    (["decode.max_frames_mb=-1"], "decode.max_frames_mb", "MB >= 0"),
    (["decode.max_frames_mb=abc"], "decode.max_frames_mb", "MB >= 0"),
    (["decode.max_frames_mb=nan"], "decode.max_frames_mb", "MB >= 0"),
    (["seed=-1"], "seed", "integer in [0, 4294967295]"),
    (["generation.max_new_tokens=0"], "generation.max_new_tokens", "integer >= 1"),
    (["generation.max_new_tokens=-1"], "generation.max_new_tokens", "integer >= 1"),
    (["aux.ocr.min_confidence=2"], "aux.ocr.min_confidence", "[0, 1]"),
    (["rag.timestamps=maybe"], "rag.timestamps", "true, false"),
    (["aux.ocr.batch_frames=0"], "aux.ocr.batch_frames", "integer >= 1"),
    (["aux.encoder.batch_size=0"], "aux.encoder.batch_size", "integer >= 1"),
    (["rag.token_budget=0"], "rag.token_budget", "auto, none, or an integer >= 1"),  # every document dropped
    (["rag.token_budget=-5"], "rag.token_budget", "auto, none, or an integer >= 0"),
    (["model=qwen2_vl_7b", "frames=96"], "rag.token_budget", "frames <= 85"),  # frames that fill the context
    (["device=gpu"], "device", "auto, cpu, cuda, cuda:N"),
    (["aux.asr.language=english"], "aux.asr.language", "Whisper language code"),
    (["aux.det.keyframes.rule=best"], "aux.det.keyframes.rule", "paper, top_k, all"),
    (["task.breakdowns=[colour]"], "task.breakdowns", "duration, domain"),
    (["+rag.treshold=0.5"], "rag.treshold", "threshold"),  # a typo of a key: never silently ignored
]


@pytest.mark.parametrize("overrides,key,allowed", BAD, ids=[" ".join(b[0]) for b in BAD])
def test_a_wrong_value_is_named_with_what_is_allowed(overrides, key, allowed):
    with pytest.raises(ConfigError) as err:
        check_config(compose(*overrides))
    message = str(err.value)
    value = overrides[-1].split("=", 1)[1].strip("[]")
    if key == "rag.token_budget" and "frames=96" in overrides:
        value = "auto"  # the budget the frames leave no room in
    assert "\n" not in message and message.startswith(f"{key}=") and value in message and allowed in message
    assert "allowed" in message


@pytest.mark.parametrize("overrides,key,allowed", BAD, ids=[" ".join(b[0]) for b in BAD])
def test_doctor_refuses_what_the_app_refuses(capsys, overrides, key, allowed):
    """python -m videorag_eval.doctor: the same line, exit 2 (before the schema it said "ready")."""
    from videorag_eval import doctor

    with pytest.raises(ConfigError) as err:
        check_config(compose(*overrides))
    assert doctor.main(list(overrides) + ["--checks=disk"]) == 2
    out = capsys.readouterr().out
    assert str(err.value) in out and "ready" not in out


@pytest.mark.parametrize("overrides", [[], ["rag=none", "limit=4"], ["rag.threshold=-1"], ["rag.threshold=1"],
                                        ["method=official"], ["parser=paper", "rag.order=code"]])
def test_valid_settings_pass(overrides):
    check_config(compose(*overrides))


@pytest.mark.parametrize("overrides,key", [(["rag=none", "rag.order=Paper", "limit=4"], "rag.order"),
                                           (["frames=abc"], "frames"), (["method=papers"], "method"),
                                           (["model=llava_video_7bb"], "model"), (["rag=none,ful"], "rag"),
                                           (["seed=-1"], "seed"), (["decode.max_frames_mb=nan"], "decode.max_frames_mb"),
                                           (["rag.token_budget=0"], "rag.token_budget"),
                                           (["aux.ocr.min_confidence=2"], "aux.ocr.min_confidence")])
def test_the_command_exits_2_before_any_work_and_leaves_no_cell(tmp_path, overrides, key):
    proc = run_cli(*overrides, f"results_dir={tmp_path}")
    assert proc.returncode == 2, proc.stderr[-2000:]
    lines = [ln for ln in proc.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1 and key in lines[0] and "allowed" in lines[0], proc.stderr
    assert "Traceback" not in proc.stderr + proc.stdout
    assert cells_under(tmp_path) == [] and not (tmp_path / "demo").exists()


@pytest.mark.parametrize("overrides,key", [(["frames=[8,abc]"], "frames"), (["aux.ocr.batch_frames=0"], "aux.ocr.batch_frames"),
                                           (["shard=3", "num_shards=2"], "shard"), (["model=llava_video_7bb"], "model")])
def test_the_extractor_exits_2_with_one_line_before_any_work(tmp_path, overrides, key):
    """python -m videorag_eval.extract (before: a ValueError traceback for frames=[8,abc], nothing for the others)."""
    import os
    import subprocess
    import sys

    from conftest import REPO

    env = {**os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1"}
    proc = subprocess.run([sys.executable, "-m", "videorag_eval.extract", *overrides, f"results_dir={tmp_path}",
                           f"cache_dir={tmp_path / 'cache'}"], capture_output=True, text=True, env=env, cwd=REPO,
                          timeout=600)
    assert proc.returncode == 2, proc.stderr[-2000:]
    lines = [ln for ln in proc.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1 and lines[0].startswith("videorag_eval: error: ") and key in lines[0], proc.stderr
    assert "allowed" in lines[0], proc.stderr
    assert "Traceback" not in proc.stderr + proc.stdout and not (tmp_path / "cache").exists()
