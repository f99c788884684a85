"""Tiny RANDOM video LLMs saved as real Hugging Face checkpoints, for offline tests.

Each builder writes a complete checkpoint directory (config, weights, tokenizer, processors) that
lmms-eval's real adapters load with their normal ``from_pretrained(path)`` code:

- ``tiny_qwen2_5_vl``      -> adapter ``qwen2_5_vl`` (simple and chat style),
- ``tiny_qwen2_vl``        -> adapter ``qwen2_vl``,
- ``tiny_qwen3_vl``        -> adapter ``qwen3_vl``,
- ``tiny_llava_onevision`` -> adapter ``llava_hf`` (simple style: ``force_simple``),
- ``tiny_video_llava``     -> adapter ``video_llava`` (simple style only; always 8 frames).

Nothing is downloaded: the tokenizers are byte-level BPEs trained in-process on a small built-in
English corpus, the processors are built from their defaults with tiny sizes, and the weights are
random but seeded, so a build is deterministic. A build is written to a temporary sibling directory
and moved into place only when complete (a marker file is written last), so ``ensure_tiny`` is safe
to call repeatedly and from several processes.

Heavy imports (torch, transformers, tokenizers) happen inside the builders only.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path

MARKER = ".tiny_build_complete"
BUILD_VERSION = 2  # bump when a builder changes, so stale caches are rebuilt
SEED = 1234

# A small English corpus for the tokenizers: question/answer phrasing of video benchmarks,
# subtitles-like sentences and the digits and option letters the answers use.
_CORPUS = [
    "Select the best answer to the following multiple-choice question based on the video.",
    "Respond with only the letter (A, B, C, or D) of the correct option.",
    "Answer with the option's letter from the given choices directly.",
    "The best answer is A. The best answer is B. The best answer is C. The best answer is D.",
    "A. red B. blue C. green D. yellow E. black F. white",
    "Question: What is the man holding in his hand? Options: A. a cup B. a phone C. a book D. a ball",
    "Question: How many people appear in the video? Answer: two people appear in the video.",
    "Question: What happens after the car stops at the light? The driver opens the door.",
    "The woman walks into the kitchen and opens the fridge to take out some milk.",
    "The subtitles of the video say that the weather will be sunny tomorrow morning.",
    "Video frames are sampled uniformly; the auxiliary texts come from speech, text and objects.",
    "Speech recognition: hello everyone and welcome back to the channel, today we will cook pasta.",
    "Optical character recognition found the words open, exit, sale, news and score on the screen.",
    "Object detection: there is a dog on the left of the sofa and a cat under the table.",
    "The scene shows a person, a bicycle, a tree, a building, a bus and a traffic light.",
    "Numbers: 0 1 2 3 4 5 6 7 8 9 10 11 12 20 30 50 100 2024 seconds minutes hours.",
    "You are a helpful assistant. USER: ASSISTANT: system user assistant",
    "Please describe the video in detail. What is the main topic of the video?",
    "The teacher writes on the board while the students listen and take notes.",
    "A player kicks the ball into the goal and the crowd cheers loudly in the stadium.",
    "In the first part of the video a chef cuts vegetables; later he fries them in a pan.",
    "Which of the following statements is true according to the video? None of the above.",
    "The video is about a trip to the mountains, where the family climbs and takes photos.",
    "Is the light on or off? Yes. No. Maybe. I do not know. It is not shown in the video.",
    "Count the number of times the bird flies across the screen during the clip.",
    "Where does the story take place? In a city, in a forest, on a beach, at a school.",
    "Why does the girl laugh? Because the puppy jumps into the water and splashes her.",
    "Who speaks first in the meeting? The manager speaks first and then the engineer answers.",
    "When does the music start? The music starts at the beginning and stops at the end.",
    "Time stamps: 00:00:01,000 --> 00:00:04,500 the quick brown fox jumps over the lazy dog.",
    "{\"asr\": \"keywords\", \"ocr\": \"text\", \"det\": [\"person\", \"car\"], \"type\": \"number\"}",
]


def _corpus() -> list[str]:
    # Repeat with small variations so BPE merges have counts to work with.
    out = []
    for i in range(4):
        for line in _CORPUS:
            out.append(line if i % 2 == 0 else line.lower())
    return out


# --------------------------------------------------------------------------- shared helpers


def _train_bpe(special_tokens: list[str], vocab_size: int, bos: str | None = None):
    """A byte-level BPE tokenizer trained in-process; returns a ``tokenizers.Tokenizer``."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, processors, trainers

    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        special_tokens=special_tokens,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    tok.train_from_iterator(_corpus(), trainer=trainer)
    if bos is not None:  # Llama-style: prepend BOS
        bos_id = tok.token_to_id(bos)
        tok.post_processor = processors.TemplateProcessing(
            single=f"{bos} $A", pair=f"{bos} $A {bos} $B", special_tokens=[(bos, bos_id)]
        )
    else:
        tok.post_processor = processors.ByteLevel(trim_offsets=False)
    return tok


