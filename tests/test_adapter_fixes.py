"""The third-party fixes of ``adapters.py`` in the locked environment (transformers 4.57.x):

- LLaVA-NeXT's ``llava`` and LongVA's ``longva`` (git-only packages, not installable here) import a list
  of names from transformers; every one must resolve once the fix is applied (the list of (module, name)
  facts was read from their sources, ``videorag_eval/runtime/third_party.py``);
- InternVL2's remote InternLM2 code subclasses ``PreTrainedModel`` without ``GenerationMixin`` and keeps a
  legacy tuple cache: ``give_generate`` makes ``generate`` work and match a greedy loop without cache.
  The remote code comes from the hub, so a small causal LM of our own with the same two traits stands in.
"""

from __future__ import annotations

import importlib

import pytest

torch = pytest.importorskip("torch")
transformers = pytest.importorskip("transformers")

from videorag_eval.lmms import adapters  # noqa: E402
from videorag_eval.runtime.third_party import TRANSFORMERS_IMPORTS, unresolved_transformers_names  # noqa: E402


def test_moved_names_are_missing_without_the_fix_and_restored_with_it():
    import transformers.modeling_utils as mu
    import transformers.pytorch_utils as pu

    saved = {n: mu.__dict__.pop(n) for n in adapters.MOVED_TO_PYTORCH_UTILS if n in mu.__dict__}
    try:
        missing = unresolved_transformers_names("llava")
        assert {name for _, name in missing} == set(adapters.MOVED_TO_PYTORCH_UTILS), missing
        adapters.apply_adapter_fixes("llava_vid")
        for name in adapters.MOVED_TO_PYTORCH_UTILS:
            assert getattr(mu, name) is getattr(pu, name)
    finally:
        for n in adapters.MOVED_TO_PYTORCH_UTILS:
            mu.__dict__.pop(n, None)
        mu.__dict__.update(saved)


@pytest.mark.parametrize("package", ["llava", "longva", "internlm2_remote"])
def test_every_transformers_name_the_package_imports_resolves_with_the_fix(package):
    adapters.restore_moved_transformers_names()
    facts = TRANSFORMERS_IMPORTS[package].names
    assert len(facts) > 20  # the facts are the real import list, not a sample
    assert unresolved_transformers_names(package) == []
    for module, name in facts:  # and from the module they name, as the package does
        assert hasattr(importlib.import_module(module), name), (module, name)


# ----------------------------------------------------------------------------- InternLM2-like LM


def _legacy_lm_class():
    """A one-layer causal LM with InternLM2's two traits: no GenerationMixin, legacy tuple cache."""
    from torch import nn
    from transformers import PretrainedConfig, PreTrainedModel
    from transformers.modeling_outputs import CausalLMOutputWithPast

    class LegacyConfig(PretrainedConfig):
        model_type = "videorag_legacy_lm"

        def __init__(self, vocab_size=50, hidden_size=16, **kwargs):
            self.vocab_size = vocab_size
            self.hidden_size = hidden_size
            super().__init__(**kwargs)

    class LegacyCausalLM(PreTrainedModel):  # like InternLM2ForCausalLM: PreTrainedModel only
        config_class = LegacyConfig

        def __init__(self, config):
            super().__init__(config)
            h = config.hidden_size
            self.embed = nn.Embedding(config.vocab_size, h)
            self.pos = nn.Embedding(64, h)
            self.q, self.k, self.v = nn.Linear(h, h), nn.Linear(h, h), nn.Linear(h, h)
            self.head = nn.Linear(h, config.vocab_size)

        def get_input_embeddings(self):
            return self.embed

        def forward(self, input_ids=None, attention_mask=None, position_ids=None, past_key_values=None,
                    inputs_embeds=None, use_cache=None, return_dict=None, **kwargs):
            x = self.embed(input_ids) if inputs_embeds is None else inputs_embeds
            past = past_key_values[0][0].shape[2] if past_key_values is not None else 0  # legacy tuples only
            x = x + self.pos(torch.arange(past, past + x.shape[1])[None])
            q, k, v = self.q(x)[:, None], self.k(x)[:, None], self.v(x)[:, None]
            if past_key_values is not None:
                k = torch.cat([past_key_values[0][0], k], dim=2)
                v = torch.cat([past_key_values[0][1], v], dim=2)
            n_q, n_k = q.shape[2], k.shape[2]
            mask = torch.ones(n_q, n_k, dtype=torch.bool).tril(diagonal=n_k - n_q)
            scores = (q @ k.transpose(-1, -2)).masked_fill(~mask, float("-inf")).softmax(-1)
            logits = self.head((scores @ v)[:, 0])
            return CausalLMOutputWithPast(logits=logits, past_key_values=((k, v),) if use_cache else None)

        def prepare_inputs_for_generation(self, input_ids, past_key_values=None, attention_mask=None,
                                          inputs_embeds=None, **kwargs):
            if past_key_values is not None:  # as InternLM2: the length from the tuple
                past = past_key_values[0][0].shape[2]
                input_ids = input_ids[:, past if input_ids.shape[1] > past else input_ids.shape[1] - 1:]
            if inputs_embeds is not None and past_key_values is None:
                return {"inputs_embeds": inputs_embeds, "past_key_values": None, "use_cache": True,
                        "attention_mask": attention_mask}
            return {"input_ids": input_ids, "past_key_values": past_key_values, "use_cache": True,
                    "attention_mask": attention_mask}

    return LegacyConfig, LegacyCausalLM


