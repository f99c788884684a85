"""One cell as G data-parallel ranks (``torchrun --nproc_per_node=G -m videorag_eval ...``).

Questions are assigned to ranks by video, not strided by question, so each video's extraction
(ASR, OCR, CLIP features) happens on one rank only. lmms-eval 0.7.3 strides documents over ranks
itself, inside ``Task.build_all_requests`` (a direct call to ``utils.create_iterator``, no method a
model can override), so under data parallel each rank runs lmms-eval as one process over all of the
cell's requests (``single_process_view``) and the wrapper answers only the questions of its own
videos. Each rank journals its answers in ``journal.rank<k>.jsonl``; after a barrier rank 0 hands
lmms-eval every rank's predictions, merges the journals and writes the cell. The result equals the
one-process cell question for question: the same requests, the same per-question code, the same
merge of records by doc_id.
"""

from __future__ import annotations

import os
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import timedelta
from typing import Hashable, Iterator, Sequence

# How long rank 0 waits at the barrier for the slowest rank (a rank that dies ends the whole
# torchrun group at once; this only bounds a rank that hangs).
BARRIER_TIMEOUT = timedelta(hours=48)


@dataclass(frozen=True)
class Ranks:
    rank: int = 0
    world_size: int = 1

    @classmethod
    def from_env(cls) -> "Ranks":
        """Rank and world size as torchrun / accelerate set them (no side effect)."""
        return cls(int(os.environ.get("RANK", 0)), int(os.environ.get("WORLD_SIZE", 1)))

    @classmethod
    def setup(cls) -> "Ranks":
        """This process's rank, ready to run: a SLURM job of several tasks launched by submitit
        (``hydra.launcher.tasks_per_node=G``) gets torch.distributed's variables from SLURM's, and under
        data parallel each rank's default CUDA device is its local GPU (``LOCAL_RANK``)."""
        if "RANK" not in os.environ and os.environ.get("SUBMITIT_EXECUTOR") == "slurm" \
                and int(os.environ.get("SLURM_NTASKS", "1")) > 1:
            from submitit.helpers import TorchDistributedEnvironment

            TorchDistributedEnvironment().export(set_cuda_visible_devices=False)
        ranks = cls.from_env()
        if ranks.active:
            import torch

            if torch.cuda.is_available():
                torch.cuda.set_device(int(os.environ.get("LOCAL_RANK", 0)) % torch.cuda.device_count())
        return ranks

    @property
    def active(self) -> bool:
        return self.world_size > 1

    @property
    def journal_name(self) -> str:
        return f"journal.rank{self.rank}.jsonl" if self.active else "journal.jsonl"


def assign_by_video(items: Sequence[tuple[int, Hashable]], world_size: int) -> dict[int, int]:
    """doc_id -> rank: whole videos to ranks, greedily to the rank with the fewest questions so far.

    ``items`` are (doc_id, video); the assignment depends on the pairs, not their order, so every rank
    computes the same one without talking to the others, and a rank pre-extracts exactly the videos it
    will answer.
    """
    by_video: dict[Hashable, list[int]] = {}
    for doc_id, video in items:
        by_video.setdefault(video, []).append(int(doc_id))
    load = [0] * world_size
    owner: dict[int, int] = {}
    # largest videos first, then by their first doc_id: balanced, and the same whatever order the
    # items come in (the pre-extraction reads them from the docs, the wrapper from lmms-eval's requests)
    order = sorted(by_video.items(), key=lambda kv: (-len(kv[1]), min(kv[1])))
    for _, doc_ids in order:
        rank = min(range(world_size), key=lambda r: (load[r], r))
        load[rank] += len(doc_ids)
        for d in doc_ids:
            owner[d] = rank
    return owner


class Barrier:
    """A CPU (gloo) barrier over all ranks with a long timeout, whatever backend the model uses."""

    def __init__(self) -> None:
        import torch.distributed as dist

        if not dist.is_initialized():
            dist.init_process_group(backend="gloo", timeout=BARRIER_TIMEOUT)
        self._group = dist.new_group(backend="gloo", timeout=BARRIER_TIMEOUT)

    def wait(self) -> None:
        import torch.distributed as dist

        dist.barrier(group=self._group)


@contextmanager
def single_process_view(ranks: Ranks) -> Iterator[None]:
    """Hide the world size from lmms-eval's evaluator (see the module docstring); restored after."""
    if not ranks.active:
        yield
        return
    saved = {k: os.environ.get(k) for k in ("RANK", "WORLD_SIZE")}
    os.environ["RANK"], os.environ["WORLD_SIZE"] = "0", "1"
    try:
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def videos_of_rank(items: Sequence[tuple[int, Hashable]], ranks: "Ranks") -> list[str]:
    """The distinct video paths whose questions this rank answers (all of them when not data parallel);
    keys that are not paths (a question without a usable video) count for the assignment only."""
    owner = assign_by_video(items, ranks.world_size) if ranks.active else None
    videos: list[str] = []
    for doc_id, video in items:
        if (owner is None or owner[int(doc_id)] == ranks.rank) and isinstance(video, str) and video not in videos:
            videos.append(video)
    return videos
