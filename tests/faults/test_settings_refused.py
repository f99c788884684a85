"""Settings are checked before any work: a wrong value exits 2 with one line naming the key, the
value and the allowed values, and leaves no cell directory behind."""

import pytest

from conftest import cells_under, run_cli
from helpers import compose
from videorag_eval.settings import ConfigError, check_config

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
]


@pytest.mark.parametrize("overrides,key,allowed", BAD, ids=[" ".join(b[0]) for b in BAD])
def test_a_wrong_value_is_named_with_what_is_allowed(overrides, key, allowed):
    with pytest.raises(ConfigError) as err:
        check_config(compose(*overrides))
    message = str(err.value)
    value = overrides[0].split("=", 1)[1]
    assert "\n" not in message and message.startswith(f"{key}=") and value in message and allowed in message


@pytest.mark.parametrize("overrides", [[], ["rag=none", "limit=4"], ["rag.threshold=-1"], ["rag.threshold=1"],
                                        ["method=official"], ["parser=paper", "rag.order=code"]])
def test_valid_settings_pass(overrides):
    check_config(compose(*overrides))


@pytest.mark.parametrize("overrides,key", [(["rag=none", "rag.order=Paper", "limit=4"], "rag.order"),
                                           (["frames=abc"], "frames"), (["method=papers"], "method"),
                                           (["model=llava_video_7bb"], "model"), (["rag=none,ful"], "rag")])
def test_the_command_exits_2_before_any_work_and_leaves_no_cell(tmp_path, overrides, key):
    proc = run_cli(*overrides, f"results_dir={tmp_path}")
    assert proc.returncode == 2, proc.stderr[-2000:]
    lines = [ln for ln in proc.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1 and key in lines[0] and "allowed" in lines[0], proc.stderr
    assert "Traceback" not in proc.stderr + proc.stdout
    assert cells_under(tmp_path) == [] and not (tmp_path / "demo").exists()
