"""Fixes for lmms-eval 0.7.3 adapter bugs, applied in process before an adapter is constructed.

This is the one place that patches lmms-eval's own model adapters; nothing else in the harness
changes lmms-eval code. Each fix is idempotent and names the bug it works around.
"""

from __future__ import annotations

import contextvars
from collections.abc import Callable
from dataclasses import dataclass

# Names LLaVA-NeXT's ``llava`` and LongVA's ``longva`` import from ``transformers.modeling_utils``
# (their ``multimodal_resampler/qformer.py``, imported by every language model of theirs). transformers
# 4.56 moved them to ``transformers.pytorch_utils``; without them both packages fail to import at all.
MOVED_TO_PYTORCH_UTILS = ("apply_chunking_to_forward", "find_pruneable_heads_and_indices", "prune_linear_layer")
# Adapters whose package needs those names (imported when the adapter module is imported).
NEEDS_MOVED_NAMES = ("llava_vid", "llava_onevision", "longva")


def restore_moved_transformers_names() -> tuple[str, ...]:
    """Make the names of ``MOVED_TO_PYTORCH_UTILS`` importable from ``transformers.modeling_utils``
    again (the same functions, from ``transformers.pytorch_utils``). Returns the names added. Idempotent."""
    import transformers.modeling_utils as modeling_utils
    import transformers.pytorch_utils as pytorch_utils

    added = []
    for name in MOVED_TO_PYTORCH_UTILS:
        if not hasattr(modeling_utils, name) and hasattr(pytorch_utils, name):
            setattr(modeling_utils, name, getattr(pytorch_utils, name))
            added.append(name)
    return tuple(added)


def give_generate(model):
    """Give a causal LM that subclasses ``PreTrainedModel`` without ``GenerationMixin`` a working
    ``generate`` (InternVL2's remote InternLM2 code: transformers >= 4.52.1 no longer puts the mixin in
    ``PreTrainedModel``, so ``language_model.generate`` raised AttributeError). Returns the model.

    The model's class is swapped for a subclass that adds ``GenerationMixin`` and adapts the cache:
    such code keeps the legacy tuple cache (it reads ``past_key_values[0][0].shape[2]``), so ``generate``
    is told not to create a ``DynamicCache`` and any ``Cache`` object reaching
    ``prepare_inputs_for_generation`` is turned back into a tuple (an empty one into None).
    A model that already generates is returned unchanged.
    """
    if callable(getattr(model, "generate", None)):
        return model
    import functools

    from transformers import GenerationConfig
    from transformers.cache_utils import Cache
    from transformers.generation import GenerationMixin

    base = type(model)
    original_prepare = base.prepare_inputs_for_generation if hasattr(base, "prepare_inputs_for_generation") else None

    def prepare_inputs_for_generation(self, input_ids, past_key_values=None, **kwargs):
        if isinstance(past_key_values, Cache):
            past_key_values = past_key_values.to_legacy_cache() if past_key_values.get_seq_length() > 0 else None
        if original_prepare is not None:
            return original_prepare(self, input_ids, past_key_values=past_key_values, **kwargs)
        return GenerationMixin.prepare_inputs_for_generation(self, input_ids, past_key_values=past_key_values, **kwargs)

    if original_prepare is not None:  # generate reads its signature (inputs_embeds forwarding)
        prepare_inputs_for_generation = functools.wraps(original_prepare)(prepare_inputs_for_generation)
    patched = type(base.__name__, (base, GenerationMixin), {
        "__module__": base.__module__,
        "__doc__": base.__doc__,
        "prepare_inputs_for_generation": prepare_inputs_for_generation,
        "_supports_default_dynamic_cache": classmethod(lambda cls: False),
        "_videorag_generate_fixed": True,
    })
    model.__class__ = patched
    if getattr(model, "generation_config", None) is None:
        model.generation_config = GenerationConfig.from_model_config(model.config)
    return model


def _fix_internvl2() -> None:
    """``internvl2``: after the adapter loads InternVL2's remote code, its InternLM2 language model gets
    ``generate`` (``give_generate``)."""
    import lmms_eval.models.simple.internvl2 as iv

    if getattr(iv.InternVL2, "_videorag_fixed", False):
        return
    original_init = iv.InternVL2.__init__

    def __init__(self, *args, **kwargs):
        original_init(self, *args, **kwargs)
        inner = getattr(self, "_model", None)
        inner = getattr(inner, "module", inner)  # accelerate may wrap it
        language_model = getattr(inner, "language_model", None)
        if language_model is not None:
            give_generate(language_model)

    iv.InternVL2.__init__ = __init__
    iv.InternVL2._videorag_fixed = True


