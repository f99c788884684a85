"""Our text-only path for the adapters that cannot answer a request with no visual
(``videorag_eval.lmms.adapters.TEXT_ONLY_FIXES``), for the families that cannot run end to end here.

Video-LLaVA and LLaVA-OneVision (``llava_hf``) run for real with tiny random models in
``tests/test_tiny_models.py``. Here:

- InternVL2 / InternVL3.5: the REAL lmms-eval adapter classes (their modules import here), built
  without weights; the remote-code model (hub only) is replaced by a recorder of ``chat``.
- LLaVA-Video (``llava_vid``) and LongVA (``longva``): their packages are git-only and cannot be
  installed here, so the adapter modules cannot be imported. The text-only function is run against a
  STAND-IN of the names it reads from the adapter's module (a minimal ``conv_templates`` /
  ``tokenizer_image_token`` imitating LLaVA's API) and a STAND-IN adapter holding only the attributes
  it declares; the model is a tiny real GPT-2 behind a ``generate`` shaped like LLaVA's (``images=None``
  -> embed the ids, then transformers' generate). ``tests/test_adapter_contracts.py`` checks that
  those names and attributes exist in the installed adapter sources.
"""

from __future__ import annotations

import types

import pytest

torch = pytest.importorskip("torch")

from lmms_eval.api.instance import Instance  # noqa: E402

from videorag_eval.lmms import adapters  # noqa: E402
from videorag_eval.runtime.adapter_specs import SPECS  # noqa: E402

TASK, SPLIT = "t", "test"
QUESTION = 'Write the JSON request for: "What colour is the first bar?"'


def _request(visuals: list, gen_kwargs: dict | None = None) -> Instance:
    gen = {"max_new_tokens": 6, "temperature": 0, "do_sample": False, "num_beams": 1, "until": []}
    return Instance(request_type="generate_until", idx=0, metadata={"task": TASK, "doc_id": 0, "repeats": 1},
                    arguments=(QUESTION, dict(gen_kwargs or gen), lambda doc: list(visuals), 0, TASK, SPLIT))


def test_the_fixes_cover_exactly_the_adapters_specs_say():
    assert set(adapters.TEXT_ONLY_FIXES) == {s.name for s in SPECS.values() if s.text_only_fix}
    assert set(adapters.TEXT_ONLY_FIXES) == {"llava_vid", "longva", "internvl2", "internvl3_5", "video_llava", "llava_hf"}
    for name in adapters.TEXT_ONLY_FIXES:
        assert SPECS[name].text_only and "our fix" in SPECS[name].why
        assert adapters.TEXT_ONLY_FIXES[name].class_path == SPECS[name].class_path


# ----------------------------------------------------------------------------- the wrapper itself


class _Toy:
    """An adapter that refuses a request with no visual, as the six do."""

    def __init__(self):
        self.task_dict = {TASK: {SPLIT: {0: {}}}}
        self.calls = []

    def generate_until(self, requests):
        self.calls.append(len(requests))
        out = []
        for r in requests:
            visuals = r.args[2](self.task_dict[TASK][SPLIT][0])
            assert len(visuals) == 1
            out.append(f"video:{visuals[0]}")
        return out


def test_wrapper_routes_by_visuals_keeps_order_and_is_idempotent():
    cls = type("Toy", (_Toy,), {})
    seen = []

    def answer(adapter, module, context, gen_kwargs):
        seen.append((module, context, gen_kwargs))
        gen_kwargs["mutated"] = True  # the request's own dict is left alone
        return "text"

    assert adapters.serve_text_only(cls, answer, "MODULE") is True
    assert adapters.serve_text_only(cls, answer, "MODULE") is False  # wrapped once
    toy = cls()
    reqs = [_request([]), _request(["a.mp4"]), _request([]), _request(["b.mp4"])]
    assert toy.generate_until(reqs) == ["text", "video:a.mp4", "text", "video:b.mp4"]
    assert toy.calls == [2]  # the video requests: one call to the adapter's own method
    assert [m for m, _, _ in seen] == ["MODULE", "MODULE"] and seen[0][1] == QUESTION
    assert "mutated" not in reqs[0].args[1]
    assert toy.generate_until([_request(["c.mp4"])]) == ["video:c.mp4"]  # no text request: untouched path
    with pytest.raises(AssertionError):  # the unwrapped method still refuses
        cls.generate_until.__wrapped__(toy, [_request([])])


