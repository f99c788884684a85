"""Where a model runs: ``auto`` means CUDA when torch sees a GPU, else the CPU."""

from __future__ import annotations


def resolve_device(device: str | None) -> str:
    if device in (None, "", "auto"):
        try:
            import torch
        except ImportError:
            return "cpu"
        return "cuda" if torch.cuda.is_available() else "cpu"
    return str(device)
