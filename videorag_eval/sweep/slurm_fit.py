"""Can the partition ever run one cell's job? Checked by ``hydra/launcher=slurm`` before ``sbatch``.

SLURM queues a job whose request no node of the partition can satisfy and leaves it pending forever
(reason ``PartitionConfig``; ``PartitionTimeLimit`` for a time limit beyond the partition's). Before
anything is submitted, the launcher reads the partition and its nodes (``scontrol show partition`` and
``scontrol show node``: CPUs, memory, GPU gres, features; the partition's MaxTime, MaxNodes, MinNodes,
MaxCPUsPerNode, MaxMemPerNode) and compares the job's request, taken from the very sbatch lines submitit
writes (so ``additional_parameters`` count). Every mismatch is listed with its numbers and the override
that fixes it. QOS and association limits live in the accounting database and are not read here; a job
held by one shows its reason in ``python -m videorag_eval.status``.

Where the scheduler cannot be queried (no SLURM client, a login node that hides it), ``check`` says so
and the launcher goes on.
"""

from __future__ import annotations

import math
import re
import time
from dataclasses import dataclass, field
from typing import Any, Mapping

from .slurm_cli import SchedulerUnavailable, hostnames, megabytes, minutes, records, run

# sbatch flag -> the hydra.launcher key that sets it (conf/hydra/launcher/slurm.yaml)
FLAG_KEYS = {"partition": "partition", "time": "timeout_min", "nodes": "nodes", "ntasks-per-node": "tasks_per_node",
             "cpus-per-task": "cpus_per_task", "cpus-per-gpu": "cpus_per_gpu", "gpus-per-node": "gpus_per_node",
             "gpus-per-task": "gpus_per_task", "mem": "mem_gb", "mem-per-gpu": "mem_per_gpu",
             "mem-per-cpu": "mem_per_cpu", "constraint": "constraint", "exclude": "exclude", "gres": "gres",
             "gpus": "gpus", "nodelist": "nodelist"}


def sbatch_flags(script: str) -> dict[str, str]:
    """``#SBATCH --key=value`` lines of a submission script (``--flag`` alone: "true")."""
    flags = {}
    for line in script.splitlines():
        match = re.match(r"#SBATCH\s+--([\w-]+)(?:=(.*))?$", line.strip())
        if match:
            value = match.group(2)
            flags[match.group(1)] = "true" if value is None else value.strip().strip("'\"")
    return flags


@dataclass(frozen=True)
class Request:
    """What one job asks of each node it runs on."""

    flags: dict[str, str]
    origin: dict[str, str]  # sbatch flag -> "hydra.launcher.<key>" that set it
    partition: str | None
    nodes: int
    tasks_per_node: int
    cpus_per_node: int
    mem_mb: float | None  # None: the partition's default; 0: all of a node's memory
    gpus_per_node: int
    gpu_type: str | None
    time_min: float | None
    constraint: str | None
    exclude: str | None

    @classmethod
    def from_flags(cls, flags: dict[str, str], additional: Mapping[str, Any] | None = None) -> "Request":
        extra = {str(k).replace("_", "-"): str(k) for k in (additional or {})}
        origin = {flag: (f"hydra.launcher.additional_parameters.{extra[flag]}" if flag in extra
                         else f"hydra.launcher.{FLAG_KEYS.get(flag, flag.replace('-', '_'))}") for flag in flags}
        tasks = int(flags.get("ntasks-per-node") or 1)
        nodes = int(str(flags.get("nodes") or 1).split("-")[0])
        gpu_type, gpus = None, 0
        if flags.get("gpus-per-node"):
            gpu_type, gpus = _typed_count(flags["gpus-per-node"])
        elif flags.get("gpus-per-task"):
            gpu_type, per_task = _typed_count(flags["gpus-per-task"])
            gpus = per_task * tasks
        elif flags.get("gpus"):
            gpu_type, total = _typed_count(flags["gpus"])
            gpus = math.ceil(total / nodes)
        for entry in (flags.get("gres") or "").split(","):
            name, typ, count = _gres_entry(entry)
            if name == "gpu":
                gpu_type, gpus = typ or gpu_type, max(gpus, count)
        cpus = int(flags.get("cpus-per-task") or 1) * tasks
        if flags.get("cpus-per-gpu") and gpus:
            cpus = max(cpus, int(flags["cpus-per-gpu"]) * gpus)
        mem = None
        if flags.get("mem") is not None:
            mem = megabytes(flags["mem"])
        elif flags.get("mem-per-cpu"):
            mem = megabytes(flags["mem-per-cpu"]) * cpus
        elif flags.get("mem-per-gpu") and gpus:
            mem = megabytes(flags["mem-per-gpu"]) * gpus
        return cls(flags, origin, flags.get("partition") or None, nodes, tasks, cpus, mem, gpus, gpu_type,
                   minutes(flags.get("time")), flags.get("constraint") or None, flags.get("exclude") or None)

    def key(self, flag: str) -> str:
        return self.origin.get(flag, f"hydra.launcher.{FLAG_KEYS.get(flag, flag)}")

    def summary(self) -> str:
        mem = "partition default" if self.mem_mb is None else ("all of a node" if self.mem_mb == 0 else _gb(self.mem_mb))
        gpus = f"{self.gpus_per_node} GPU(s)" + (f" of type {self.gpu_type}" if self.gpu_type else "")
        when = "no time limit" if self.time_min is None else f"{self.time_min:g} min"
        return (f"{self.nodes} node(s), each {self.cpus_per_node} CPU(s) ({self.tasks_per_node} task(s)), {mem}, "
                f"{gpus}; {when}" + (f"; constraint {self.constraint}" if self.constraint else ""))


