"""``python -m videorag_eval.doctor [OVERRIDES]``: the pre-flight of a cell or a whole sweep, without
running anything. Comma lists multiply as in a sweep (``model=qwen2_vl_7b,llava_video_7b rag=none,full``);
each distinct model, weight and data copy is checked once. Prints one table (``--json`` for scripts) and
exits 0 when every cell can run here, 2 otherwise.

``--checks=model,weights,data,disk`` limits what is checked (e.g. ``--checks=model`` checks only that each
model's code imports, as ``lock/check_env.py`` does on a machine without weights).

``SweepPreflight`` (a Hydra callback, ``conf/config.yaml``) runs the same checks once for every cell of a
``-m`` sweep before any cell starts or any job is submitted (local or SLURM): a doomed sweep exits 2 in
seconds, naming every problem.
"""

from __future__ import annotations

import json
import sys
import time
from typing import Any, Sequence

from hydra.experimental.callback import Callback

from .cell.preflight import Preflight, PreflightFailed, Problem


def expand(overrides: Sequence[str]) -> list[list[str]]:
    """The override lists of every job of the sweep that ``overrides`` describe (comma lists multiply)."""
    from hydra._internal.core_plugins.basic_sweeper import BasicSweeper
    from hydra.core.override_parser.overrides_parser import OverridesParser

    parsed = OverridesParser.create().parse_overrides(list(overrides))
    batches = BasicSweeper.split_arguments(parsed, None)
    return [list(job) for batch in batches for job in batch] or [[]]


def compose_cells(jobs: list[list[str]], config_name: str = "config") -> list[Any]:
    """Each job's config as the cell will see it (Hydra must be initialised: inside the app, or by doctor)."""
    from hydra import compose

    return [compose(config_name=config_name, overrides=job) for job in jobs]


def check(jobs: list[list[str]], checks: tuple[str, ...] | None = None,
          config_name: str = "config") -> tuple[list[Any], list[Problem], float]:
    from .cell.settings import ConfigError, check_config

    t0 = time.perf_counter()
    cfgs = compose_cells(jobs, config_name)
    valid = []
    for cfg in cfgs:  # a refused setting is the cell's (or the launcher's) own error, said before any pre-flight
        try:
            check_config(cfg, config_name)
        except ConfigError:
            continue
        valid.append(cfg)
    preflight = Preflight.from_cfg(cfgs[0], checks)
    problems = preflight.cells(valid)
    return cfgs, problems, time.perf_counter() - t0


class SweepPreflight(Callback):
    """Before a multirun starts (and before SLURM submission): every cell's pre-flight, once per distinct
    model / weight / data copy. Any problem: the table on stderr and exit 2, nothing run or submitted."""

    def on_multirun_start(self, config: Any, **kwargs: Any) -> None:
        if not bool((config.get("preflight") or {}).get("enabled", True)):
            return
        overrides = list(config.hydra.overrides.task)
        jobs = expand(overrides)
        # an extraction sweep (python -m videorag_eval.extract) loads no LVLM: Preflight.from_cfg knows
        _, problems, seconds = check(jobs, config_name=str(config.hydra.job.config_name or "config"))
        if problems:
            print(str(PreflightFailed(problems, f"this sweep of {len(jobs)} cell(s) ({seconds:.1f} s)")),
                  file=sys.stderr, flush=True)
            sys.exit(2)


def _table(problems: list[Problem]) -> str:
    rows = [("check", "what", "problem", "fix")] + [(p.check, p.subject, p.problem, p.fix) for p in problems]
    return "\n\n".join(f"{i}. [{c}] {s}\n   problem: {pr}\n   fix:     {f}" for i, (c, s, pr, f) in enumerate(rows[1:], 1))


def main(argv: Sequence[str] | None = None) -> int:
    from hydra import initialize_config_dir

    from .cell.settings import ConfigError, check_config, refuse_unknown_choices
    from .core.resources import CONF_DIR

    argv = list(sys.argv[1:] if argv is None else argv)
    as_json = "--json" in argv
    checks = None
    overrides = []
    for arg in argv:
        if arg in ("--json", "-m", "--multirun"):  # comma lists always multiply here
            continue
        if arg.startswith("--checks="):
            checks = tuple(c for c in arg.split("=", 1)[1].split(",") if c)
        elif arg in ("-h", "--help"):
            print(__doc__)
            return 0
        else:
            overrides.append(arg)
    refuse_unknown_choices(overrides, CONF_DIR)
    jobs = expand(overrides)
    with initialize_config_dir(config_dir=str(CONF_DIR), version_base="1.3", job_name="doctor"):
        cfgs, problems, seconds = check(jobs, checks)
    refused = []
    for job, cfg in zip(jobs, cfgs):
        try:
            check_config(cfg)
        except ConfigError as exc:
            refused.append(Problem("setting", " ".join(job) or "(defaults)", str(exc), "change the setting"))
    problems = refused + problems
    models = sorted({str(c.model.name) for c in cfgs})
    if as_json:
        print(json.dumps({"cells": len(cfgs), "models": models, "seconds": round(seconds, 2), "ok": not problems,
                          "problems": [p.__dict__ for p in problems]}, indent=2))
    else:
        print(f"videorag_eval doctor: {len(cfgs)} cell(s), model(s): {', '.join(models)}; checked in {seconds:.1f} s")
        if problems:
            print(f"{len(problems)} problem(s):\n\n{_table(problems)}")
        else:
            print("ready: every check passed (" + ", ".join(checks or Preflight().checks) + ")")
    return 2 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
