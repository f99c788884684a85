"""The subtitles arms (``rag=subtitles``) as lmms-eval 0.7.3 runs them, by calling its own task functions.

- **Video-MME** = lmms-eval's ``videomme_w_subtitle``: its ``videomme_doc_to_text_subtitle`` writes the whole
  prompt (header "This video's subtitles are listed below:", the white-font text of the cues under
  ``frame_num`` uniformly sampled frames, its option prompt, "The best answer is:"). ``frame_num`` and the
  prompt format come from that task's YAML for the inner adapter (32 by default; 768 for ``llava_vid`` and
  ``qwen3_vl``), selected as lmms-eval's ``Task`` selects ``lmms_eval_specific_kwargs``. The function reads
  the copy at ``task.data_dir`` (its hub path is fixed at import: pointed there for the call).
- **LongVideoBench** = the subtitle lines of lmms-eval's interleaved task (``longvideobench_val_i``):
  ``insert_subtitles_into_frames`` rebases each line by ``starting_timestamp_for_subtitles`` and keeps those
  covering one of ``compute_frame_timestamps(duration, 16)`` (the clip's frames), in file order. The video
  adapters take one video, so the lines go before the question as one block, without ``<image>`` markers.

The file is first read by ``subtitle_files.py`` (a malformed cue fails that video's questions with an error
naming the cue); a file that lmms-eval's reader cannot read fails them too (``UnreadableSubtitles``), and so
does a LongVideoBench subtitle file that is missing (``MissingSubtitles``: lmms-eval raises on it; a Video-MME
video without one gets lmms-eval's own "No subtitles available").
"""

from __future__ import annotations

import contextlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping

import yaml

from ..core.records import AuxDoc
from .subtitle_files import MissingSubtitles, UnreadableSubtitles, parse_srt

VIDEOMME_HEADER = "This video's subtitles are listed below: \n"
VIDEOMME_NONE = "No subtitles available"
_NO_SUCH_VIDEO = "videorag_eval-no-such-video"  # a videoID without a subtitle file: lmms-eval's prompt minus subtitles


@dataclass(frozen=True)
class SubtitlePrompt:
    """A question's subtitles as its benchmark's own tooling puts them in the prompt."""

    docs: list[AuxDoc] = field(default_factory=list)  # the lines in the prompt, in prompt order (times: the record's)
    context: str | None = None  # the whole prompt, replacing the task's (Video-MME)
    block: str | None = None  # a block before the task's prompt (LongVideoBench)

    @property
    def text(self) -> str:
        return "\n".join(d.text for d in self.docs)


def lmms_yaml(relative: str) -> dict[str, Any]:
    """An installed lmms-eval task YAML (its ``!function`` lines dropped, as lmms-eval's utils read them)."""
    import lmms_eval.tasks

    path = Path(lmms_eval.tasks.__file__).parent / relative
    return yaml.safe_load("".join(line for line in path.read_text().splitlines(True) if "!function" not in line))


def task_kwargs(relative: str, adapter: str | None) -> dict[str, Any]:
    """``lmms_eval_specific_kwargs`` of an lmms-eval task YAML for a model, selected as lmms-eval 0.7.3's
    ``Task`` does (``api/task.py``): the model's own entry, else the whole mapping updated with ``default``."""
    kwargs = dict(lmms_yaml(relative).get("lmms_eval_specific_kwargs") or {})
    if adapter in kwargs:
        return dict(kwargs[adapter])
    if "default" in kwargs:
        kwargs.update(kwargs.get("default", {}))
    elif "dataset" in kwargs:
        kwargs.update(kwargs.get("dataset", {}))
    return kwargs


# -- Video-MME -------------------------------------------------------------------------------------


@contextlib.contextmanager
def _videomme_root(vm, data_dir: Path):
    """lmms-eval's Video-MME utils read ``<HF_HOME at import>/videomme``: pointed at ``data_dir`` for a call."""
    saved = vm.base_cache_dir, vm.cache_name
    vm.base_cache_dir, vm.cache_name = str(data_dir.parent), data_dir.name
    try:
        yield
    finally:
        vm.base_cache_dir, vm.cache_name = saved


