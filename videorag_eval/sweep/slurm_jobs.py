"""Where the SLURM jobs of a sweep stand, as the scheduler says: for ``status`` and the launcher's wait.

- ``query``: each job's state from ``squeue`` (pending with its reason, running since when and where,
  and jobs that ended within the controller's MinJobAge), then ``sacct`` for the jobs squeue no longer
  knows (where accounting is enabled; without it ``sacct`` fails and a note says so), then the job's
  own log (SLURM writes ``*** JOB n ... CANCELLED ... DUE TO TIME LIMIT ***`` and the like into it).
- ``never_resolves``: pending reasons that no amount of waiting fixes (``PartitionConfig``,
  ``PartitionTimeLimit``, ``ReqNodeNotAvail``, per-job QOS/association limits, ...), each with its fix.
- ``latest_submissions``: which job runs each cell, from the sweeps' ``submissions.jsonl``.
- ``watch``: the launcher's ``wait=true``: until every job has its result, or ended without one
  (a timeout, an out-of-memory kill: reported instead of waiting forever), or every remaining job
  pends with a reason that never resolves.
"""

from __future__ import annotations

import json
import re
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable

from .slurm_cli import SchedulerUnavailable, run

SUBMISSIONS = "submissions.jsonl"  # <hydra.sweep.dir>/submissions.jsonl (submit_plan.record_submission)
PENDING = {"PENDING", "REQUEUED", "REQUEUE_HOLD", "REQUEUE_FED", "RESV_DEL_HOLD", "SUSPENDED"}
RUNNING = {"RUNNING", "COMPLETING", "CONFIGURING", "SIGNALING", "STAGE_OUT", "RESIZING"}
POLL_S = 5.0

_FIXES = {
    "PartitionConfig": "the request exceeds what the partition's nodes have or allow (CPUs, memory, GPUs, nodes): "
                       "cancel it and submit again with a request that fits (hydra.launcher.check_resources=true "
                       "names each mismatch and its fix before submitting)",
    "PartitionTimeLimit": "its time limit exceeds the partition's MaxTime: cancel it and submit again with a lower "
                          "hydra.launcher.timeout_min, or another partition",
    "PartitionNodeLimit": "its node count is outside the partition's MinNodes/MaxNodes: cancel it and submit again "
                          "with hydra.launcher.nodes within them",
    "ReqNodeNotAvail": "a node it needs is down, drained or reserved: ask the admins, or cancel it and submit again "
                       "with hydra.launcher.exclude=<node> or another partition",
    "BadConstraints": "no node has the requested features: cancel it and submit again with another "
                      "hydra.launcher.constraint",
    "InvalidAccount": "the account is not valid here: hydra.launcher.account",
    "InvalidQOS": "the QOS is not valid here: hydra.launcher.qos",
    "AccountNotAllowed": "the partition does not accept this account: hydra.launcher.account or another partition",
    "QOSNotAllowed": "the partition does not accept this QOS: hydra.launcher.qos or another partition",
    "DependencyNeverSatisfied": "a job it depends on failed: cancel it",
}
_PER_JOB_LIMIT = re.compile(r"^(QOS|Assoc)(Max\w*PerJob\w*|Min\w*)$")
_LOG_ENDS = ((re.compile(r"CANCELLED AT \S+ DUE TO TIME LIMIT"), "TIMEOUT"),
             (re.compile(r"CANCELLED AT \S+ DUE TO PREEMPTION"), "PREEMPTED"),
             (re.compile(r"CANCELLED AT \S+ DUE TO NODE FAIL"), "NODE_FAIL"),
             (re.compile(r"oom[-_]kill event|Exceeded job memory limit|OUT_OF_MEMORY", re.IGNORECASE), "OUT_OF_MEMORY"),
             (re.compile(r"\*\*\* JOB \S+ ON \S+ CANCELLED AT"), "CANCELLED"))


def never_resolves(reason: str) -> str | None:
    """The fix, if a job pending for ``reason`` can never start by itself; else None (it waits its turn)."""
    word = reason.split(",")[0].strip()
    if word in _FIXES:
        return _FIXES[word]
    if _PER_JOB_LIMIT.match(word):
        kind = "QOS" if word.startswith("QOS") else "account association"
        show = "sacctmgr show qos" if kind == "QOS" else "sacctmgr show assoc user=$USER"
        return (f"a per-job limit of the {kind} ({word}; `{show}` lists them): cancel it and submit again within "
                f"it, or with another hydra.launcher.{'qos' if kind == 'QOS' else 'account'}")
    return None


def held(reason: str) -> bool:
    return reason.startswith(("JobHeld", "JobHoldMaxRequeue"))


