"""Sweeps go on: a refused or failed cell is reported and the multirun runs the rest.

Each job of a multirun (in this process, or a SLURM/submitit job elsewhere) appends one line per
cell that did not finish to ``<hydra.sweep.dir>/failed_cells.jsonl`` instead of exiting; the
``SweepReport`` callback (``hydra.callbacks`` in conf/config.yaml) lists them when the multirun
ends and exits non-zero: 2 if every failed cell was refused before any work, else 1.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Any

from hydra.experimental.callback import Callback

FILE = "failed_cells.jsonl"


def record(sweep_dir: str | os.PathLike[str], job: dict[str, Any]) -> None:
    path = Path(sweep_dir) / FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    line = (json.dumps(job, default=str) + "\n").encode("utf-8")
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o666)  # one write per line: jobs never interleave
    try:
        os.write(fd, line)
        os.fsync(fd)
    finally:
        os.close(fd)


def read(sweep_dir: str | os.PathLike[str]) -> list[dict[str, Any]]:
    path = Path(sweep_dir) / FILE
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


class SweepReport(Callback):
    def on_multirun_end(self, config, **kwargs: Any) -> None:
        failed = read(str(config.hydra.sweep.dir))
        if not failed:
            return
        lines = [f"videorag_eval: {len(failed)} cell(s) of this sweep did not finish:"]
        for job in failed:
            lines.append(f"  [{job.get('exit_code')}] {' '.join(job.get('overrides') or []) or '(defaults)'}: {job.get('error')}")
        print("\n".join(lines), file=sys.stderr, flush=True)
        sys.exit(2 if all(job.get("exit_code") == 2 for job in failed) else 1)