# ----------------------------------------------------------------------------- text-only requests
#
# Video-RAG asks its decoupling prompt WITHOUT the video: the official code runs LLaVA-Video's own
# conversation template on the question text alone and calls ``model.generate(input_ids, images=None,
# modalities=["video"], do_sample=False, ...)``. Six lmms-eval 0.7.3 adapters cannot take a request with
# no visual (``adapter_specs``: the line of their source that decides it). For those, ``generate_until``
# is wrapped: a request whose visual list is empty is answered by the family's text-only path below (the
# adapter's own model, tokenizer / processor, prompt or chat template and decoding, no visual token);
# every other request goes to the adapter's own method, and the answers come back in request order.


def _llava_text_only(adapter, mod, context: str, gen_kwargs: dict, *, llama3_pad_zero: bool) -> str:
    """LLaVA-NeXT (``llava_vid``) and LongVA (``longva``): the adapter's conversation template with the
    question only, ``tokenizer_image_token``, ``generate(input_ids, images=None, modalities=["video"])``."""
    import copy

    import torch

    template = mod.conv_templates[adapter.conv_template]
    conv = copy.deepcopy(template) if "llama_3" in adapter.conv_template else template.copy()  # as the adapters
    conv.append_message(conv.roles[0], context)
    conv.append_message(conv.roles[1], None)
    prompt = conv.get_prompt()
    tokenizer = adapter.tokenizer
    input_ids = mod.tokenizer_image_token(prompt, tokenizer, mod.IMAGE_TOKEN_INDEX, return_tensors="pt").unsqueeze(0).to(adapter.device)
    pad = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else tokenizer.eos_token_id
    if llama3_pad_zero and "llama_3" in adapter.conv_template:
        pad = 0  # llava_vid's own choice for llama3 templates
    temperature = gen_kwargs.get("temperature", 0)
    with torch.inference_mode():
        output_ids = adapter.model.generate(
            input_ids,
            images=None,
            modalities=["video"],
            attention_mask=torch.ones_like(input_ids),  # one unpadded sequence
            pad_token_id=pad,
            use_cache=adapter.use_cache,
            do_sample=temperature > 0,
            temperature=temperature,
            top_p=gen_kwargs.get("top_p"),
            num_beams=gen_kwargs.get("num_beams", 1),
            max_new_tokens=gen_kwargs.get("max_new_tokens", 1024),
        )
    return tokenizer.batch_decode(output_ids, skip_special_tokens=True)[0].strip()


def _llava_vid_text_only(adapter, mod, context, gen_kwargs):
    return _llava_text_only(adapter, mod, context, gen_kwargs, llama3_pad_zero=True)


def _longva_text_only(adapter, mod, context, gen_kwargs):
    return _llava_text_only(adapter, mod, context, gen_kwargs, llama3_pad_zero=False)


def _internvl_text_only(adapter, mod, context: str, gen_kwargs: dict) -> str:
    """InternVL2 / InternVL3(.5): the remote code's ``chat`` with ``pixel_values=None`` (pure text), the
    generation config cleaned as the adapter does (``until`` dropped, its defaults, nothing else)."""
    config = {k: v for k, v in gen_kwargs.items() if k in mod.DEFAULT_GEN_KWARGS}
    for k, v in mod.DEFAULT_GEN_KWARGS.items():
        config.setdefault(k, v)
    response, _ = adapter.model.chat(adapter.tokenizer, None, context, config, num_patches_list=None,
                                     history=None, return_history=True)
    return response


def _video_llava_text_only(adapter, mod, context: str, gen_kwargs: dict) -> str:
    """Video-LLaVA (transformers): the adapter's prompt without its ``<video>`` token, its processor with
    text only, its generate arguments and its decoding."""
    text = adapter.prompt.replace("<video>", "").format(context)
    inputs = adapter._processor(text=text, return_tensors="pt")
    inputs = {k: v.to(adapter.device) for k, v in inputs.items()}
    generate_ids = adapter.model.generate(**inputs, max_new_tokens=gen_kwargs.get("max_new_tokens", 1024),
                                          temperature=gen_kwargs.get("temperature", 0))
    decoded = adapter._processor.batch_decode(generate_ids, skip_special_tokens=True, clean_up_tokenization_spaces=False)
    return decoded[0].split("ASSISTANT:")[-1].strip()


