"""Fixes for lmms-eval 0.7.3 adapter bugs, applied in process before an adapter is constructed.

This is the one place that patches lmms-eval's own model adapters; nothing else in the harness
changes lmms-eval code. Each fix is idempotent and names the bug it works around.
"""

from __future__ import annotations


def apply_adapter_fixes(adapter: str) -> None:
    """Work around lmms-eval 0.7.3 adapter bugs that the tiny (and the real) models hit. Idempotent.

    ``video_llava``: its ``generate_until`` calls ``read_video(path, self.num_frames)`` but
    ``read_video``'s frame count is keyword-only (``num_frm``), so every request raised ``TypeError``;
    and its ``tokenizer`` property reads an attribute that is never set. Both are patched here
    (the module's ``read_video`` name and the class property); nothing else changes.
    """
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
