"""The one typed schema of every setting (videorag_eval/cell/config_schema.py): it covers every key of every config
group option, refuses what it does not declare, never changes a value (so no cell moves), and the token budget
that leaves no room for auxiliary text is refused only where auxiliary text is asked for."""

import itertools

import pytest
from omegaconf import OmegaConf

from helpers import CONF_DIR, REPO, compose
from videorag_eval.cell import config_schema
from videorag_eval.cell.identity import cell_dir
from videorag_eval.cell.config_schema import Config, ExtractConfig, SlurmLauncher, conf_options, uncovered
from videorag_eval.cell.settings import ConfigError, check_config, check_launcher

GROUPS = ("model", "task", "rag", "method", "aux")


def _compose(*overrides, config_name="config", hydra=False):
    from hydra import compose as hydra_compose
    from hydra import initialize_config_dir

    with initialize_config_dir(config_dir=str(CONF_DIR), version_base="1.3"):
        return hydra_compose(config_name, overrides=list(overrides), return_hydra_config=hydra)


def _leaves(cfg) -> dict:
    data = OmegaConf.to_container(cfg, resolve=True)
    data.pop("hydra", None)
    return data


OPTIONS = [f"{g}={o}" for g in GROUPS for o in conf_options(g)]


@pytest.mark.parametrize("option", OPTIONS)
def test_every_leaf_of_every_group_option_is_declared_and_valid(option):
    data = _leaves(compose(option))
    assert uncovered(data, Config) == [], f"{option}: keys the schema does not declare (add them to config_schema.py)"
    check_config(compose(option))  # and every value the option sets is allowed


@pytest.mark.parametrize("method,task", list(itertools.product(conf_options("method"), conf_options("task"))))
def test_method_profiles_on_every_task(method, task):
    """method=official resolves rag.threshold from method.threshold_by_task per task."""
    cfg = compose(f"method={method}", f"task={task}", "rag=asr")
    assert uncovered(_leaves(cfg), Config) == []
    check_config(cfg)


@pytest.mark.parametrize("option", [f"model={m}" for m in conf_options("model")] + ["frames=[4,8]", "rag=asr"])
def test_the_extraction_config_is_covered_too(option):
    cfg = _compose(option, config_name="extract")
    assert uncovered(_leaves(cfg), ExtractConfig) == []
    check_config(cfg, "extract")


def test_the_coverage_walk_finds_an_undeclared_leaf():
    data = _leaves(compose("+rag.treshold=0.5", "+aux.det.keyframes.speed=2", "+model.model_args.anything=1"))
    # model_args is the adapter's own mapping (checked against its constructor by the pre-flight)
    assert sorted(uncovered(data, Config)) == ["aux.det.keyframes.speed", "rag.treshold"]


def test_an_undeclared_key_is_refused_naming_the_keys_there():
    with pytest.raises(ConfigError) as err:
        check_config(compose("+rag.treshold=0.5"))
    assert str(err.value).startswith("rag.treshold=0.5 is not a setting; allowed keys under rag: ")
    assert "threshold" in str(err.value) and "\n" not in str(err.value)


def test_rag_retrieval_is_typed():
    """rag.retrieval (issue 26's no-retrieval arm): a bool, anything else refused in one line."""
    check_config(compose("rag.retrieval=false"))
    with pytest.raises(ConfigError, match=r"^rag.retrieval='maybe' is not allowed; allowed: true, false$"):
        check_config(compose("rag.retrieval=maybe"))


def test_the_slurm_launcher_keys_are_declared_and_checked():
    cfg = _compose("hydra/launcher=slurm", hydra=True)
    launcher = OmegaConf.to_container(cfg.hydra.launcher, resolve=False)
    assert uncovered(launcher, SlurmLauncher) == []
    check_launcher(cfg.hydra.launcher)
    check_launcher(_compose("hydra/launcher=slurm", "hydra.launcher.gpus_per_node=null", "hydra.launcher.mem_gb=null",
                            hydra=True).hydra.launcher)
    for override, line in [("hydra.launcher.timeout_min=0", "hydra.launcher.timeout_min=0 is not allowed; allowed: an integer >= 1"),
                           ("hydra.launcher.wait=maybe", "hydra.launcher.wait='maybe' is not allowed; allowed: true, false"),
                           ("+hydra.launcher.time_min=5", "hydra.launcher.time_min=5 is not a setting; allowed keys under "
                                                          "hydra.launcher: _target_, wait")]:
        with pytest.raises(ConfigError) as err:
            check_launcher(_compose("hydra/launcher=slurm", override, hydra=True).hydra.launcher)
        assert str(err.value).startswith(line), str(err.value)