@dataclass(frozen=True)
class Node:
    name: str
    cpus: int
    mem_mb: float
    gpus: dict[str, int]  # gpu type ("" when untyped) -> count
    features: frozenset[str]
    state: str
    partitions: tuple[str, ...]

    @classmethod
    def from_record(cls, rec: dict[str, str]) -> "Node":
        cpus = int(rec.get("CPUEfctv") or rec.get("CPUTot") or 0)
        mem = float(rec.get("RealMemory") or 0) - float(rec.get("MemSpecLimit") or 0)
        gpus: dict[str, int] = {}
        for entry in (rec.get("Gres") or "").split(","):
            name, typ, count = _gres_entry(entry)
            if name == "gpu":
                gpus[typ or ""] = gpus.get(typ or "", 0) + count
        features = frozenset(f for f in (rec.get("AvailableFeatures") or "").split(",") if f and f != "(null)")
        parts = tuple(p for p in (rec.get("Partitions") or "").split(",") if p)
        return cls(rec.get("NodeName", "?"), cpus, mem, gpus, features, rec.get("State", ""), parts)

    def gpu_count(self, gpu_type: str | None) -> int:
        return sum(self.gpus.values()) if not gpu_type else self.gpus.get(gpu_type, 0)

    @property
    def usable(self) -> bool:
        return not re.search(r"DOWN|DRAIN|FAIL|NOT_RESPONDING|FUTURE", self.state.upper())


@dataclass(frozen=True)
class Partition:
    name: str
    state: str
    default: bool
    nodes: tuple[Node, ...]
    max_time_min: float | None
    max_nodes: int | None
    min_nodes: int
    max_cpus_per_node: int | None
    max_mem_per_node_mb: float | None

    @classmethod
    def from_record(cls, rec: dict[str, str], nodes: list[Node]) -> "Partition":
        name = rec.get("PartitionName", "?")
        return cls(name, rec.get("State", ""), rec.get("Default", "NO").upper() == "YES",
                   tuple(n for n in nodes if name in n.partitions), minutes(rec.get("MaxTime")),
                   _limit(rec.get("MaxNodes")), _limit(rec.get("MinNodes")) or 0, _limit(rec.get("MaxCPUsPerNode")),
                   megabytes(rec.get("MaxMemPerNode")))


@dataclass(frozen=True)
class Mismatch:
    what: str  # partition | cpus | memory | gpus | time | nodes | constraint
    problem: str
    fix: str

    def line(self) -> str:
        return f"[{self.what}] {self.problem}. Fix: {self.fix}"


@dataclass
class FitCheck:
    request: Request
    partition: str | None = None  # the partition checked (the default one when none is named)
    mismatches: list[Mismatch] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # said, never refused (e.g. the scheduler could not be read)
    checked: bool = False
    seconds: float = 0.0

    @property
    def refused(self) -> bool:
        return bool(self.mismatches)

    def report(self, what: str = "this sweep") -> str:
        lines = [(f"SLURM: no node of partition {self.partition} can run a job of {what} as requested "
                  f"({self.request.summary()}); nothing was submitted. {len(self.mismatches)} mismatch(es):")]
        lines += [f"  {i}. {m.line()}" for i, m in enumerate(self.mismatches, 1)]
        lines += [f"  note: {n}" for n in self.notes]
        lines.append(f"  (read from the scheduler in {self.seconds:.2f} s; hydra.launcher.check_resources=false "
                     "submits without this check)")
        return "\n".join(lines)


