"""What the harness knows about each lmms-eval 0.7.3 adapter it configures (read from their source).

One row per adapter: its class, whether it can answer a request with no visual (the decoupling
prompt sent text only; for six adapters only through our fix, ``text_only_fix``), which file names
it treats as a video, and how it picks the frames the LVLM sees (``frame_sampling`` mirrors that
rule so OCR and DET read the same frames). The adapter contract test
(``tests/test_adapter_contracts.py``) checks every row and every ``conf/model`` file against the
installed adapters' source, without importing them (some need git-only packages).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class AdapterSpec:
    name: str                     # lmms-eval model name
    class_path: str               # module.Class of the simple-style adapter
    text_only: bool               # answers a request whose visual list is empty (itself or through our fix)
    why: str                      # where in the adapter's source that is decided (and our fix, if any)
    sampler: str                  # frame rule: uniform | uniform_last | llava_vid | qwen_vl_utils | qwen3_vl | internvl_segments | none
    video_suffixes: tuple[str, ...] | None = None  # suffixes it treats as video (case-sensitive); None = any path
    text_only_fix: bool = False   # text_only only through our fix (videorag_eval.lmms.adapters.TEXT_ONLY_FIXES)


_S = "lmms_eval.models.simple."
_FIX = "text only through our fix (videorag_eval.lmms.adapters.TEXT_ONLY_FIXES, applied before the adapter is built) "
SPECS: dict[str, AdapterSpec] = {s.name: s for s in (
    AdapterSpec("llava_vid", _S + "llava_vid.LlavaVid", True,
                _FIX + "the adapter itself reads `visuals[0]` and decodes only `if len(visuals) == 1`: with none "
                "the request errors", "llava_vid", text_only_fix=True),
    AdapterSpec("llava_onevision", _S + "llava_onevision.Llava_OneVision", True,
                "an empty visual list builds a text-only prompt (`if visuals ... else`)", "uniform"),
    AdapterSpec("longva", _S + "longva.LongVA", True,
                _FIX + "the adapter itself reads `visual[0]` of an empty list (`assert len(batched_visuals) == 1` "
                "counts requests, not visuals)", "uniform", text_only_fix=True),
    AdapterSpec("qwen2_vl", _S + "qwen2_vl.Qwen2_VL", True,
                "no visual: the message holds only the text item", "qwen_vl_utils",
                (".mp4", ".avi", ".mov")),
    AdapterSpec("qwen2_5_vl", _S + "qwen2_5_vl.Qwen2_5_VL", True,
                "no visual: the message holds only the text item", "qwen_vl_utils",
                (".mp4", ".avi", ".mov")),
    AdapterSpec("qwen3_vl", _S + "qwen3_vl.Qwen3_VL", True,
                "no visual: the message holds only the text item", "qwen3_vl"),
    AdapterSpec("internvl2", _S + "internvl2.InternVL2", True,
                _FIX + "(`model.chat` with pixel_values=None); the adapter itself, modality=video: "
                "`assert len(visuals) == 1`", "internvl_segments", text_only_fix=True),
    AdapterSpec("internvl3_5", _S + "internvl3_5.InternVL3_5", True,
                _FIX + "(`model.chat` with pixel_values=None); the adapter itself, modality=video (internvl3): "
                "`assert len(visuals) == 1`", "internvl_segments", text_only_fix=True),
    AdapterSpec("video_llava", _S + "video_llava.VideoLLaVA", True,
                _FIX + "(its prompt without `<video>`); the adapter itself: `assert len(visuals) == 1`", "uniform",
                text_only_fix=True),
    AdapterSpec("llava_hf", _S + "llava_hf.LlavaHf", True,
                _FIX + "(its chat template, processor with text only); the adapter itself builds no inputs for a "
                "text-only request: it logs an error and answers an empty string", "uniform", text_only_fix=True),
    AdapterSpec("vllm", _S + "vllm.VLLM", True,
                "an empty visual list: the message holds only the text item (`visuals = [doc_to_visual(...)]`, "
                "flattened to none)", "uniform_last", (".mp4", ".avi", ".mov", ".flv", ".wmv")),
    AdapterSpec("videorag_text_only", "videorag_eval.models.text_only.TextOnlyMatcher", True,
                "reads only the prompt text", "none"),
    AdapterSpec("videorag_scripted", "videorag_eval.models.scripted.ScriptedLVLM", True,
                "reads only the prompt text", "none"),
)}


def spec_of(adapter: str) -> AdapterSpec | None:
    return SPECS.get(adapter)


def route_error(adapter: str, route: str) -> str | None:
    """Why ``decouple_route`` cannot work with this adapter, or None."""
    spec = SPECS.get(adapter)
    if spec is None or route != "text_only" or spec.text_only:
        return None
    return (f"adapter {adapter} cannot answer a text-only request ({spec.why}); "
            f"set model.decouple_route=with_video (the decoupling prompt goes with the video) or fallback")