# Cell directories computed by the code before the schema (main 7d6ec8a): the schema validates and changes nothing
PINNED = [
    ([], "demo/text_only/f8-asr+ocr+det_t0.3-7eb689bb"),
    (["rag.threshold=1"], "demo/text_only/f8-asr+ocr+det_t1-cb702860"),  # an int threshold stays an int (hashed)
    (["rag.threshold=0.5"], "demo/text_only/f8-asr+ocr+det_t0.5-e41124c0"),
    (["model=llava_video_7b", "task=videomme"], "videomme/llava_video_7b/f64-asr+ocr+det_t0.3-210310a1"),
    (["model=qwen2_vl_7b", "task=mlvu", "method=official"], "mlvu/qwen2_vl_7b/f32-asr+ocr+det_t0-85f809f4"),
    (["rag=none"], "demo/text_only/f8-none-e60e5129"),
    (["aux.ocr.min_confidence=0.3"], "demo/text_only/f8-asr+ocr+det_t0.3-0a71bbb2"),
    (["model=qwen2_vl_7b", "frames=16", "rag=asr"], "demo/qwen2_vl_7b/f16-asr_t0.3-27d81edf"),
    (["rag=subtitles", "task=longvideobench", "model=llava_video_7b"], "longvideobench/llava_video_7b/f64-subtitles-1fe1144c"),
    (["rag.token_budget=500", "model=video_llava_7b"], "demo/video_llava_7b/f8-asr+ocr+det_t0.3-887ad2a7"),
    (["limit=4", "seed=3"], "demo/text_only/f8-asr+ocr+det_t0.3-n4-d59bbf75"),
]


@pytest.mark.parametrize("overrides,cell", PINNED, ids=[" ".join(p[0]) or "demo" for p in PINNED])
def test_checking_changes_no_value_and_no_cell_moves(tmp_path, overrides, cell):
    cfg = compose(*overrides, f"results_dir={tmp_path}")
    before = OmegaConf.to_container(cfg, resolve=False)
    check_config(cfg)
    assert OmegaConf.to_container(cfg, resolve=False) == before
    assert cell_dir(cfg) == tmp_path / cell


# ---------------------------------------------------------------------- the token budget's room


def test_frames_that_fill_the_context_are_refused_only_where_auxiliary_text_is_asked_for():
    # qwen2_vl_7b: 32768-token context, 384 tokens per frame, 16 new tokens, 64 of prompt template
    with pytest.raises(ConfigError) as err:
        check_config(compose("model=qwen2_vl_7b", "task=videomme", "frames=96"))
    line = str(err.value)
    assert line.startswith("rag.token_budget=auto leaves no room for auxiliary text with model=qwen2_vl_7b at frames=96")
    assert "allowed: frames <= 85 with this model" in line and "\n" not in line
    check_config(compose("model=qwen2_vl_7b", "task=videomme", "frames=85"))  # 48 tokens left: the limit is exact
    for rag in ("none", "subtitles"):  # nothing to budget (the benchmark's subtitles are never cut)
        check_config(compose("model=qwen2_vl_7b", "task=videomme", "frames=96", f"rag={rag}"))
    with pytest.raises(ConfigError, match="asks for asr text"):
        check_config(compose("model=qwen2_vl_7b", "task=videomme", "frames=96", "rag=subtitles", "rag.asr=true"))
    check_config(compose("model=qwen2_vl_7b", "task=videomme", "frames=96", "rag.token_budget=none"))


def test_the_time_instruction_counts_in_the_limit():
    """method=official adds llava_vid's time instruction (40 + 8 per frame): fewer frames fit."""
    with pytest.raises(ConfigError) as err:
        check_config(compose("model=llava_video_7b", "method=official", "frames=178"))
    most = int(str(err.value).split("frames <= ")[1].split()[0])
    check_config(compose("model=llava_video_7b", "method=official", f"frames={most}"))
    with pytest.raises(ConfigError):
        check_config(compose("model=llava_video_7b", "method=official", f"frames={most + 1}"))
    assert most == (32768 - 16 - 64 - 40 - 1) // (182 + 8) == 171  # without the instruction: 179
    check_config(compose("model=llava_video_7b", "frames=178"))