def _llava_hf_text_only(adapter, mod, context: str, gen_kwargs: dict) -> str:
    """LLaVA-HF / LLaVA-OneVision (transformers): the question alone in the adapter's chat template (its
    own, the tokenizer's, else lmms-eval's Vicuna one), its processor with text only, its generate call."""
    tokenizer = adapter.tokenizer
    messages = [{"role": "user", "content": context}]
    if adapter.chat_template is not None:
        tokenizer.chat_template = adapter.chat_template
    elif tokenizer.chat_template is None:
        tokenizer.chat_template = mod.VICUNA_CHAT_TEMPLATE
    text = tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)
    inputs = adapter._image_processor(text=text, return_tensors="pt").to(adapter.device, adapter.model.dtype)
    temperature = gen_kwargs.get("temperature", 0)
    do_sample = temperature > 0
    cont = adapter.model.generate(
        **inputs,
        do_sample=do_sample,
        temperature=temperature if do_sample else None,
        top_p=gen_kwargs.get("top_p"),
        num_beams=gen_kwargs.get("num_beams", 1),
        max_new_tokens=gen_kwargs.get("max_new_tokens", 1024),
        use_cache=adapter.use_cache,
        pad_token_id=adapter.eot_token_id,
        eos_token_id=adapter.eot_token_id,
    )
    return tokenizer.batch_decode(cont[:, inputs["input_ids"].shape[-1]:], skip_special_tokens=True)[0]


@dataclass(frozen=True)
class TextOnlyFix:
    """How one adapter answers a request with no visual once fixed. ``module_names`` and ``attributes``
    are everything ``answer`` reads from the adapter's module and from the adapter: the contract test
    checks them against the installed source, the text-only tests give ``answer`` nothing else."""

    class_path: str                      # module.Class whose generate_until is wrapped
    answer: Callable[..., str]           # (adapter, adapter's module, context, gen_kwargs) -> answer
    module_names: tuple[str, ...]
    attributes: tuple[str, ...]
    names_from: str | None = None        # the module those names come from, if not the class's (its base's)

    @property
    def names_module(self) -> str:
        return self.names_from or self.class_path.rsplit(".", 1)[0]


# Part of the decoupling reply cache's key for these adapters on the text_only route: bump it when a text-only
# path changes what it answers, so that no reply of an older path is served.
TEXT_ONLY_FIX_VERSION = 1
_M = "lmms_eval.models.simple."
_LLAVA_NAMES = ("conv_templates", "tokenizer_image_token", "IMAGE_TOKEN_INDEX")
_LLAVA_ATTRS = ("conv_template", "tokenizer", "device", "model", "use_cache")
_INTERNVL_ATTRS = ("model", "tokenizer")
TEXT_ONLY_FIXES: dict[str, TextOnlyFix] = {
    "llava_vid": TextOnlyFix(_M + "llava_vid.LlavaVid", _llava_vid_text_only, _LLAVA_NAMES, _LLAVA_ATTRS),
    "longva": TextOnlyFix(_M + "longva.LongVA", _longva_text_only, _LLAVA_NAMES, _LLAVA_ATTRS),
    "internvl2": TextOnlyFix(_M + "internvl2.InternVL2", _internvl_text_only, ("DEFAULT_GEN_KWARGS",), _INTERNVL_ATTRS),
    "internvl3_5": TextOnlyFix(_M + "internvl3_5.InternVL3_5", _internvl_text_only, ("DEFAULT_GEN_KWARGS",),
                               _INTERNVL_ATTRS, names_from=_M + "internvl3"),  # its generate_until is internvl3's
    "video_llava": TextOnlyFix(_M + "video_llava.VideoLLaVA", _video_llava_text_only, (),
                               ("prompt", "_processor", "device", "model")),
    "llava_hf": TextOnlyFix(_M + "llava_hf.LlavaHf", _llava_hf_text_only, ("VICUNA_CHAT_TEMPLATE",),
                            ("tokenizer", "chat_template", "_image_processor", "device", "model", "use_cache",
                             "eot_token_id")),
}