def _wrap_tokenizer(tok, chat_template: str, processor_class=None, **special):
    """The trained tokenizer as the fast tokenizer class ``processor_class`` expects (transformers 4.x
    processors check the class: Qwen2.5-VL's wants a Qwen2 tokenizer), else ``PreTrainedTokenizerFast``.
    It returns input ids and attention mask only (no ``token_type_ids``, which ``generate`` rejects)."""
    import transformers
    from transformers import PreTrainedTokenizerFast

    cls = PreTrainedTokenizerFast
    wanted = getattr(processor_class, "tokenizer_class", None) if processor_class is not None else None
    for name in reversed(wanted if isinstance(wanted, (tuple, list)) else [wanted]):
        candidate = getattr(transformers, name, None) if isinstance(name, str) else None
        if isinstance(candidate, type) and issubclass(candidate, PreTrainedTokenizerFast):
            cls = candidate
            break
    fast = cls(tokenizer_object=tok, model_input_names=["input_ids", "attention_mask"], **special)
    fast.chat_template = chat_template
    return fast


def _seeded_model(factory: Callable[[], object], seed: int = SEED):
    """Build the model with a fixed seed, without disturbing the caller's global RNG state."""
    import torch

    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        model = factory()
    model.eval()
    return model


def _build_atomically(out_dir: str | os.PathLike, name: str, write: Callable[[Path], None]) -> str:
    """Run ``write(tmp)`` into a sibling temp dir, write the marker last, then move it into place."""
    out = Path(out_dir).resolve()
    if is_complete(out):
        return str(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.building-", dir=out.parent))
    try:
        from ..core.files import dir_mode

        os.chmod(tmp, dir_mode(tmp))  # mkdtemp makes it private (0o700); honour the umask as mkdir would
        write(tmp)
        (tmp / MARKER).write_text(json.dumps({"name": name, "version": BUILD_VERSION, "seed": SEED}) + "\n")
        if out.exists():
            if is_complete(out):  # another process finished first
                return str(out)
            shutil.rmtree(out, ignore_errors=True)  # a stale or partial build
        try:
            os.replace(tmp, out)
        except OSError:
            if not is_complete(out):
                raise
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
    return str(out)


def is_complete(path: str | os.PathLike) -> bool:
    """True if ``path`` holds a finished build of the current builder version."""
    marker = Path(path) / MARKER
    if not marker.is_file():
        return False
    try:
        return json.loads(marker.read_text()).get("version") == BUILD_VERSION
    except (OSError, ValueError):
        return False


# --------------------------------------------------------------------------- Qwen2.5-VL

# Minimal Qwen-style chat template: string or list content; video/image items become the
# vision placeholder that the processor expands to the right number of pad tokens.
QWEN_CHAT_TEMPLATE = (
    "{%- for message in messages -%}"
    "{{- '<|im_start|>' + message['role'] + '\\n' -}}"
    "{%- if message['content'] is string -%}{{- message['content'] -}}"
    "{%- else -%}{%- for item in message['content'] -%}"
    "{%- if item['type'] == 'video' or 'video' in item -%}{{- '<|vision_start|><|video_pad|><|vision_end|>' -}}"
    "{%- elif item['type'] == 'image' or 'image' in item or 'image_url' in item -%}"
    "{{- '<|vision_start|><|image_pad|><|vision_end|>' -}}"
    "{%- elif 'text' in item -%}{{- item['text'] -}}{%- endif -%}"
    "{%- endfor -%}{%- endif -%}"
    "{{- '<|im_end|>\\n' -}}"
    "{%- endfor -%}"
    "{%- if add_generation_prompt -%}{{- '<|im_start|>assistant\\n' -}}{%- endif -%}"
)
QWEN_SPECIAL = ["<|endoftext|>", "<|im_start|>", "<|im_end|>", "<|vision_start|>", "<|vision_end|>",
                "<|image_pad|>", "<|video_pad|>"]
TINY_MIN_PIXELS = 3136   # 56 * 56
TINY_MAX_PIXELS = 12544  # 112 * 112


def _qwen_tokenizer(processor_class):
    """The tiny Qwen tokenizer (byte-level BPE with Qwen's special tokens) and the ids of those tokens."""
    tokenizer = _wrap_tokenizer(_train_bpe(QWEN_SPECIAL, 600), QWEN_CHAT_TEMPLATE, processor_class,
                                eos_token="<|im_end|>", pad_token="<|endoftext|>")
    return tokenizer, {t: tokenizer.convert_tokens_to_ids(t) for t in QWEN_SPECIAL}


def _qwen_text(tokenizer, ids: dict, **extra) -> dict:
    """The tiny Qwen language model: hidden 64, 2 layers, 4 heads (2 key/value)."""
    return dict(vocab_size=len(tokenizer), hidden_size=64, intermediate_size=128, num_hidden_layers=2,
                num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=4096, rope_theta=10000.0,
                bos_token_id=ids["<|endoftext|>"], eos_token_id=ids["<|im_end|>"], pad_token_id=ids["<|endoftext|>"],
                tie_word_embeddings=False, **extra)


def _qwen_vision_ids(ids: dict) -> dict:
    return dict(image_token_id=ids["<|image_pad|>"], video_token_id=ids["<|video_pad|>"],
                vision_start_token_id=ids["<|vision_start|>"], vision_end_token_id=ids["<|vision_end|>"])


def _save_qwen(tmp: Path, model_class, config, processor, tokenizer, ids: dict) -> None:
    model = _seeded_model(lambda: model_class(config))
    model.generation_config.eos_token_id = ids["<|im_end|>"]
    model.generation_config.pad_token_id = ids["<|endoftext|>"]
    model.save_pretrained(tmp)
    processor.save_pretrained(tmp)
    tokenizer.save_pretrained(tmp)


MROPE = {"type": "mrope", "mrope_section": [2, 3, 3]}  # head dim 16: 8 rotary pairs over (time, height, width)
QWEN2_SIZES = dict(min_pixels=TINY_MIN_PIXELS, max_pixels=TINY_MAX_PIXELS, patch_size=14, temporal_patch_size=2,
                   merge_size=2)


def build_tiny_qwen2_5_vl(out_dir: str | os.PathLike) -> str:
    """A tiny random Qwen2.5-VL (text hidden 64, 2 layers; vision depth 2, hidden 32) + processor."""

    def write(tmp: Path) -> None:
        from transformers import (
            Qwen2_5_VLConfig,
            Qwen2_5_VLForConditionalGeneration,
            Qwen2_5_VLProcessor,
            Qwen2VLImageProcessor,
            Qwen2VLVideoProcessor,
        )

        tokenizer, ids = _qwen_tokenizer(Qwen2_5_VLProcessor)
        processor = Qwen2_5_VLProcessor(image_processor=Qwen2VLImageProcessor(**QWEN2_SIZES), tokenizer=tokenizer,
                                        video_processor=Qwen2VLVideoProcessor(**QWEN2_SIZES, cap_pixels_per_frame=True),
                                        chat_template=QWEN_CHAT_TEMPLATE)
        config = Qwen2_5_VLConfig(
            text_config=_qwen_text(tokenizer, ids, rope_scaling=MROPE, max_window_layers=2),
            vision_config=dict(
                depth=2, hidden_size=32, intermediate_size=64, num_heads=2, in_channels=3, patch_size=14,
                spatial_merge_size=2, temporal_patch_size=2, window_size=112, out_hidden_size=64,
                fullatt_block_indexes=[1], tokens_per_second=2,
            ),
            **_qwen_vision_ids(ids),
            bos_token_id=ids["<|endoftext|>"], eos_token_id=ids["<|im_end|>"], pad_token_id=ids["<|endoftext|>"],
            tie_word_embeddings=False,
        )
        _save_qwen(tmp, Qwen2_5_VLForConditionalGeneration, config, processor, tokenizer, ids)

    return _build_atomically(out_dir, "tiny_qwen2_5_vl", write)


def build_tiny_qwen2_vl(out_dir: str | os.PathLike) -> str:
    """A tiny random Qwen2-VL (text hidden 64, 2 layers; vision depth 2, embed 32) + processor."""

    def write(tmp: Path) -> None:
        from transformers import (
            Qwen2VLConfig,
            Qwen2VLForConditionalGeneration,
            Qwen2VLImageProcessor,
            Qwen2VLProcessor,
            Qwen2VLVideoProcessor,
        )

        tokenizer, ids = _qwen_tokenizer(Qwen2VLProcessor)
        processor = Qwen2VLProcessor(image_processor=Qwen2VLImageProcessor(**QWEN2_SIZES), tokenizer=tokenizer,
                                     video_processor=Qwen2VLVideoProcessor(**QWEN2_SIZES), chat_template=QWEN_CHAT_TEMPLATE)
        config = Qwen2VLConfig(
            text_config=_qwen_text(tokenizer, ids, rope_scaling=MROPE, max_window_layers=2),
            vision_config=dict(depth=2, embed_dim=32, hidden_size=64, mlp_ratio=2, num_heads=2, in_channels=3,
                               patch_size=14, spatial_merge_size=2, temporal_patch_size=2),
            **_qwen_vision_ids(ids),
            bos_token_id=ids["<|endoftext|>"], eos_token_id=ids["<|im_end|>"], pad_token_id=ids["<|endoftext|>"],
            tie_word_embeddings=False,
        )
        _save_qwen(tmp, Qwen2VLForConditionalGeneration, config, processor, tokenizer, ids)

    return _build_atomically(out_dir, "tiny_qwen2_vl", write)


# Qwen3-VL's patches are 16 px (32 px per merged token): frames between 64x64 and 128x128 pixels
TINY_QWEN3_MIN_PIXELS = 4096
TINY_QWEN3_MAX_PIXELS = 16384


def build_tiny_qwen3_vl(out_dir: str | os.PathLike) -> str:
    """A tiny random Qwen3-VL (text hidden 64, 2 layers; vision depth 2, hidden 32, 16-px patches) + processor."""

    def write(tmp: Path) -> None:
        from transformers import (
            Qwen2VLImageProcessorFast,
            Qwen3VLConfig,
            Qwen3VLForConditionalGeneration,
            Qwen3VLProcessor,
            Qwen3VLVideoProcessor,
        )

        tokenizer, ids = _qwen_tokenizer(Qwen3VLProcessor)
        size = {"shortest_edge": TINY_QWEN3_MIN_PIXELS, "longest_edge": TINY_QWEN3_MAX_PIXELS}
        image_processor = Qwen2VLImageProcessorFast(size=size, patch_size=16, temporal_patch_size=2, merge_size=2,
                                                    image_mean=[0.5, 0.5, 0.5], image_std=[0.5, 0.5, 0.5])
        video_processor = Qwen3VLVideoProcessor(size=size, patch_size=16, temporal_patch_size=2, merge_size=2)
        processor = Qwen3VLProcessor(image_processor=image_processor, tokenizer=tokenizer,
                                     video_processor=video_processor, chat_template=QWEN_CHAT_TEMPLATE)
        config = Qwen3VLConfig(
            text_config=_qwen_text(tokenizer, ids, head_dim=16, rope_scaling={
                "rope_type": "default", "mrope_section": [2, 3, 3], "mrope_interleaved": True}),
            vision_config=dict(depth=2, hidden_size=32, intermediate_size=64, num_heads=2, in_channels=3,
                               patch_size=16, spatial_merge_size=2, temporal_patch_size=2, out_hidden_size=64,
                               num_position_embeddings=64, deepstack_visual_indexes=[1]),
            **_qwen_vision_ids(ids),
            tie_word_embeddings=False,
        )
        _save_qwen(tmp, Qwen3VLForConditionalGeneration, config, processor, tokenizer, ids)

    return _build_atomically(out_dir, "tiny_qwen3_vl", write)


# --------------------------------------------------------------------------- LLaVA-OneVision

ONEVISION_CHAT_TEMPLATE = (
    "{%- for message in messages -%}"
    "{{- '<|im_start|>' + message['role'] + '\\n' -}}"
    "{%- if message['content'] is string -%}{{- message['content'] -}}"
    "{%- else -%}{%- for item in message['content'] -%}"
    "{%- if item['type'] == 'video' -%}{{- '<video>\\n' -}}"
    "{%- elif item['type'] == 'image' -%}{{- '<image>\\n' -}}"
    "{%- elif 'text' in item -%}{{- item['text'] -}}{%- endif -%}"
    "{%- endfor -%}{%- endif -%}"
    "{{- '<|im_end|>\\n' -}}"
    "{%- endfor -%}"
    "{%- if add_generation_prompt -%}{{- '<|im_start|>assistant\\n' -}}{%- endif -%}"
)
ONEVISION_SPECIAL = ["<|endoftext|>", "<|im_start|>", "<|im_end|>", "<image>", "<video>"]
ONEVISION_IMAGE = 56
ONEVISION_PATCH = 14


def build_tiny_llava_onevision(out_dir: str | os.PathLike) -> str:
    """A tiny random LLaVA-OneVision (SigLIP 56px/14 + Qwen2 hidden 64) + processor, for ``llava_hf``."""

    def write(tmp: Path) -> None:
        from transformers import (
            LlavaOnevisionConfig,
            LlavaOnevisionForConditionalGeneration,
            LlavaOnevisionImageProcessor,
            LlavaOnevisionProcessor,
            LlavaOnevisionVideoProcessor,
            Qwen2Config,
            SiglipVisionConfig,
        )

        tokenizer = _wrap_tokenizer(_train_bpe(ONEVISION_SPECIAL, 600), ONEVISION_CHAT_TEMPLATE,
                                    LlavaOnevisionProcessor, eos_token="<|im_end|>", pad_token="<|endoftext|>")
        ids = {t: tokenizer.convert_tokens_to_ids(t) for t in ONEVISION_SPECIAL}
        side = ONEVISION_IMAGE
        pinpoints = [[side, side], [side, 2 * side], [2 * side, side], [2 * side, 2 * side]]
        size = {"height": side, "width": side}
        image_processor = LlavaOnevisionImageProcessor(size=size, image_grid_pinpoints=pinpoints)
        video_processor = LlavaOnevisionVideoProcessor(size=size)
        num_image_tokens = (side // ONEVISION_PATCH) ** 2
        processor = LlavaOnevisionProcessor(
            image_processor=image_processor, tokenizer=tokenizer, video_processor=video_processor,
            num_image_tokens=num_image_tokens, vision_feature_select_strategy="full",
            chat_template=ONEVISION_CHAT_TEMPLATE, vision_aspect_ratio="anyres_max_9",
        )
        vision = SiglipVisionConfig(hidden_size=32, intermediate_size=64, num_hidden_layers=2, num_attention_heads=2,
                                    image_size=side, patch_size=ONEVISION_PATCH)
        text = Qwen2Config(vocab_size=len(tokenizer), hidden_size=64, intermediate_size=128, num_hidden_layers=2,
                           num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=4096,
                           bos_token_id=ids["<|endoftext|>"], eos_token_id=ids["<|im_end|>"],
                           pad_token_id=ids["<|endoftext|>"], tie_word_embeddings=False)
        config = LlavaOnevisionConfig(
            vision_config=vision, text_config=text, image_token_index=ids["<image>"],
            video_token_index=ids["<video>"], vision_feature_select_strategy="full", vision_feature_layer=-1,
            image_grid_pinpoints=pinpoints, vision_aspect_ratio="anyres_max_9", tie_word_embeddings=False,
        )
        model = _seeded_model(lambda: LlavaOnevisionForConditionalGeneration(config))
        model.generation_config.eos_token_id = ids["<|im_end|>"]
        model.generation_config.pad_token_id = ids["<|endoftext|>"]
        model.save_pretrained(tmp)
        processor.save_pretrained(tmp)
        tokenizer.save_pretrained(tmp)

    return _build_atomically(out_dir, "tiny_llava_onevision", write)


# --------------------------------------------------------------------------- Video-LLaVA

VIDEO_LLAVA_CHAT_TEMPLATE = (
    "{%- for message in messages -%}"
    "{%- if message['role'] == 'user' -%}{{- 'USER: ' -}}{%- else -%}{{- 'ASSISTANT: ' -}}{%- endif -%}"
    "{%- if message['content'] is string -%}{{- message['content'] -}}"
    "{%- else -%}{%- for item in message['content'] -%}"
    "{%- if item['type'] == 'video' -%}{{- '<video>' -}}"
    "{%- elif item['type'] == 'image' -%}{{- '<image>' -}}"
    "{%- elif 'text' in item -%}{{- item['text'] -}}{%- endif -%}"
    "{%- endfor -%}{%- endif -%}{{- ' ' -}}"
    "{%- endfor -%}"
    "{%- if add_generation_prompt -%}{{- 'ASSISTANT:' -}}{%- endif -%}"
)
VIDEO_LLAVA_SPECIAL = ["<unk>", "<s>", "</s>", "<pad>", "<image>", "<video>"]
VIDEO_LLAVA_IMAGE = 28
VIDEO_LLAVA_PATCH = 14
VIDEO_LLAVA_FRAMES = 8  # the adapter asserts num_frames == 8


def build_tiny_video_llava(out_dir: str | os.PathLike) -> str:
    """A tiny random Video-LLaVA (CLIP 28px/14 + Llama hidden 64) + ``VideoLlavaProcessor``."""

    def write(tmp: Path) -> None:
        from transformers import (
            CLIPVisionConfig,
            LlamaConfig,
            VideoLlavaConfig,
            VideoLlavaForConditionalGeneration,
            VideoLlavaImageProcessor,
            VideoLlavaProcessor,
            VideoLlavaVideoProcessor,
        )

        tokenizer = _wrap_tokenizer(_train_bpe(VIDEO_LLAVA_SPECIAL, 600, bos="<s>"), VIDEO_LLAVA_CHAT_TEMPLATE,
                                    VideoLlavaProcessor, bos_token="<s>", eos_token="</s>", unk_token="<unk>", pad_token="<pad>")
        ids = {t: tokenizer.convert_tokens_to_ids(t) for t in VIDEO_LLAVA_SPECIAL}
        side = VIDEO_LLAVA_IMAGE
        image_processor = VideoLlavaImageProcessor(size={"shortest_edge": side},
                                                   crop_size={"height": side, "width": side})
        video_processor = VideoLlavaVideoProcessor(size={"shortest_edge": side},
                                                   crop_size={"height": side, "width": side})
        processor = VideoLlavaProcessor(
            image_processor=image_processor, video_processor=video_processor, tokenizer=tokenizer,
            patch_size=VIDEO_LLAVA_PATCH, vision_feature_select_strategy="default", num_additional_image_tokens=1,
            chat_template=VIDEO_LLAVA_CHAT_TEMPLATE,
        )
        patches = (side // VIDEO_LLAVA_PATCH) ** 2
        vision = CLIPVisionConfig(hidden_size=32, intermediate_size=64, num_hidden_layers=2, num_attention_heads=2,
                                  image_size=side, patch_size=VIDEO_LLAVA_PATCH, projection_dim=32)
        text = LlamaConfig(vocab_size=len(tokenizer), hidden_size=64, intermediate_size=128, num_hidden_layers=2,
                           num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=4096,
                           bos_token_id=ids["<s>"], eos_token_id=ids["</s>"], pad_token_id=ids["<pad>"],
                           tie_word_embeddings=False)
        config = VideoLlavaConfig(
            vision_config=vision, text_config=text, image_token_index=ids["<image>"],
            video_token_index=ids["<video>"], vision_feature_select_strategy="default", vision_feature_layer=-2,
            image_seq_length=patches, video_seq_length=(patches + 1) * VIDEO_LLAVA_FRAMES, tie_word_embeddings=False,
        )
        model = _seeded_model(lambda: VideoLlavaForConditionalGeneration(config))
        model.generation_config.bos_token_id = ids["<s>"]
        model.generation_config.eos_token_id = ids["</s>"]
        model.generation_config.pad_token_id = ids["<pad>"]
        model.save_pretrained(tmp)
        processor.save_pretrained(tmp)
        tokenizer.save_pretrained(tmp)

    return _build_atomically(out_dir, "tiny_video_llava", write)


# --------------------------------------------------------------------------- registry

TINY_BUILDERS: dict[str, Callable[[str | os.PathLike], str]] = {
    "tiny_qwen2_5_vl": build_tiny_qwen2_5_vl,
    "tiny_qwen2_vl": build_tiny_qwen2_vl,
    "tiny_qwen3_vl": build_tiny_qwen3_vl,
    "tiny_llava_onevision": build_tiny_llava_onevision,
    "tiny_video_llava": build_tiny_video_llava,
}

# The lmms-eval adapter each tiny model is built for.
TINY_ADAPTERS: dict[str, str] = {
    "tiny_qwen2_5_vl": "qwen2_5_vl",
    "tiny_qwen2_vl": "qwen2_vl",
    "tiny_qwen3_vl": "qwen3_vl",
    "tiny_llava_onevision": "llava_hf",
    "tiny_video_llava": "video_llava",
}


def ensure_tiny(name: str, cache_root: str | os.PathLike) -> str:
    """Build the tiny model ``name`` into ``<cache_root>/tiny_models/<name>`` once; return its path.

    The model's adapter (``TINY_ADAPTERS``) needs the harness's fixes as any real model of that family does:
    whoever builds the adapter applies them (``lmms.factory.build_inner`` does).
    """
    try:
        builder = TINY_BUILDERS[name]
    except KeyError:
        raise ValueError(f"unknown tiny model {name!r}; known: {sorted(TINY_BUILDERS)}") from None
    return builder(Path(cache_root) / "tiny_models" / name)
