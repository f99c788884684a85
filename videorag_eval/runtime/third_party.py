"""What the harness knows about the third-party code behind each lmms-eval adapter it configures:
which packages an adapter needs (and how to install each), and which names the git-only packages
import from transformers.

The import facts were read from the packages' sources (repository and commit below) and are checked
against the installed transformers by ``unresolved_transformers_names`` (pre-flight, and
``tests/test_adapter_fixes.py``), so a transformers release that moves a name is caught in seconds,
before any extraction. InternVL2's remote code (from the hub repo OpenGVLab/InternVL2-8B) was read in
its GitHub source, OpenGVLab/InternVL ``internvl_chat/internvl/model``.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

LLAVA_NEXT_INSTALL = "pip install --no-deps git+https://github.com/LLaVA-VL/LLaVA-NeXT.git"
LONGVA_INSTALL = "pip install --no-deps 'git+https://github.com/EvolvingLMMs-Lab/LongVA.git#subdirectory=longva'"
LOCK_INSTALL = "pip install -r lock/requirements.txt"
# vLLM pins its own torch (0.23.0: torch 2.11.0) and needs a transformers the LLaVA family cannot run on after it:
# it has an environment of its own, locked like the main one (docs/install.md, "The serving environment")
SERVING_INSTALL = ("vLLM gets its own environment, locked like the main one: python -m venv .venv-vllm && "
                   ".venv-vllm/bin/pip install -r lock/vllm/requirements.txt && .venv-vllm/bin/pip install --no-deps -e . "
                   "(docs/install.md, 'The serving environment')")


@dataclass(frozen=True)
class Package:
    """A package an adapter imports: its import name, what to install, and what it is."""

    module: str
    install: str
    what: str
    transformers_facts: str | None = None  # key of TRANSFORMERS_IMPORTS: names it imports from transformers
    pins: tuple[str, ...] = ()  # packages it pins exactly: each must be installed at the version it requires


@dataclass(frozen=True)
class ImportFacts:
    repo: str
    commit: str
    names: tuple[tuple[str, str], ...]  # (transformers module, name)


def _names(by_module: dict[str, str]) -> tuple[tuple[str, str], ...]:
    return tuple((module, name) for module, names in by_module.items() for name in names.split())


# (module, name) that each package imports from transformers, at module level of the modules loaded by
# the adapters' imports (llava: builder, mm_utils, conversation, constants, the language models).
TRANSFORMERS_IMPORTS: dict[str, ImportFacts] = {
    "llava": ImportFacts("LLaVA-VL/LLaVA-NeXT", "df179663ae8b83207df100a1f7af24caec633ff9", _names({
        "transformers": (
            "AutoConfig AutoImageProcessor AutoModel AutoModelForCausalLM AutoTokenizer "
            "BitsAndBytesConfig CLIPImageProcessor CLIPVisionConfig CLIPVisionModel GemmaConfig "
            "GemmaForCausalLM GemmaModel GenerationConfig LlamaConfig LlamaForCausalLM LlamaModel "
            "MistralConfig MistralForCausalLM MistralModel MixtralConfig MixtralForCausalLM "
            "MixtralModel PretrainedConfig Qwen2Config Qwen2ForCausalLM Qwen2Model Qwen2MoeConfig "
            "Qwen2MoeForCausalLM Qwen2MoeModel StoppingCriteria"
        ),
        "transformers.activations": "ACT2FN",
        "transformers.file_utils": "ModelOutput",
        "transformers.generation.utils": "GenerateOutput",
        "transformers.image_processing_utils": "BatchFeature get_size_dict",
        "transformers.image_transforms": "convert_to_rgb normalize rescale resize to_channel_dimension_format",
        "transformers.image_utils": "ChannelDimension PILImageResampling to_numpy_array",
        "transformers.modeling_outputs": (
            "BaseModelOutput BaseModelOutputWithPastAndCrossAttentions BaseModelOutputWithPooling "
            "BaseModelOutputWithPoolingAndCrossAttentions CausalLMOutputWithCrossAttentions "
            "CausalLMOutputWithPast MaskedLMOutput MultipleChoiceModelOutput "
            "NextSentencePredictorOutput QuestionAnsweringModelOutput SequenceClassifierOutput "
            "TokenClassifierOutput"
        ),
        "transformers.modeling_utils": (
            "PreTrainedModel apply_chunking_to_forward find_pruneable_heads_and_indices "
            "prune_linear_layer"
        ),
        "transformers.models.bert.configuration_bert": "BertConfig",
        "transformers.models.clip.modeling_clip": (
            "BaseModelOutput BaseModelOutputWithPooling CLIPMLP CLIPVisionConfig CLIPVisionModel "
            "PreTrainedModel"
        ),
        "transformers.utils": "ModelOutput logging",
    })),
    "longva": ImportFacts("EvolvingLMMs-Lab/LongVA", "f4c8781d22d45e3a6ffd017f04aa33dfcc432fc9", _names({
        "transformers": (
            "AutoConfig AutoModelForCausalLM AutoTokenizer BitsAndBytesConfig CLIPImageProcessor "
            "CLIPVisionConfig CLIPVisionModel GenerationConfig LlamaConfig LlamaForCausalLM "
            "LlamaModel MistralConfig MistralForCausalLM MistralModel Qwen2Config "
            "Qwen2ForCausalLM Qwen2Model StoppingCriteria"
        ),
        "transformers.activations": "ACT2FN",
        "transformers.file_utils": "ModelOutput",
        "transformers.generation.utils": "GenerateOutput",
        "transformers.modeling_outputs": (
            "BaseModelOutputWithPastAndCrossAttentions "
            "BaseModelOutputWithPoolingAndCrossAttentions CausalLMOutputWithCrossAttentions "
            "CausalLMOutputWithPast MaskedLMOutput MultipleChoiceModelOutput "
            "NextSentencePredictorOutput QuestionAnsweringModelOutput SequenceClassifierOutput "
            "TokenClassifierOutput"
        ),
        "transformers.modeling_utils": (
            "PreTrainedModel apply_chunking_to_forward find_pruneable_heads_and_indices "
            "prune_linear_layer"
        ),
        "transformers.models.bert.configuration_bert": "BertConfig",
        "transformers.models.clip.modeling_clip": "CLIPVisionModel",
        "transformers.utils": "logging",
    })),
    "internlm2_remote": ImportFacts("OpenGVLab/InternVL", "2410d1dbf208f0e799459aff9376e5747dbf41a2", _names({
        "transformers": (
            "AutoConfig AutoModel GenerationConfig LlamaConfig LlamaForCausalLM LlamaTokenizer "
            "Qwen2Config Qwen2ForCausalLM"
        ),
        "transformers.activations": "ACT2FN",
        "transformers.configuration_utils": "PretrainedConfig",
        "transformers.generation.streamers": "BaseStreamer",
        "transformers.modeling_outputs": (
            "BaseModelOutput BaseModelOutputWithPast BaseModelOutputWithPooling "
            "CausalLMOutputWithPast SequenceClassifierOutputWithPast"
        ),
        "transformers.modeling_utils": "PreTrainedModel",
        "transformers.utils": (
            "ModelOutput add_start_docstrings add_start_docstrings_to_model_forward logging "
            "replace_return_docstrings"
        ),
    })),
}

_LLAVA = Package("llava", LLAVA_NEXT_INSTALL, "LLaVA-NeXT (git only)", "llava")
_LONGVA = Package("longva", LONGVA_INSTALL, "LongVA (git only)", "longva")
_QWEN_UTILS = Package("qwen_vl_utils", LOCK_INSTALL + "  (qwen-vl-utils)", "qwen-vl-utils")
_DECORD = Package("decord", LOCK_INSTALL + "  (decord)", "decord video reader")

# The packages each adapter needs beyond the locked environment's core (torch, transformers, lmms-eval).
ADAPTER_PACKAGES: dict[str, tuple[Package, ...]] = {
    "llava_vid": (_LLAVA, _DECORD),
    "llava_onevision": (_LLAVA, _DECORD),
    "longva": (_LONGVA, _DECORD),
    "qwen2_vl": (_QWEN_UTILS,),
    "qwen2_5_vl": (_QWEN_UTILS,),
    "qwen3_vl": (_QWEN_UTILS,),
    "internvl2": (_DECORD,),
    "internvl3_5": (_DECORD,),
    "video_llava": (),
    "llava_hf": (),
    "vllm": (Package("vllm", SERVING_INSTALL, "vLLM serving engine", pins=("torch", "torchvision", "transformers")),
             _DECORD),
}
# Remote code (trust_remote_code) whose transformers imports are checked too.
REMOTE_CODE_FACTS: dict[str, str] = {"internvl2": "internlm2_remote"}


def unresolved_transformers_names(facts_key: str) -> list[tuple[str, str]]:
    """The (module, name) pairs of ``TRANSFORMERS_IMPORTS[facts_key]`` that the installed transformers
    cannot give (a module that fails to import counts for each of its names)."""
    missing = []
    modules: dict[str, object | None] = {}
    for module, name in TRANSFORMERS_IMPORTS[facts_key].names:
        if module not in modules:
            try:
                modules[module] = importlib.import_module(module)
            except Exception:
                modules[module] = None
        if modules[module] is None or not hasattr(modules[module], name):
            missing.append((module, name))
    return missing


def import_failure(package: str, exc: BaseException) -> str:
    """Which installed package failed to import, on which import, with the transformers version found."""
    from importlib.metadata import PackageNotFoundError, version

    files = []  # the innermost frame of real code: the file whose import failed
    tb = exc.__traceback__
    while tb is not None:
        if not tb.tb_frame.f_code.co_filename.startswith("<"):
            files.append(tb.tb_frame.f_code.co_filename)
        tb = tb.tb_next
    where = f" (in {Path(files[-1]).name})" if files else ""
    failing = getattr(exc, "name", None)
    detail = f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}"
    try:
        tf = version("transformers")
    except PackageNotFoundError:
        tf = None
    inside = f"the import of {failing!r} inside it failed" if failing and failing != package else "its import failed"
    return (f"{package} is installed but {inside}{where}: {detail}; transformers {tf} is installed and the locked "
            f"environment has {locked_version('transformers') or 'the tested version'}")


LOCK_FILE = Path(__file__).resolve().parents[2] / "lock" / "requirements.txt"  # in a source checkout only


SERVING_LOCK_FILE = LOCK_FILE.parent / "vllm" / "requirements.txt"  # the *_vllm configs' environment


def locked_pins(lock: Path = LOCK_FILE) -> dict[str, str]:
    """Package -> version pinned by ``lock/requirements.txt`` (or another lock; empty for an installed wheel: no
    lock beside it)."""
    import re

    try:
        text = lock.read_text()
    except OSError:
        return {}
    return {name.lower(): version for name, version in
            re.findall(r"^([A-Za-z0-9_.-]+)(?:\[[^\]]*\])?==([^\s;\\]+)", text, re.MULTILINE)}


def locked_version(dist: str) -> str | None:
    """The version the lock pins for ``dist`` (None without a lock)."""
    return locked_pins().get(dist.lower())


def requirement_conflicts(dist: str, names: tuple[str, ...], requires: list[str] | None = None,
                          installed: "Callable[[str], str | None] | None" = None) -> list[str]:
    """For each of ``names`` that the installed distribution ``dist`` requires and this environment does not
    satisfy: "<dist> <version> requires <requirement>; <name> <version> is installed" (or "is not installed").
    ``requires`` / ``installed`` default to the installed metadata (given in tests)."""
    from importlib.metadata import PackageNotFoundError
    from importlib.metadata import requires as requires_of
    from importlib.metadata import version as version_of

    from packaging.requirements import Requirement
    from packaging.utils import canonicalize_name

    def _version(name: str) -> str | None:
        try:
            return version_of(name)
        except PackageNotFoundError:
            return None

    installed = installed or _version
    if requires is None:
        try:
            requires = requires_of(dist) or []
        except PackageNotFoundError:
            return []
    wanted = {canonicalize_name(n) for n in names}
    out = []
    for line in requires:
        req = Requirement(line)
        if canonicalize_name(req.name) not in wanted or (req.marker is not None and not req.marker.evaluate({"extra": ""})):
            continue
        have = installed(req.name)
        if have is None or not req.specifier.contains(have, prereleases=True):
            own = installed(dist)
            out.append(f"{dist}{' ' + own if own else ''} requires {req}; "
                       + (f"{req.name} {have} is installed" if have else f"{req.name} is not installed"))
    return out