def _has_visuals(adapter, args: tuple) -> bool:
    """Whether a simple-style request ``(context, gen_kwargs, doc_to_visual, doc_id, task, split)`` has a visual."""
    _, _, doc_to_visual, doc_id, task, split = args
    if doc_to_visual is None:
        return False
    visuals = doc_to_visual(adapter.task_dict[task][split][doc_id])
    flat = [v for item in (visuals or []) for v in (item if isinstance(item, (list, tuple)) else [item])]
    return any(v is not None for v in flat)


def serve_text_only(cls, answer: Callable[..., str], module) -> bool:
    """Wrap ``cls.generate_until`` so that requests with no visual are answered by ``answer(adapter,
    module, context, gen_kwargs)`` and the others by the original method (one call, in their order);
    answers come back in request order. Returns False if already wrapped (idempotent)."""
    import functools

    original = cls.__dict__.get("generate_until") or cls.generate_until
    if getattr(original, "_videorag_text_only", False):
        return False

    @functools.wraps(original)
    def generate_until(self, requests):
        text = {i for i, req in enumerate(requests) if not _has_visuals(self, req.args)}
        if not text:
            return original(self, requests)
        answers: list = [None] * len(requests)
        others = [i for i in range(len(requests)) if i not in text]
        if others:
            for i, out in zip(others, original(self, [requests[i] for i in others])):
                answers[i] = out
        for i in sorted(text):
            context, gen_kwargs = requests[i].args[0], requests[i].args[1]
            answers[i] = answer(self, module, context, dict(gen_kwargs or {}))
        return answers

    generate_until._videorag_text_only = True
    generate_until.__wrapped__ = original
    cls.generate_until = generate_until
    return True


def fix_text_only(adapter: str) -> bool:
    """Apply ``TEXT_ONLY_FIXES[adapter]`` (import its module and wrap the class). False if the adapter needs
    no fix or its module cannot be imported (e.g. a missing package: the adapter cannot be built either, and
    lmms-eval's own import of it reports why)."""
    fix = TEXT_ONLY_FIXES.get(adapter)
    found = _import_class(fix.class_path) if fix is not None else None
    names = _import_module(fix.names_module) if found is not None else None
    if names is None:
        return False
    serve_text_only(found[1], fix.answer, names)
    return True


def _import_module(name: str):
    """The module, or None if it cannot be imported (e.g. a missing package: the adapter cannot be built either,
    and lmms-eval's own import of it reports why, inside ``weights.loading``)."""
    import importlib

    try:
        return importlib.import_module(name)
    except Exception:  # noqa: BLE001
        return None


def _import_class(class_path: str):
    """(module, class) of ``module.Class``, or None if the module cannot be imported (``_import_module``)."""
    module_name, class_name = class_path.rsplit(".", 1)
    module = _import_module(module_name)
    return None if module is None else (module, getattr(module, class_name))


def apply_adapter_fixes(adapter: str) -> None:
    """Work around lmms-eval 0.7.3 adapter bugs that the tiny (and the real) models hit. Idempotent.

    ``video_llava``: its ``generate_until`` calls ``read_video(path, self.num_frames)`` but
    ``read_video``'s frame count is keyword-only (``num_frm``), so every request raised ``TypeError``;
    and its ``tokenizer`` property reads an attribute that is never set. Both are patched here
    (the module's ``read_video`` name and the class property); nothing else changes.

    ``llava_vid``, ``llava_onevision``, ``longva``: their packages import names that transformers
    4.56 moved (``restore_moved_transformers_names``); done before the adapter module is imported.

    ``internvl2``: InternLM2's remote code cannot generate on transformers >= 4.52.1 (``give_generate``).

    ``llava_vid``, ``longva``, ``internvl2``, ``internvl3_5``, ``video_llava``, ``llava_hf``: a request
    with no visual (the decoupling prompt, ``decouple_route: text_only``) is answered text only
    (``TEXT_ONLY_FIXES``), as the official Video-RAG code asks it.

    ``qwen2_vl``, ``qwen2_5_vl``: every video of a batch is cut to ``max_num_frames`` by the adapter's own
    rule, not only the first; ``qwen2_vl`` pads batches on the left (``BATCH_FIXES``).

    ``vllm``: a request's ``max_new_tokens`` is its limit (the adapter made the config's value a floor), and
    each SamplingParams goes only with requests that asked for it (``fix_vllm_generation``).
    """
    if adapter in NEEDS_MOVED_NAMES:
        restore_moved_transformers_names()
    if adapter == "internvl2":
        _fix_internvl2()
    if adapter == "video_llava":
        _fix_video_llava()
    if adapter == "vllm":
        fix_vllm_generation()
    fix_batched_frames(adapter)
    fix_text_only(adapter)