def read_cluster() -> tuple[dict[str, Partition], str | None]:
    """Every partition with its nodes (two ``scontrol`` calls), and the default partition's name."""
    nodes = [Node.from_record(r) for r in records(run(["scontrol", "show", "node", "-o"]))]
    parts = [Partition.from_record(r, nodes) for r in records(run(["scontrol", "show", "partition", "-o"]))]
    default = next((p.name for p in parts if p.default), None)
    return {p.name: p for p in parts}, default


def check(request: Request, cluster: tuple[dict[str, Partition], str | None] | None = None) -> FitCheck:
    """Compare ``request`` with its partition. Never raises for an unreachable scheduler: a note says so."""
    result = FitCheck(request, request.partition)
    t0 = time.perf_counter()
    try:
        partitions, default = cluster if cluster is not None else read_cluster()
        excluded = set(hostnames(request.exclude)) if request.exclude else set()
    except (SchedulerUnavailable, ValueError) as exc:
        result.notes.append(f"the scheduler could not be read ({exc}): the request ({request.summary()}) was not "
                            "checked against the partition; submitting anyway")
        result.seconds = time.perf_counter() - t0
        return result
    result.seconds = time.perf_counter() - t0
    result.checked = True
    names = (request.partition or default or "").split(",")  # sbatch takes a list: the job runs in any of them
    result.partition = ",".join(names)
    known = ", ".join(sorted(partitions)) or "none"
    missing = [n for n in names if n not in partitions]
    if missing:
        problem = (f"partition={','.join(missing)} does not exist here" if request.partition
                   else "no partition is named and the cluster has no default partition")
        result.mismatches.append(Mismatch("partition", f"{problem} (partitions: {known})",
                                          f"{request.key('partition')}=<one of: {known}>"))
        return result
    if len(names) > 1:
        fits = [n for n in names if not mismatches(request, partitions[n], excluded)]
        if not fits:
            result.mismatches = [Mismatch(m.what, f"{m.problem} (and no other partition of the list fits)", m.fix)
                                 for m in mismatches(request, partitions[names[0]], excluded)]
        return result
    name = names[0]
    part = partitions[name]
    result.mismatches = mismatches(request, part, excluded)
    if result.mismatches:
        elsewhere = [p.name for p in partitions.values() if p.name != name and not mismatches(request, p, excluded)]
        if elsewhere:
            result.notes.append(f"the request as it is fits partition(s) {', '.join(sorted(elsewhere))}: "
                                f"{request.key('partition')}={sorted(elsewhere)[0]}")
    else:
        fitting = [n for n in part.nodes if n.name not in excluded and not _node_misses(request, n)]
        if fitting and not any(n.usable for n in fitting):
            result.notes.append(f"every node of partition {name} that fits is unavailable now "
                                f"({', '.join(f'{n.name}: {n.state}' for n in fitting[:4])}): the jobs wait for them")
    if part.state.upper() != "UP":
        result.notes.append(f"partition {name} is {part.state}: its jobs do not start until the admins bring it up")
    return result