def test_a_visual_list_holding_only_empty_items_counts_as_no_visual():
    toy = types.SimpleNamespace(task_dict={TASK: {SPLIT: {0: {}}}})
    assert not adapters._has_visuals(toy, _request([]).args)
    assert not adapters._has_visuals(toy, _request([[]]).args)
    assert not adapters._has_visuals(toy, _request([None]).args)
    assert adapters._has_visuals(toy, _request(["v.mp4"]).args)


def test_an_adapter_whose_module_cannot_import_is_left_to_lmms_eval(monkeypatch):
    fix = adapters.TextOnlyFix("videorag_no_such_module.Cls", lambda *a: "", (), ())
    monkeypatch.setitem(adapters.TEXT_ONLY_FIXES, "videorag_nope", fix)
    assert adapters.fix_text_only("videorag_nope") is False
    assert adapters.fix_text_only("qwen2_5_vl") is False  # needs no fix


# ----------------------------------------------------------------------------- InternVL (real adapter classes)


class _ChatRecorder:
    """Stands in for InternVL's remote-code model (hub only): records ``chat``."""

    def __init__(self):
        self.calls = []

    def chat(self, tokenizer, pixel_values, question, generation_config, num_patches_list=None, history=None,
             return_history=False):
        self.calls.append(dict(tokenizer=tokenizer, pixel_values=pixel_values, question=question,
                               config=dict(generation_config), num_patches_list=num_patches_list, history=history))
        return f"reply to {question[-10:]}", []


@pytest.mark.parametrize("adapter,module", [("internvl2", "internvl2"), ("internvl3_5", "internvl3")])
def test_internvl_text_only_is_chat_without_pixels(adapter, module):
    import importlib

    adapters.apply_adapter_fixes(adapter)
    cls_module, cls_name = SPECS[adapter].class_path.rsplit(".", 1)
    cls = getattr(importlib.import_module(cls_module), cls_name)
    obj = cls.__new__(cls)  # no weights: only what generate_until reads
    obj._model, obj._tokenizer, obj._rank, obj.modality = _ChatRecorder(), "TOKENIZER", 0, "video"
    obj.task_dict = {TASK: {SPLIT: {0: {}}}}
    with pytest.raises(AssertionError, match="Only one video"):  # the adapter itself (modality=video)
        cls.generate_until.__wrapped__(obj, [_request([])])
    assert obj.generate_until([_request([], {"max_new_tokens": 7, "temperature": 0, "until": ["x"]})]) \
        == [f"reply to {QUESTION[-10:]}"]
    call = obj._model.calls[-1]
    defaults = importlib.import_module(f"lmms_eval.models.simple.{module}").DEFAULT_GEN_KWARGS
    # as the adapter's image branch with no image: no pixels, the question as is, its cleaned generation config
    assert call == dict(tokenizer="TOKENIZER", pixel_values=None, question=QUESTION,
                        config={**defaults, "max_new_tokens": 7}, num_patches_list=None, history=None)


# ----------------------------------------------------------------------------- LLaVA-Video / LongVA (stand-ins)


class _StandInConversation:
    """STAND-IN for LLaVA's ``Conversation`` (roles, copy, append_message, get_prompt), qwen_1_5-like."""

    roles = ("<|im_start|>user", "<|im_start|>assistant")

    def __init__(self):
        self.messages = []

    def copy(self):
        return _StandInConversation()

    def append_message(self, role, message):
        self.messages.append((role, message))

    def get_prompt(self):
        out = "<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n"
        for role, message in self.messages:
            out += f"{role}\n{message}<|im_end|>\n" if message is not None else f"{role}\n"
        return out


class _CharTokenizer:
    """STAND-IN tokenizer: one id per character (mod 90) + 2; 0 pad, 1 eos."""

    pad_token_id, eos_token_id = 0, 1

    def encode(self, text):
        return [2 + ord(c) % 90 for c in text]

    def batch_decode(self, ids, skip_special_tokens=True):
        return [" " + "".join(chr(ord("a") + (i % 26)) for i in row.tolist() if i > 1) + " " for row in ids]