def _greedy_without_cache(model, ids, steps):
    out = ids
    with torch.no_grad():
        for _ in range(steps):
            logits = model(input_ids=out, use_cache=False).logits
            out = torch.cat([out, logits[:, -1:].argmax(-1)], dim=1)
    return out[:, ids.shape[1]:]


def _model():
    config_cls, lm_cls = _legacy_lm_class()
    torch.manual_seed(0)
    return lm_cls(config_cls()).eval()


def test_a_pretrained_model_without_generation_mixin_cannot_generate():
    model = _model()
    assert not callable(getattr(model, "generate", None))  # the bug on transformers >= 4.52.1


def test_give_generate_matches_greedy_decoding_without_cache():
    model = _model()
    ids = torch.tensor([[3, 7, 11, 2, 5]])
    expected = _greedy_without_cache(model, ids, 6)
    adapters.give_generate(model)
    with torch.no_grad():
        got = model.generate(input_ids=ids, attention_mask=torch.ones_like(ids), max_new_tokens=6, do_sample=False,
                             num_beams=1, use_cache=True, eos_token_id=None, pad_token_id=0)
    assert got[:, ids.shape[1]:].tolist() == expected.tolist()


def test_give_generate_from_input_embeddings_as_internvl_calls_it():
    model = _model()
    ids = torch.tensor([[4, 9, 1, 8]])
    expected = _greedy_without_cache(model, ids, 5)
    adapters.give_generate(model)
    with torch.no_grad():
        embeds = model.get_input_embeddings()(ids)
        got = model.generate(inputs_embeds=embeds, attention_mask=torch.ones_like(ids), max_new_tokens=5,
                             do_sample=False, use_cache=True, eos_token_id=None, pad_token_id=0)
    assert got.tolist() == expected.tolist()  # from embeddings, generate returns only the new tokens


def test_give_generate_leaves_a_generating_model_alone():
    from transformers import GPT2Config, GPT2LMHeadModel

    model = GPT2LMHeadModel(GPT2Config(n_layer=1, n_embd=16, n_head=2, vocab_size=40, n_positions=32))
    cls = type(model)
    assert adapters.give_generate(model) is model and type(model) is cls


def test_internvl2_adapter_fix_wraps_its_constructor():
    adapters.apply_adapter_fixes("internvl2")
    import lmms_eval.models.simple.internvl2 as iv

    assert iv.InternVL2._videorag_fixed
    adapters.apply_adapter_fixes("internvl2")  # idempotent: wrapped once
    assert iv.InternVL2.__init__.__qualname__.endswith("_fix_internvl2.<locals>.__init__")
