"""The SLURM launcher of ``python -m videorag_eval -m hydra/launcher=slurm``.

hydra-submitit-launcher's SLURM launcher (one job array per sweep, submitit requeues a job on
pre-emption and after a timeout signal), with two additions:

- only cells that still need work are submitted: finished cells, cells some process is running, and
  duplicate cells of the sweep are not (``skip_done``); every setting is checked before anything is
  submitted (a bad one exits 2, or with ``skip_invalid=true`` is listed as refused and left out);
- ``wait=false`` submits the array and returns at once, so no process on the login node has to
  outlive the sweep (follow it with ``python -m videorag_eval.status RESULTS_DIR``; submitting the
  same command again later submits only what is not finished).
"""

from __future__ import annotations

import logging
import sys
from pathlib import Path
from typing import Any, Sequence

from hydra.core.utils import JobReturn, JobStatus, filter_overrides
from hydra_plugins.hydra_submitit_launcher.config import BaseQueueConf
from hydra_plugins.hydra_submitit_launcher.submitit_launcher import SlurmLauncher as _SubmititSlurmLauncher
from omegaconf import OmegaConf

log = logging.getLogger(__name__)


class SlurmLauncher(_SubmititSlurmLauncher):
    def __init__(self, wait: bool = True, skip_done: bool = True, skip_invalid: bool = False, **params: Any) -> None:
        super().__init__(**params)
        self.wait = bool(wait)
        self.skip_done = bool(skip_done)
        self.skip_invalid = bool(skip_invalid)

    def _executor(self):
        import submitit

        params = dict(self.params)
        executor = submitit.AutoExecutor(cluster="slurm", folder=params.pop("submitit_folder"),
                                         slurm_max_num_timeout=params.pop("max_num_timeout", 0))
        base = set(OmegaConf.structured(BaseQueueConf).keys())
        executor.update_parameters(**{k if k in base else f"slurm_{k}": v for k, v in params.items()})
        return executor

    def launch(self, job_overrides: Sequence[Sequence[str]], initial_job_idx: int) -> Sequence[JobReturn]:
        from videorag_eval.settings import ConfigError, check_launcher
        from videorag_eval.submit_plan import plan, record_submission, summary_line

        assert self.config is not None and self.hydra_context is not None
        try:
            check_launcher(self.config.hydra.launcher)  # hydra.launcher.* keys: types and ranges (config_schema)
            planned = plan(self.hydra_context.config_loader, self.config, job_overrides, initial_job_idx, self.skip_done,
                           self.skip_invalid)
        except ConfigError as exc:
            log.error("%s (nothing submitted)", exc)
            sys.exit(2)
        sweep_dir = Path(str(self.config.hydra.sweep.dir))
        sweep_dir.mkdir(parents=True, exist_ok=True)
        log.info("%s", summary_line(planned))
        for p in planned:
            note = f" ({p.note})" if p.note else ""
            log.info("\t#%d %-9s %s%s", p.index, p.action, " ".join(filter_overrides(p.overrides)), note)

        todo = [p for p in planned if p.action == "submit"]
        jobs = []
        if todo:
            args = [(p.overrides, "hydra.sweep.dir", p.index, f"job_id_for_{p.index}", _singleton_state()) for p in todo]
            jobs = self._executor().map_array(self, *zip(*args))
        job_ids = {p.index: job.job_id for p, job in zip(todo, jobs)}
        record = record_submission(sweep_dir, planned, job_ids)
        if jobs:
            log.info("submitted SLURM job array %s (%d task(s)); record: %s", jobs[0].job_id.split("_")[0], len(jobs), record)

        returns: dict[int, JobReturn] = {}
        if self.wait:
            for p, job in zip(todo, jobs):
                try:
                    returns[p.index] = job.results()[0]
                except Exception as exc:  # the job died (its log says why): reported, the others still awaited
                    returns[p.index] = JobReturn(overrides=p.overrides, status=JobStatus.FAILED, _return_value=exc)
        else:
            print(f"submitted {len(jobs)} cell(s) and returned (hydra.launcher.wait=false); follow them with: "
                  f"python -m videorag_eval.status {self.config.results_dir}", flush=True)
        return [returns.get(p.index) or JobReturn(overrides=p.overrides, status=JobStatus.COMPLETED,
                                                  _return_value=job_ids.get(p.index, str(p.cell or "")))
                for p in planned]


def _singleton_state():
    from hydra.core.singleton import Singleton

    return Singleton.get_state()