def _stand_in_tokenizer_image_token(prompt, tokenizer, image_token_index, return_tensors=None):
    """STAND-IN for ``llava.mm_utils.tokenizer_image_token``: splits on <image> (there is none here)."""
    chunks = prompt.split("<image>")
    ids = []
    for i, chunk in enumerate(chunks):
        ids += ([image_token_index] if i else []) + tokenizer.encode(chunk)
    return torch.tensor(ids) if return_tensors == "pt" else ids


def _llava_like_model():
    """A tiny real GPT-2 behind a ``generate`` shaped like LLaVA-NeXT's/LongVA's LlavaQwenForCausalLM:
    with ``images=None`` it embeds the ids and calls transformers' generate on the embeddings."""
    from transformers import GPT2Config, GPT2LMHeadModel

    torch.manual_seed(0)
    lm = GPT2LMHeadModel(GPT2Config(n_layer=1, n_embd=32, n_head=2, vocab_size=96, n_positions=512)).eval()
    calls = []

    def generate(inputs=None, images=None, image_sizes=None, modalities=("image",), **kwargs):
        calls.append(dict(inputs=inputs, images=images, modalities=modalities, **kwargs))
        assert images is None and "inputs_embeds" not in kwargs
        position_ids = kwargs.pop("position_ids", None)
        attention_mask = kwargs.pop("attention_mask", None)
        embeds = lm.get_input_embeddings()(inputs)
        return lm.generate(position_ids=position_ids, attention_mask=attention_mask, inputs_embeds=embeds, **kwargs)

    return types.SimpleNamespace(generate=generate, lm=lm), calls


@pytest.mark.parametrize("adapter", ["llava_vid", "longva"])
def test_llava_family_text_only_as_the_official_code(adapter):
    fix = adapters.TEXT_ONLY_FIXES[adapter]
    model, calls = _llava_like_model()
    tokenizer = _CharTokenizer()
    # exactly the names and attributes the fix declares: reading anything else fails here
    module = types.SimpleNamespace(conv_templates={"qwen_1_5": _StandInConversation()},
                                   tokenizer_image_token=_stand_in_tokenizer_image_token, IMAGE_TOKEN_INDEX=-200)
    assert set(vars(module)) == set(fix.module_names)
    values = dict(conv_template="qwen_1_5", tokenizer=tokenizer, device=torch.device("cpu"), model=model, use_cache=True)
    obj = types.SimpleNamespace(**values)
    assert set(values) == set(fix.attributes)

    got = fix.answer(obj, module, QUESTION, {"max_new_tokens": 6, "temperature": 0, "do_sample": False, "until": []})

    prompt = ("<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n<|im_start|>user\n" + QUESTION
              + "<|im_end|>\n<|im_start|>assistant\n")  # the question only: no <image> token
    ids = torch.tensor([tokenizer.encode(prompt)])
    call = calls[0]
    assert call["inputs"].tolist() == ids.tolist() and -200 not in call["inputs"].tolist()[0]
    assert call["images"] is None and call["modalities"] == ["video"]
    assert call["do_sample"] is False and call["max_new_tokens"] == 6
    with torch.no_grad():  # transformers' greedy continuation of the same ids
        expected = model.lm.generate(input_ids=ids, attention_mask=torch.ones_like(ids), max_new_tokens=6,
                                     do_sample=False, pad_token_id=0)[:, ids.shape[1]:]
    assert got == tokenizer.batch_decode(expected)[0].strip() and got


def test_llava_family_defaults_as_the_adapters():
    """No generation settings in the request: the adapters' defaults (1024 new tokens, greedy)."""
    calls = []
    module = types.SimpleNamespace(conv_templates={"qwen_1_5": _StandInConversation()},
                                   tokenizer_image_token=_stand_in_tokenizer_image_token, IMAGE_TOKEN_INDEX=-200)
    obj = types.SimpleNamespace(conv_template="qwen_1_5", tokenizer=_CharTokenizer(), device=torch.device("cpu"),
                                model=types.SimpleNamespace(generate=lambda *a, **k: calls.append(k) or torch.tensor([[5]])),
                                use_cache=False)
    assert adapters.TEXT_ONLY_FIXES["llava_vid"].answer(obj, module, QUESTION, {}) == "f"  # id 5, decoded
    assert calls[0]["max_new_tokens"] == 1024 and calls[0]["do_sample"] is False and calls[0]["use_cache"] is False