def mismatches(req: Request, part: Partition, excluded: set[str] | frozenset[str] = frozenset()) -> list[Mismatch]:
    """Every way ``req`` exceeds what ``part`` has or allows (empty: some node can run it)."""
    nodes = [n for n in part.nodes if n.name not in excluded]
    out: list[Mismatch] = []
    p = f"partition {part.name}"
    if not nodes:
        what = "has no nodes" + (f" outside exclude={req.exclude}" if excluded else "")
        return [Mismatch("nodes", f"{p} {what}", f"another partition ({req.key('partition')}=...)"
                         + (f" or fewer excluded nodes ({req.key('exclude')})" if excluded else ""))]
    max_cpus = max(n.cpus for n in nodes)
    cpu_cap = min(max_cpus, part.max_cpus_per_node or max_cpus)
    if req.cpus_per_node > cpu_cap:
        out.append(_cpu_mismatch(req, p, cpu_cap, part.max_cpus_per_node is not None and part.max_cpus_per_node < max_cpus))
    max_mem = max(n.mem_mb for n in nodes)
    mem_cap = min(max_mem, part.max_mem_per_node_mb or max_mem)
    if req.mem_mb and req.mem_mb > mem_cap:
        out.append(_mem_mismatch(req, p, mem_cap, mem_cap < max_mem))
    max_gpus = max(n.gpu_count(req.gpu_type) for n in nodes)
    if req.gpus_per_node > max_gpus:
        out.append(_gpu_mismatch(req, p, max_gpus))
    if req.time_min is not None and part.max_time_min is not None and req.time_min > part.max_time_min:
        out.append(Mismatch("time", f"a time limit of {req.time_min:g} min but {p} allows at most "
                                    f"{part.max_time_min:g} min (MaxTime)",
                            f"{req.key('time')}={int(part.max_time_min)}"))
    node_cap = min(len(nodes), part.max_nodes or len(nodes))
    if req.nodes > node_cap:
        out.append(Mismatch("nodes", f"nodes={req.nodes} but {p} has {len(nodes)} node(s)"
                                     + (f" and allows {part.max_nodes} per job (MaxNodes)" if part.max_nodes else ""),
                            f"{req.key('nodes')}={node_cap}"))
    if req.nodes < part.min_nodes:
        out.append(Mismatch("nodes", f"nodes={req.nodes} but {p} needs at least {part.min_nodes} (MinNodes)",
                            f"{req.key('nodes')}={part.min_nodes}"))
    if req.constraint and not any(_satisfies(req.constraint, n.features) for n in nodes):
        features = sorted(set().union(*(n.features for n in nodes)))
        out.append(Mismatch("constraint", f"constraint={req.constraint} but no node of {p} has those features "
                                          f"(features here: {', '.join(features) or 'none'})",
                            f"{req.key('constraint')}=null" + (f" or one of {', '.join(features)}" if features else "")))
    if out:
        return out
    fitting = [n for n in nodes if not _node_misses(req, n)]
    if len(fitting) < req.nodes or not fitting:
        closest = sorted(nodes, key=lambda n: len(_node_misses(req, n)))[:3]
        described = "; ".join(f"{n.name}: {n.cpus} CPUs, {_gb(n.mem_mb)}, {n.gpu_count(req.gpu_type)} GPU(s)"
                              for n in closest)
        best = closest[0]
        fixes = [_fix_for(req, what, best) for what in _node_misses(req, best)]
        out.append(Mismatch("nodes", f"no node of {p} has all of it at once ({described})",
                            " ".join(f for f in fixes if f) or f"another partition ({req.key('partition')}=...)"))
    return out


# ---------------------------------------------------------------------------------------------- helpers


def _cpu_mismatch(req: Request, p: str, cap: int, by_limit: bool) -> Mismatch:
    where = f"{p} allows {cap} per node (MaxCPUsPerNode)" if by_limit else f"the largest node of {p} has {cap}"
    if "cpus-per-task" in req.flags or req.tasks_per_node == 1:
        per_task = int(req.flags.get("cpus-per-task") or 1)
        shown = (f"cpus_per_task={per_task} x tasks_per_node={req.tasks_per_node} = {req.cpus_per_node} CPUs per node"
                 if req.tasks_per_node > 1 else f"cpus_per_task={per_task}")
        fix = (f"{req.key('cpus-per-task')}={cap // req.tasks_per_node}" if cap >= req.tasks_per_node
               else f"{req.key('ntasks-per-node')}={cap} {req.key('cpus-per-task')}=1")
    else:
        shown, fix = f"{req.cpus_per_node} CPUs per node", f"{req.key('cpus-per-gpu')} lower (at most {cap} CPUs per node)"
    return Mismatch("cpus", f"{shown} but {where}", fix)