@dataclass(frozen=True)
class JobInfo:
    job_id: str
    state: str  # SLURM's: PENDING, RUNNING, COMPLETED, TIMEOUT, OUT_OF_MEMORY, ... ; UNKNOWN if nobody knows
    reason: str = ""
    start: str = ""
    end: str = ""
    nodes: str = ""
    exit_code: str = ""
    source: str = ""  # squeue | sacct | log | none

    @property
    def phase(self) -> str:
        if self.state in PENDING:
            return "pending"
        if self.state in RUNNING:
            return "running"
        return "unknown" if self.state == "UNKNOWN" else "ended"

    @property
    def fix(self) -> str | None:
        return never_resolves(self.reason) if self.phase == "pending" else None

    def describe(self, log: Path | str | None = None) -> str:
        if self.phase == "pending":
            text = f"job {self.job_id} pending ({self.reason or 'no reason yet'})"
            if self.fix:
                return f"{text}: never starts by itself; {self.fix}; cancel: scancel {self.job_id}"
            if held(self.reason):
                return f"{text}: held until released (scontrol release {self.job_id})"
            return text
        if self.phase == "running":
            return f"job {self.job_id} {self.state.lower()} on {self.nodes or '?'} since {self.start or '?'}"
        tail = f"; log: {log}" if log else ""
        if self.phase == "unknown":
            return f"job {self.job_id}: {self.reason}{tail}"
        code = f", exit code {self.exit_code}" if self.exit_code and self.exit_code not in ("0", "0:0") else ""
        when = f" at {self.end}" if self.end and self.end not in ("Unknown", "N/A") else ""
        return f"job {self.job_id} ended {self.state}{code}{when} ({self.source}){tail}"

    def as_dict(self, log: Path | str | None = None) -> dict[str, Any]:
        return {"job_id": self.job_id, "state": self.state, "reason": self.reason, "start": self.start,
                "end": self.end, "nodes": self.nodes, "exit_code": self.exit_code, "source": self.source,
                "never_resolves": self.fix is not None, "fix": self.fix, "log": str(log) if log else None}


@dataclass
class Snapshot:
    jobs: dict[str, JobInfo] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    squeue_ok: bool = True


def query(job_ids: Iterable[str], logs: dict[str, Path] | None = None, sacct: bool = True) -> Snapshot:
    """Each job's state: squeue, then sacct (if it answers), then the job's log. Raises
    SchedulerUnavailable only if squeue itself cannot be asked."""
    ids = sorted(set(job_ids))
    snap = Snapshot()
    if not ids:
        return snap
    snap.jobs.update(_squeue(ids))
    rest = [j for j in ids if j not in snap.jobs or snap.jobs[j].phase == "ended"]
    if rest and sacct:
        try:
            found = _sacct(rest)
        except SchedulerUnavailable as exc:
            snap.notes.append(f"sacct unavailable ({exc}): jobs squeue no longer lists (after MinJobAge) are "
                              "known from their logs only")
        else:
            snap.jobs.update({j: info for j, info in found.items() if j in rest})
    for job_id in ids:
        if job_id in snap.jobs:
            continue
        log = (logs or {}).get(job_id)
        state = ended_from_log(log) if log else None
        snap.jobs[job_id] = (JobInfo(job_id, state, source="log") if state else
                             JobInfo(job_id, "UNKNOWN", "no longer queued (squeue) and no end state recorded "
                                     "(sacct, its log)", source="none"))
    return snap


def _squeue(ids: list[str]) -> dict[str, JobInfo]:
    out: dict[str, JobInfo] = {}
    masters = sorted({j.split("_")[0] for j in ids})
    for chunk in (masters[i:i + 200] for i in range(0, len(masters), 200)):
        try:
            text = run(["squeue", "-h", "-r", "-t", "all", "-j", ",".join(chunk), "-o", "%i|%T|%r|%S|%e|%N"])
        except SchedulerUnavailable as exc:
            if "Invalid job id" in str(exc):  # none of them is known any more
                continue
            raise
        for line in text.splitlines():
            parts = line.strip().split("|")
            if len(parts) >= 6:
                job_id, state, reason, start, end, nodes = parts[:6]
                state = state.split()[0] if state else "UNKNOWN"
                out[job_id] = JobInfo(job_id, state, "" if reason == "None" else reason, "" if start == "N/A" else start,
                                      "" if end == "N/A" or state in RUNNING or state in PENDING else end, nodes,
                                      source="squeue")
    return out


def _sacct(ids: list[str]) -> dict[str, JobInfo]:
    text = run(["sacct", "-X", "-n", "-P", "-j", ",".join(ids), "-o", "JobID,State,ExitCode,Reason,Start,End,NodeList"])
    out = {}
    for line in text.splitlines():
        parts = line.split("|")
        if len(parts) >= 7:
            job_id, state, code, reason, start, end, nodes = parts[:7]
            out[job_id] = JobInfo(job_id, state.split()[0] if state else "UNKNOWN", "" if reason == "None" else reason,
                                  start, end, "" if nodes.startswith("None") else nodes, code, "sacct")
    return out


