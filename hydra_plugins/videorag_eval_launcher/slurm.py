"""The SLURM launcher of ``python -m videorag_eval -m hydra/launcher=slurm``.

hydra-submitit-launcher's SLURM launcher (one job array per sweep, submitit requeues a job on
pre-emption and after a timeout signal), with two additions:

- only cells that still need work are submitted: finished cells, cells some process is running, and
  duplicate cells of the sweep are not (``skip_done``); every setting is checked before anything is
  submitted (a bad one exits 2, or with ``skip_invalid=true`` is listed as refused and left out);
- ``wait=false`` submits the array and returns at once, so no process on the login node has to
  outlive the sweep (follow it with ``python -m videorag_eval.status RESULTS_DIR``; submitting the
  same command again later submits only what is not finished);
- ``check_resources`` (default true): before ``sbatch``, the request is compared with the partition's
  nodes and limits (``videorag_eval.sweep.slurm_fit``); a request no node can satisfy exits 2 listing every
  mismatch and its fix; a scheduler that cannot be read is said and the sweep goes on;
- ``wait=true`` follows the jobs through the scheduler (``videorag_eval.sweep.slurm_jobs.watch``): a job that
  ended without a result (time limit, out of memory, cancelled) is listed as a failed cell instead of
  being awaited forever, and when every remaining job pends with a reason that never resolves
  (``PartitionConfig``, ...) it stops waiting, prints the status table and exits non-zero.
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
    def __init__(self, wait: bool = True, skip_done: bool = True, skip_invalid: bool = False,
                 check_resources: bool = True, **params: Any) -> None:
        super().__init__(**params)
        self.wait = bool(wait)
        self.skip_done = bool(skip_done)
        self.skip_invalid = bool(skip_invalid)
        self.check_resources = bool(check_resources)

    def _executor(self):
        import submitit

        params = dict(self.params)
        executor = submitit.AutoExecutor(cluster="slurm", folder=params.pop("submitit_folder"),
                                         slurm_max_num_timeout=params.pop("max_num_timeout", 0))
        base = set(OmegaConf.structured(BaseQueueConf).keys())
        executor.update_parameters(**{k if k in base else f"slurm_{k}": v for k, v in params.items()})
        return executor

    def launch(self, job_overrides: Sequence[Sequence[str]], initial_job_idx: int) -> Sequence[JobReturn]:
        from videorag_eval.cell.settings import ConfigError, check_launcher
        from videorag_eval.sweep.submit_plan import plan, record_submission, summary_line

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
            executor = self._executor()
            if self.check_resources:
                self._check_resources(executor, len(todo))
            args = [(p.overrides, "hydra.sweep.dir", p.index, f"job_id_for_{p.index}", _singleton_state()) for p in todo]
            jobs = executor.map_array(self, *zip(*args))
        job_ids = {p.index: job.job_id for p, job in zip(todo, jobs)}
        record = record_submission(sweep_dir, planned, job_ids, {p.index: str(job.paths.stdout) for p, job in zip(todo, jobs)})
        if jobs:
            log.info("submitted SLURM job array %s (%d task(s)); record: %s", jobs[0].job_id.split("_")[0], len(jobs), record)

        returns: dict[int, JobReturn] = {}
        if self.wait:
            returns = self._wait(todo, jobs, sweep_dir)
        else:
            print(f"submitted {len(jobs)} cell(s) and returned (hydra.launcher.wait=false); follow them with: "
                  f"python -m videorag_eval.status {self.config.results_dir}", flush=True)
        return [returns.get(p.index) or JobReturn(overrides=p.overrides, status=JobStatus.COMPLETED,
                                                  _return_value=job_ids.get(p.index, str(p.cell or "")))
                for p in planned]


    def _check_resources(self, executor, n_jobs: int) -> None:
        """Refuse (exit 2) a request no node of the partition can satisfy; say so and go on when the
        scheduler cannot be read."""
        from videorag_eval.sweep.slurm_fit import Request, check, sbatch_flags

        # the sbatch lines submitit will write for these parameters (additional_parameters included)
        script = executor._executor._make_submission_file_text("true", "check_resources")
        request = Request.from_flags(sbatch_flags(script), self.params.get("additional_parameters"))
        fit = check(request)
        if fit.refused:
            print(fit.report(f"this sweep ({n_jobs} job(s))"), file=sys.stderr, flush=True)
            sys.exit(2)
        for note in fit.notes:
            log.warning("SLURM: %s", note)
        if fit.checked:
            log.info("SLURM: the request (%s) fits partition %s (checked in %.2f s)", request.summary(), fit.partition,
                     fit.seconds)

    def _wait(self, todo: list, jobs: list, sweep_dir: Path) -> dict[int, JobReturn]:
        """Every job's return. A job that ended without a result, or that can never start, is a failed
        cell of the sweep (``failed_cells.jsonl``: SweepReport lists them at the end and exits 1)."""
        from videorag_eval.sweep import callbacks as sweep
        from videorag_eval.sweep.slurm_jobs import watch

        outcome = watch(jobs)
        if outcome.stuck:
            print(self._stuck_table(outcome.stuck, todo, jobs), file=sys.stderr, flush=True)
        returns: dict[int, JobReturn] = {}
        for p, job in zip(todo, jobs):
            info = outcome.ended.get(job.job_id) or outcome.stuck.get(job.job_id)
            if info is not None:
                sweep.record(sweep_dir, {"overrides": p.overrides, "exit_code": 1, "job": p.index,
                                         "error": info.describe(job.paths.stdout)})
                returns[p.index] = JobReturn(overrides=p.overrides, status=JobStatus.COMPLETED, _return_value=job.job_id)
                continue
            try:
                returns[p.index] = job.results()[0]
            except Exception as exc:  # the job died (its log says why): reported, the others still awaited
                returns[p.index] = JobReturn(overrides=p.overrides, status=JobStatus.FAILED, _return_value=exc)
        return returns

    def _stuck_table(self, stuck: dict, todo: list, jobs: list) -> str:
        """The status table of the cells whose jobs can never start (the jobs stay queued)."""
        from videorag_eval.status import format_table, sweep_status

        cells = {p.cell for p, job in zip(todo, jobs) if job.job_id in stuck and p.cell is not None}
        head = (f"SLURM: stopped waiting: every remaining job of this sweep ({len(stuck)}) pends with a reason that "
                f"never resolves by itself. They stay queued; cancel them with: scancel {' '.join(sorted(stuck))}")
        lines = [head]
        if cells:
            root = Path(str(self.config.results_dir))
            rows = [r for r in sweep_status(root) if (root / r.cell).resolve() in cells]
            lines.append(format_table(rows))
        lines += [f"  {' '.join(filter_overrides(p.overrides))}: {stuck[job.job_id].describe(job.paths.stdout)}"
                  for p, job in zip(todo, jobs) if job.job_id in stuck and p.cell is None]
        return "\n".join(lines)


def _singleton_state():
    from hydra.core.singleton import Singleton

    return Singleton.get_state()