def test_a_budget_of_zero_is_refused_where_auxiliary_text_is_asked_for():
    with pytest.raises(ConfigError, match=r"^rag.token_budget=0 leaves no room for auxiliary text, and rag=full asks "
                                          r"for asr, ocr, det text; allowed: auto, none, or an integer >= 1"):
        check_config(compose("rag.token_budget=0"))
    check_config(compose("rag=none", "rag.token_budget=0"))
    check_config(compose("rag.token_budget=1"))


# ---------------------------------------------------------------------- the extractor and the documentation


@pytest.mark.parametrize("frames,ok", [("8", True), ("[16,32,64]", True), ("[8,abc]", False), ("[]", False),
                                       ("[8,0]", False), ("abc", False), ("[8,8.5]", False)])
def test_the_extractor_frames(frames, ok):
    cfg = _compose(f"frames={frames}", config_name="extract")
    if ok:
        check_config(cfg, "extract")
        return
    with pytest.raises(ConfigError) as err:
        check_config(cfg, "extract")
    assert str(err.value).startswith("frames=") and "allowed: an integer >= 1, or a non-empty list of them" in str(err.value)


def test_the_extractor_shard_must_be_one_of_the_shards():
    with pytest.raises(ConfigError, match=r"^shard=2 is not allowed with num_shards=2; allowed: an integer in \[0, 1\]$"):
        check_config(_compose("shard=2", "num_shards=2", config_name="extract"), "extract")
    with pytest.raises(ConfigError, match=r"^num_shards=0 is not allowed; allowed: an integer >= 1$"):
        check_config(_compose("num_shards=0", config_name="extract"), "extract")


CONFIGURATION_PAGE = REPO / "docs" / "configuration.md"  # its last table is `python -m videorag_eval.cell.config_schema`


def test_every_declared_key_is_in_the_configuration_page():
    page = CONFIGURATION_PAGE.read_text(encoding="utf-8")
    declared = [key for key, _ in config_schema.keys(ExtractConfig)]
    declared += [f"hydra.launcher.{key}" for key, _ in config_schema.keys(SlurmLauncher)]
    missing = [key for key in declared if f"`{key}`" not in page]
    assert missing == [], (f"docs/configuration.md's table of every setting lacks: {missing} "
                           "(paste the output of python -m videorag_eval.cell.config_schema there)")


def test_the_configuration_page_holds_the_generated_table():
    """The page's table of every setting is the schema's own, row for row: an allowed value changed in the schema
    (a range, a new choice) cannot leave the page saying the old one."""
    page_rows = {line for line in CONFIGURATION_PAGE.read_text(encoding="utf-8").splitlines() if line.startswith("| `")}
    generated = [line for line in config_schema.table().splitlines() if line.startswith("| `")]
    stale = [row for row in generated if row not in page_rows]
    assert stale == [], ("docs/configuration.md does not hold these rows of the generated table (paste the output of "
                         f"python -m videorag_eval.cell.config_schema there): {stale}")


@pytest.mark.parametrize("overrides,line", [
    (["+method.threshold_by_task.mlvu=2"], "method.threshold_by_task.mlvu=2 is not allowed; allowed: a number in [-1, 1]"),
    (["+method.threshold_by_task.foo=0.1"], "method.threshold_by_task.foo=0.1 is not a setting; allowed keys under "
                                            "method.threshold_by_task: demo, videomme, mlvu, longvideobench"),
    (["+model.method_args.oficial.x=1"], "model.method_args.oficial={'x': 1} is not a setting; allowed keys under "
                                         "model.method_args: default, official, paper"),
    (["model.model_args=5"], "model.model_args=5 is not allowed; allowed: the adapter's constructor arguments"),
    (["model=qwen2_vl_7b", "model.tokens_per_frame=0"], "model.tokens_per_frame=0 is not allowed; allowed: an integer >= 1 or null"),
    (["aux.det.detector.threshold=1"], "aux.det.detector.threshold=1 is not allowed; allowed: a number in [0, 1)"),
])
def test_an_entry_of_a_mapping_and_a_nested_key_are_named_where_they_are(overrides, line):
    with pytest.raises(ConfigError) as err:
        check_config(compose(*overrides))
    assert str(err.value).startswith(line), str(err.value)
