"""The benchmarks' own subtitles: the control arm (``rag=subtitles``) the paper compares against.

``subtitle_files`` reads and checks the files (SRT cues with their line numbers, for errors a user can act
on); ``subtitle_prompts`` puts them in the prompt as lmms-eval's own with-subtitles tasks do (Video-MME's
``videomme_w_subtitle``; LongVideoBench's lines rebased and limited to the clip); this module gives the
task's provider. MLVU has no subtitles.
"""

from __future__ import annotations

from pathlib import Path

from .subtitle_files import SubtitleError, UnreadableSubtitles, parse_srt, read_srt

__all__ = ["NoSubtitles", "SubtitleError", "UnreadableSubtitles", "parse_srt", "provider_for", "read_srt"]


class NoSubtitles(RuntimeError):
    pass


def provider_for(task_name: str, data_dir: Path, frames: int, adapter: str | None = None):
    """A function (question, doc, context) -> ``subtitle_prompts.SubtitlePrompt`` for the task, the
    benchmark's own subtitles arm as lmms-eval runs it (``adapter``: the inner model's lmms-eval name, whose
    entry of the task YAML sets Video-MME's ``frame_num``); raises NoSubtitles for MLVU. ``frames`` (the
    cell's) does not choose the cues: lmms-eval's with-subtitles tasks have their own frame counts."""
    from . import subtitle_prompts as sp

    data_dir = Path(data_dir)
    if task_name in ("videomme", "demo"):  # the demo is a Video-MME copy
        kwargs = sp.task_kwargs("videomme/videomme_w_subtitle.yaml", adapter)
        return lambda q, doc, context: sp.videomme_prompt(doc, data_dir, kwargs)
    if task_name == "longvideobench":
        return lambda q, doc, context: sp.longvideobench_prompt(doc, data_dir)
    raise NoSubtitles(
        f"rag=subtitles: task {task_name!r} has no subtitles (MLVU ships none); "
        "use rag=asr for speech transcribed by Whisper instead"
    )