def videomme_prompt(doc: Mapping[str, Any], data_dir: Path, kwargs: dict[str, Any]) -> SubtitlePrompt:
    """lmms-eval's ``videomme_w_subtitle`` prompt for ``doc`` (``kwargs``: ``task_kwargs`` of its YAML)."""
    from lmms_eval.tasks.videomme import utils as vm

    from .safe_paths import inside

    srt = inside(data_dir, "subtitle", f"{doc['videoID']}.srt", what="subtitle")
    cues = parse_srt(srt) if srt.exists() else []  # a malformed cue: SubtitleError naming it (a data failure)
    try:
        with _videomme_root(vm, Path(data_dir)):
            full = vm.videomme_doc_to_text_subtitle(dict(doc), dict(kwargs))
            bare = vm.videomme_doc_to_text_subtitle({**doc, "videoID": _NO_SUCH_VIDEO}, dict(kwargs))
    except Exception as exc:  # lmms-eval's own SRT reader is stricter than players (e.g. "." before ms)
        raise UnreadableSubtitles(srt, "lmms-eval's Video-MME subtitle reader", exc) from exc
    lead = VIDEOMME_HEADER + VIDEOMME_NONE + "\n"
    rest = bare[len(lead):]
    if not bare.startswith(lead) or not full.startswith(VIDEOMME_HEADER) or not full.endswith("\n" + rest):
        raise RuntimeError("lmms-eval's videomme_doc_to_text_subtitle no longer writes '<header><subtitles>\\n<prompt>': "
                           "videorag_eval.benchmarks.subtitle_prompts needs updating for this lmms-eval version")
    text = full[len(VIDEOMME_HEADER):len(full) - len(rest) - 1]
    lines = [] if (text == VIDEOMME_NONE and not srt.exists()) else [ln for ln in text.split("\n") if ln]
    return SubtitlePrompt(docs=_timed(lines, cues), context=full)


def _timed(lines: list[str], cues: list[tuple[float, float, str]]) -> list[AuxDoc]:
    """The prompt's lines with the times of the cue each came from (for the record; the prompt has none)."""
    docs, used = [], set()
    for line in lines:
        match = next((i for i, c in enumerate(cues) if i not in used and c[2].startswith(line)), None)
        if match is not None:
            used.add(match)
        start, end = (cues[match][0], cues[match][1]) if match is not None else (None, None)
        docs.append(AuxDoc("subtitles", line, start, end))
    return docs


# -- LongVideoBench --------------------------------------------------------------------------------


def _lvb_frames() -> int:
    """Frames lmms-eval's interleaved LongVideoBench task places subtitles among (``max_num_frames``, 16)."""
    return int(lmms_yaml("longvideobench/longvideobench_val_i.yaml")["dataset_kwargs"].get("max_num_frames", 16))


def longvideobench_prompt(doc: Mapping[str, Any], data_dir: Path) -> SubtitlePrompt:
    """The subtitle lines lmms-eval's ``longvideobench_val_i`` puts in its prompt for ``doc``, as one block."""
    from lmms_eval.tasks.longvideobench import utils as lvb

    from .safe_paths import inside

    path = inside(data_dir, "subtitles", str(doc["subtitle_path"]), what="subtitle")
    if not path.exists():  # lmms-eval opens it and raises: a failure of this question, never a silent "no subtitles"
        raise MissingSubtitles(path, "LongVideoBench's subtitles/<subtitle_path>")
    offset, duration = doc["starting_timestamp_for_subtitles"], doc["duration"]
    try:
        items = json.loads(path.read_text(encoding="utf-8"))
        times = lvb.compute_frame_timestamps(duration, _lvb_frames())
        lines = _lines(lvb.insert_subtitles_into_frames(times, items, offset, duration))
        docs = []  # which lines it keeps, one by one (its decision is per line), with their clip times
        for item in items:
            one = _lines(lvb.insert_subtitles_into_frames(times, [item], offset, duration))
            if one:
                docs.append(AuxDoc("subtitles", "\n".join(one), *_rebased(lvb, item, offset, duration)))
    except Exception as exc:
        raise UnreadableSubtitles(path, "lmms-eval's LongVideoBench subtitle functions", exc) from exc
    if "\n".join(d.text for d in docs) != "\n".join(lines):
        raise RuntimeError("lmms-eval's insert_subtitles_into_frames keeps other lines one by one than together: "
                           "videorag_eval.benchmarks.subtitle_prompts needs updating for this lmms-eval version")
    if not docs:
        return SubtitlePrompt()
    from ..method.prompt import HEADERS

    return SubtitlePrompt(docs=docs, block=f"{HEADERS['subtitles']}\n" + "\n".join(lines) + "\n")


def _lines(interleaved: str) -> list[str]:
    """The subtitle lines of an interleaved prefix (its ``<image>`` frame markers dropped)."""
    return [ln for ln in interleaved.split("\n") if ln != "<image>"] if interleaved else []


def _rebased(lvb, item: Mapping[str, Any], offset: float, duration: float) -> tuple[float, float]:
    """A line's (start, end) in clip time, as ``insert_subtitles_into_frames`` computes them."""
    if "timestamp" in item:
        start, end = item["timestamp"]
        end = end if isinstance(end, float) else duration
    else:
        start, end = lvb.timestamp_to_seconds(item["start"]), lvb.timestamp_to_seconds(item["end"])
    return round(float(start) - offset, 3), round(float(end) - offset, 3)