def ended_from_log(log: Path | str | None, tail_bytes: int = 65536) -> str | None:
    """The end state SLURM wrote into a job's log (TIMEOUT, OUT_OF_MEMORY, PREEMPTED, NODE_FAIL,
    CANCELLED), or None."""
    if not log:
        return None
    try:
        with open(log, "rb") as fh:
            fh.seek(0, 2)
            fh.seek(max(0, fh.tell() - tail_bytes))
            text = fh.read().decode("utf-8", "replace")
    except OSError:
        return None
    for pattern, state in _LOG_ENDS:
        if pattern.search(text):
            return state
    return None


# ------------------------------------------------------------------------------------ submissions


@dataclass(frozen=True)
class Submission:
    cell: Path
    job_id: str
    log: Path | None
    time: str


def log_path(folder_pattern: Path | str, job_id: str) -> Path:
    """submitit's log of task 0 of ``job_id`` for a folder pattern such as ``<sweep>/.submitit/%j``."""
    folder = str(folder_pattern).replace("%j", job_id).replace("%A", job_id.split("_")[0])
    return Path(folder) / f"{job_id}_0_log.out"


def latest_submissions(root: Path) -> dict[Path, Submission]:
    """The last submitted job of each cell, over every sweep recorded under ``root/.hydra``."""
    latest: dict[Path, Submission] = {}
    files = sorted(Path(root).glob(f".hydra/multirun/*/{SUBMISSIONS}"), key=lambda p: (p.stat().st_mtime, str(p)))
    for path in files:
        for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
            try:
                rec = json.loads(line)
            except ValueError:
                continue  # a torn line: that submission is not known
            if not isinstance(rec, dict) or rec.get("action") != "submit" or not rec.get("slurm_job_id") \
                    or not rec.get("cell"):
                continue
            job_id = str(rec["slurm_job_id"])
            log = Path(rec["log"]) if rec.get("log") else log_path(path.parent / ".submitit" / "%j", job_id)
            latest[Path(rec["cell"]).resolve()] = Submission(Path(rec["cell"]).resolve(), job_id, log,
                                                             str(rec.get("time", "")))
    return latest


# ------------------------------------------------------------------------------------------ waiting


@dataclass
class WaitOutcome:
    done: list[str] = field(default_factory=list)  # jobs with a result file
    ended: dict[str, JobInfo] = field(default_factory=dict)  # ended without a result (timeout, OOM, cancelled, ...)
    stuck: dict[str, JobInfo] = field(default_factory=dict)  # every remaining job pends for a reason that never resolves


def has_results(job: Any) -> bool:
    """Every task of a submitit job wrote its result file (read directly: submitit's own ``done()``
    asks sacct, which fails loudly on clusters without accounting)."""
    return all(job.task(i).paths.result_pickle.exists() for i in range(job.num_tasks))


def watch(jobs: list[Any], poll_s: float = POLL_S, patience: int = 2,
          sleep: Callable[[float], None] = time.sleep) -> WaitOutcome:
    """Wait for submitit jobs (``job_id``, ``num_tasks``, ``task(i).paths``). Stops early when every
    remaining job pends with a reason that never resolves on ``patience`` polls in a row; a job
    that ended without a result (seen ended on ``patience`` polls) is reported, not awaited forever."""
    outcome = WaitOutcome()
    remaining = {job.job_id: job for job in jobs}
    ended_polls: dict[str, int] = {}
    stuck_polls = 0
    while remaining:
        for job_id, job in list(remaining.items()):
            if has_results(job):
                outcome.done.append(job_id)
                del remaining[job_id]
        if not remaining:
            break
        try:
            snap = query(remaining, {j: job.paths.stdout for j, job in remaining.items()}, sacct=False)
        except SchedulerUnavailable:
            snap = None  # cannot tell: keep waiting for the results, as submitit does
        if snap is not None:
            for job_id in list(remaining):
                info = snap.jobs[job_id]
                if info.phase in ("ended", "unknown"):
                    ended_polls[job_id] = ended_polls.get(job_id, 0) + 1
                    if ended_polls[job_id] >= patience and not has_results(remaining[job_id]):
                        outcome.ended[job_id] = info
                        del remaining[job_id]
                else:
                    ended_polls.pop(job_id, None)
            infos = [snap.jobs[j] for j in remaining]
            stuck_polls = stuck_polls + 1 if infos and all(i.fix for i in infos) else 0
            if stuck_polls >= patience:
                outcome.stuck = {i.job_id: i for i in infos}
                return outcome
        if remaining:
            sleep(poll_s)
    return outcome