def _fix_video_llava() -> None:
    """``read_video``'s frame count passed by keyword; the ``tokenizer`` property reads the processor's."""
    import lmms_eval.models.simple.video_llava as vl

    if not getattr(vl.read_video, "_videorag_fixed", False):
        original = vl.read_video

        def read_video(video_path, num_frm=8, **kwargs):
            return original(video_path, num_frm=num_frm, **kwargs)

        read_video._videorag_fixed = True
        vl.read_video = read_video
    if not getattr(vl.VideoLLaVA, "_videorag_fixed", False):
        vl.VideoLLaVA.tokenizer = property(lambda self: self._processor.tokenizer)
        vl.VideoLLaVA._videorag_fixed = True


# ----------------------------------------------------------------------------- batches: every video, its frames
#
# lmms-eval 0.7.3's qwen2_vl and qwen2_5_vl read every video of a batch with qwen-vl-utils (2 fps, up to 768
# frames) and then cut ``video_inputs[0]`` alone to ``max_num_frames`` (qwen2_5_vl.py / qwen2_vl.py, right after
# ``process_vision_info``): every other video of the batch reached the model with qwen-vl-utils' own frames
# (60-72 for the demo's 30-s videos where the cell records 8; up to 768 on Video-MME). The fix wraps the
# module's ``process_vision_info`` name: while the adapter's ``generate_until`` runs, every video after the first
# is cut by the adapter's own rule (``frame_sampling.qwen_trim_positions``); the first is left to the adapter,
# which cuts it itself (the rule is not idempotent: cutting it twice would change it). qwen2_vl also passes no
# padding side to its processor (the tokenizer's default, right, for a batch: generation would continue after the
# padding of the shorter prompts); it pads on the left in batches, as qwen2_5_vl and qwen3_vl do. qwen3_vl needs
# neither: it asks qwen-vl-utils for ``nframes`` per video and pads on the left.


@dataclass(frozen=True)
class BatchFix:
    class_path: str          # module.Class whose generate_until (and multi-round) is wrapped
    append_last: bool        # the adapter's rule keeps the last frame too (qwen2_5_vl) or not (qwen2_vl)
    left_padding: bool       # the adapter passes no padding side: the tokenizer pads batches on the left


BATCH_FIXES: dict[str, BatchFix] = {
    "qwen2_5_vl": BatchFix(_M + "qwen2_5_vl.Qwen2_5_VL", append_last=True, left_padding=False),
    "qwen2_vl": BatchFix(_M + "qwen2_vl.Qwen2_VL", append_last=False, left_padding=True),
}
# Part of the identity of the cells these fixes change (``fix_identity``): bump when a fix changes what a model gets.
BATCH_FIX_VERSION = 1
VLLM_FIX_VERSION = 1

# (max_num_frames, append_last) of the adapter whose generate_until is running, for process_vision_info's wrapper
_TRIM: contextvars.ContextVar[tuple[int, bool] | None] = contextvars.ContextVar("videorag_trim", default=None)


def trim_later_videos(video_inputs, n: int, append_last: bool):
    """Cut every video of ``video_inputs`` after the first to the adapter's ``max_num_frames`` rule (in place)."""
    if not video_inputs:
        return video_inputs
    from ..runtime.frame_sampling import qwen_trim_positions

    for k in range(1, len(video_inputs)):
        video = video_inputs[k]
        if getattr(video, "ndim", 0) > 0 and video.shape[0] > 0:  # the adapter's own condition for the first
            video_inputs[k] = video[qwen_trim_positions(int(video.shape[0]), n, append_last)]
    return video_inputs


