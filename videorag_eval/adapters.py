"""Fixes for lmms-eval 0.7.3 adapter bugs, applied in process before an adapter is constructed.

This is the one place that patches lmms-eval's own model adapters; nothing else in the harness
changes lmms-eval code. Each fix is idempotent and names the bug it works around.
"""

from __future__ import annotations

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


def apply_adapter_fixes(adapter: str) -> None:
    """Work around lmms-eval 0.7.3 adapter bugs that the tiny (and the real) models hit. Idempotent.

    ``video_llava``: its ``generate_until`` calls ``read_video(path, self.num_frames)`` but
    ``read_video``'s frame count is keyword-only (``num_frm``), so every request raised ``TypeError``;
    and its ``tokenizer`` property reads an attribute that is never set. Both are patched here
    (the module's ``read_video`` name and the class property); nothing else changes.

    ``llava_vid``, ``llava_onevision``, ``longva``: their packages import names that transformers
    4.56 moved (``restore_moved_transformers_names``); done before the adapter module is imported.

    ``internvl2``: InternLM2's remote code cannot generate on transformers >= 4.52.1 (``give_generate``).
    """
    if adapter in NEEDS_MOVED_NAMES:
        restore_moved_transformers_names()
        return
    if adapter == "internvl2":
        _fix_internvl2()
        return
    if adapter != "video_llava":
        return
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