def _mem_mismatch(req: Request, p: str, cap_mb: float, by_limit: bool) -> Mismatch:
    where = (f"{p} allows {_gb(cap_mb)} per node (MaxMemPerNode)" if by_limit
             else f"the largest node of {p} has {_gb(cap_mb)} ({cap_mb:.0f} MB)")
    if "mem" in req.flags:
        key = req.key("mem")
        shown = f"mem_gb={(req.mem_mb or 0) / 1024:g}" if key.endswith("mem_gb") else f"mem={req.flags['mem']}"
        value = (f"{int(cap_mb // 1024) or math.floor(cap_mb / 102.4) / 10:g}" if key.endswith("mem_gb")
                 else f"{int(cap_mb)}M")
        return Mismatch("memory", f"{shown} ({req.mem_mb:.0f} MB per node) but {where}", f"{key}={value}")
    if "mem-per-cpu" in req.flags:
        per = int(cap_mb // max(1, req.cpus_per_node))
        return Mismatch("memory", f"mem_per_cpu={req.flags['mem-per-cpu']} x {req.cpus_per_node} CPUs = "
                                  f"{_gb(req.mem_mb or 0)} per node but {where}", f"{req.key('mem-per-cpu')}={per}M")
    per = int(cap_mb // max(1, req.gpus_per_node))
    return Mismatch("memory", f"mem_per_gpu={req.flags.get('mem-per-gpu')} x {req.gpus_per_node} GPUs = "
                              f"{_gb(req.mem_mb or 0)} per node but {where}", f"{req.key('mem-per-gpu')}={per}M")


def _gpu_mismatch(req: Request, p: str, cap: int) -> Mismatch:
    flag = next((f for f in ("gpus-per-node", "gpus-per-task", "gpus", "gres") if req.flags.get(f)), "gpus-per-node")
    typed = f" of type {req.gpu_type}" if req.gpu_type else ""
    if cap == 0:
        problem = f"{req.gpus_per_node} GPU(s){typed} per node but {p} has no GPU{typed} (no such gres on its nodes)"
        fix = f"{req.key(flag)}=null for CPU-only jobs, or a partition with GPUs ({req.key('partition')}=...)"
    else:
        problem = f"{req.gpus_per_node} GPU(s){typed} per node but the nodes of {p} have at most {cap}"
        fix = f"{req.key(flag)}={cap}"
        if req.tasks_per_node > cap:
            fix += f" {req.key('ntasks-per-node')}={cap}"
    return Mismatch("gpus", problem, fix)


def _node_misses(req: Request, n: Node) -> list[str]:
    misses = []
    if req.cpus_per_node > n.cpus:
        misses.append("cpus")
    if req.mem_mb and req.mem_mb > n.mem_mb:
        misses.append("memory")
    if req.gpus_per_node > n.gpu_count(req.gpu_type):
        misses.append("gpus")
    if req.constraint and not _satisfies(req.constraint, n.features):
        misses.append("constraint")
    return misses


def _fix_for(req: Request, what: str, n: Node) -> str:
    if what == "cpus":
        return _cpu_mismatch(req, "", n.cpus, False).fix
    if what == "memory":
        return _mem_mismatch(req, "", n.mem_mb, False).fix
    if what == "gpus":
        return _gpu_mismatch(req, "", n.gpu_count(req.gpu_type)).fix
    return f"{req.key('constraint')}=null"


def _satisfies(constraint: str, features: frozenset[str]) -> bool:
    """A constraint of plain features joined by & (or ,) / | ; anything fancier ([...], counts) is assumed met."""
    if re.search(r"[\[\]()*]", constraint):
        return True
    if "|" in constraint:
        return any(f.strip() in features for f in constraint.split("|"))
    return all(f.strip() in features for f in re.split(r"[&,]", constraint) if f.strip())


def _typed_count(value: str) -> tuple[str | None, int]:
    """``2`` or ``a100:2`` (sbatch's --gpus-per-node and friends)."""
    typ, _, count = str(value).rpartition(":")
    digits = re.match(r"\d+", count)
    return (typ or None), (int(digits.group()) if digits else 1)


def _gres_entry(entry: str) -> tuple[str, str | None, int]:
    """``gpu:a100:4(S:0-1)`` -> ("gpu", "a100", 4); ``gpu:2`` -> ("gpu", None, 2); ``gpu`` -> ("gpu", None, 1)."""
    entry = re.sub(r"\(.*?\)", "", entry.strip())
    if not entry or entry == "(null)":
        return "", None, 0
    parts = entry.split(":")
    name = parts[0]
    if len(parts) == 1:
        return name, None, 1
    last = re.match(r"\d+", parts[-1])
    if last is None:  # gpu:a100 (count 1)
        return name, parts[-1], 1
    return name, (parts[1] if len(parts) > 2 else None), int(last.group())


def _limit(value: str | None) -> int | None:
    try:
        return int(str(value))
    except (TypeError, ValueError):
        return None  # UNLIMITED


def _gb(mb: float) -> str:
    return f"{mb / 1024:.1f} GB"