def fix_batched_frames(adapter: str) -> bool:
    """Apply ``BATCH_FIXES[adapter]`` (idempotent). False if the adapter needs none or cannot be imported."""
    import functools

    fix = BATCH_FIXES.get(adapter)
    found = _import_class(fix.class_path) if fix is not None else None
    if found is None:
        return False
    module, cls = found
    trim = _TRIM
    original_pvi = module.process_vision_info
    if not getattr(original_pvi, "_videorag_trim", False):
        @functools.wraps(original_pvi)
        def process_vision_info(*args, **kwargs):
            out = original_pvi(*args, **kwargs)
            rule = trim.get()
            if rule is not None and isinstance(out, tuple) and len(out) >= 2:
                trim_later_videos(out[1], *rule)
            return out

        process_vision_info._videorag_trim = True
        module.process_vision_info = process_vision_info
    for method in ("generate_until", "generate_until_multi_round"):
        original = cls.__dict__.get(method)
        if original is None or getattr(original, "_videorag_batch_fix", False):
            continue

        def wrapped(self, requests, _original=original):
            if fix.left_padding and int(self.batch_size) > 1:
                self.processor.tokenizer.padding_side = "left"
            token = trim.set((int(self.max_num_frames), fix.append_last))
            try:
                return _original(self, requests)
            finally:
                trim.reset(token)

        wrapped = functools.wraps(original)(wrapped)
        wrapped._videorag_batch_fix = True
        setattr(cls, method, wrapped)
    return True


# ----------------------------------------------------------------------------- vLLM: generation length
#
# lmms-eval 0.7.3's vllm adapter sends ``max(request's max_new_tokens, its own max_new_tokens)``
# (``_select_max_new_tokens``): the config's value is a floor, so a 16-token answer could run to 256 tokens. And
# it builds one SamplingParams per request but hands the engine the last one for the whole batch. Fixed: a
# request's own ``max_new_tokens`` is its limit (the adapter's value only when a request gives none), and a
# batch is sent in runs of requests that ask for the same generation settings.


def _select_max_new_tokens(self, request_max_new_tokens):
    if request_max_new_tokens is None:
        return self.max_new_tokens
    try:
        return int(request_max_new_tokens)
    except (TypeError, ValueError):
        raise ValueError(f"max_new_tokens={request_max_new_tokens!r} of a request is not an integer") from None


def _runs_of_equal_gen_kwargs(requests) -> list[list]:
    runs: list[list] = []
    for req in requests:
        if runs and runs[-1][0].arguments[1] == req.arguments[1]:
            runs[-1].append(req)
        else:
            runs.append([req])
    return runs


def fix_vllm_generation() -> bool:
    """Patch lmms-eval's ``VLLM`` (idempotent): the request's generation length, one SamplingParams per run."""
    import functools

    found = _import_class(_M + "vllm.VLLM")
    if found is None:
        return False
    cls = found[1]
    if getattr(cls, "_videorag_generation_fixed", False):
        return False
    cls._select_max_new_tokens = _select_max_new_tokens
    original = cls.generate_until

    @functools.wraps(original)
    def generate_until(self, requests):
        out: list = []
        for run in _runs_of_equal_gen_kwargs(requests):
            out.extend(original(self, run))
        return out

    cls.generate_until = generate_until
    cls._videorag_generation_fixed = True
    return True


def fix_identity(adapter: str, batch_size: int) -> dict[str, int]:
    """What the cell identity (and the decoupling reply cache) holds of these fixes: the cells they change
    (a batch of qwen2_vl / qwen2_5_vl, every vllm cell) never share a directory with cells run before them."""
    out = {}
    if adapter in BATCH_FIXES and batch_size > 1:
        out["batch_fix"] = BATCH_FIX_VERSION
    if adapter == "vllm":
        out["vllm_fix"] = VLLM_FIX_VERSION
    return out


# ----------------------------------------------------------------------------- the checkpoint's own pooling

POOLING_KEYS = ("mm_spatial_pool_mode", "mm_spatial_pool_stride", "mm_newline_position")


def checkpoint_pooling(adapter) -> dict | None:
    """The pooling settings the loaded LLaVA-NeXT model runs with (llava_vid keeps the loaded config as ``_config``;
    with ``overwrite=False`` they are the checkpoint's own), or None if the adapter has no such config."""
    config = getattr(adapter, "_config", None)
    if config is None or getattr(config, "mm_spatial_pool_mode", None) is None:
        return None
    return {k: getattr(config, k, None) for k in POOLING_KEYS}
