"""SLURM requests vs partitions, job states and pending reasons, without a cluster: scontrol/squeue
output as a real SLURM 22.05 prints it, fake SLURM commands on PATH for the scheduler that cannot be
asked. The same code on the real one-node cluster: tests/test_slurm.py."""

import json
import os
import stat
import subprocess
import sys
from pathlib import Path

from helpers import REPO
from videorag_eval.sweep import slurm_jobs
from videorag_eval.sweep.slurm_cli import megabytes, minutes, records
from videorag_eval.sweep.slurm_fit import Node, Partition, Request, check, mismatches, sbatch_flags

NODES = """\
NodeName=gpu01 Arch=x86_64 CoresPerSocket=16  CPUAlloc=0 CPUEfctv=64 CPUTot=64 CPULoad=0.01 AvailableFeatures=a100,ib ActiveFeatures=a100,ib Gres=gpu:a100:4(S:0-1) NodeAddr=gpu01 NodeHostName=gpu01 Version=22.05.8 OS=Linux 5.15.0-91-generic #101-Ubuntu SMP Tue Nov 14 13:30:08 UTC 2023  RealMemory=515000 AllocMem=0 FreeMem=500000 Sockets=2 Boards=1 MemSpecLimit=8000 State=IDLE ThreadsPerCore=1 TmpDisk=0 Weight=1 Owner=N/A MCS_label=N/A Partitions=gpu,long  BootTime=2026-11-01T10:00:00 SlurmdStartTime=2026-11-01T10:01:00 LastBusyTime=2026-12-01T10:00:00 CfgTRES=cpu=64,mem=515000M,billing=64,gres/gpu=4 AllocTRES= CapWatts=n/a CurrentWatts=0 AveWatts=0 ExtSensorsJoules=n/s ExtSensorsWatts=0 ExtSensorsTemp=n/s
NodeName=cpu01 Arch=x86_64 CoresPerSocket=16  CPUAlloc=8 CPUEfctv=32 CPUTot=32 CPULoad=3.00 AvailableFeatures=(null) ActiveFeatures=(null) Gres=(null) NodeAddr=cpu01 NodeHostName=cpu01 Version=22.05.8 OS=Linux 5.15.0 #1 SMP  RealMemory=128000 AllocMem=0 FreeMem=100000 Sockets=2 Boards=1 State=MIXED ThreadsPerCore=1 TmpDisk=0 Weight=1 Owner=N/A MCS_label=N/A Partitions=cpu,long  BootTime=2026-11-01T10:00:00 CfgTRES=cpu=32,mem=128000M,billing=32 AllocTRES=cpu=8
NodeName=cpu02 Arch=x86_64 CoresPerSocket=8  CPUAlloc=0 CPUEfctv=16 CPUTot=16 CPULoad=0.00 AvailableFeatures=(null) ActiveFeatures=(null) Gres=(null) NodeAddr=cpu02 NodeHostName=cpu02 Version=22.05.8 OS=Linux 5.15.0 #1 SMP  RealMemory=512000 AllocMem=0 FreeMem=500000 Sockets=2 Boards=1 State=IDLE+DRAIN ThreadsPerCore=1 TmpDisk=0 Weight=1 Owner=N/A MCS_label=N/A Partitions=cpu,long  BootTime=2026-11-01T10:00:00 Reason=disk replaced [root@2026-12-01T09:00:00]
"""
PARTITIONS = """\
PartitionName=cpu AllowGroups=ALL AllowAccounts=ALL AllowQos=ALL AllocNodes=ALL Default=YES QoS=N/A DefaultTime=NONE DisableRootJobs=NO ExclusiveUser=NO GraceTime=0 Hidden=NO MaxNodes=UNLIMITED MaxTime=04:00:00 MinNodes=0 LLN=NO MaxCPUsPerNode=16 Nodes=cpu0[1-2] PriorityJobFactor=1 PriorityTier=1 RootOnly=NO ReqResv=NO OverSubscribe=NO OverTimeLimit=NONE PreemptMode=OFF State=UP TotalCPUs=48 TotalNodes=2 SelectTypeParameters=NONE JobDefaults=(null) DefMemPerNode=UNLIMITED MaxMemPerNode=64000 TRES=cpu=48,mem=640000M,node=2,billing=48
PartitionName=gpu AllowGroups=ALL AllowAccounts=ALL AllowQos=ALL AllocNodes=ALL Default=NO QoS=N/A DefaultTime=NONE DisableRootJobs=NO ExclusiveUser=NO GraceTime=0 Hidden=NO MaxNodes=2 MaxTime=2-00:00:00 MinNodes=0 LLN=NO MaxCPUsPerNode=UNLIMITED Nodes=gpu01 PriorityJobFactor=1 PriorityTier=1 RootOnly=NO ReqResv=NO OverSubscribe=NO OverTimeLimit=NONE PreemptMode=OFF State=UP TotalCPUs=64 TotalNodes=1 SelectTypeParameters=NONE JobDefaults=(null) DefMemPerNode=UNLIMITED MaxMemPerNode=UNLIMITED TRES=cpu=64,mem=515000M,node=1,billing=64,gres/gpu=4
PartitionName=long AllowGroups=ALL AllowAccounts=ALL AllowQos=ALL AllocNodes=ALL Default=NO QoS=N/A DefaultTime=NONE DisableRootJobs=NO ExclusiveUser=NO GraceTime=0 Hidden=NO MaxNodes=UNLIMITED MaxTime=7-00:00:00 MinNodes=0 LLN=NO MaxCPUsPerNode=UNLIMITED Nodes=gpu01,cpu0[1-2] PriorityJobFactor=1 PriorityTier=1 RootOnly=NO ReqResv=NO OverSubscribe=NO OverTimeLimit=NONE PreemptMode=OFF State=UP TotalCPUs=112 TotalNodes=3 SelectTypeParameters=NONE JobDefaults=(null) DefMemPerNode=UNLIMITED MaxMemPerNode=UNLIMITED TRES=cpu=112,mem=1155000M,node=3,billing=112
"""
# the sbatch lines submitit writes for the launcher's defaults (conf/hydra/launcher/slurm.yaml)
DEFAULTS = {"time": "720", "nodes": "1", "ntasks-per-node": "1", "cpus-per-task": "8", "gpus-per-node": "1",
            "mem": "64GB", "signal": "USR2@300"}


def _cluster():
    nodes = [Node.from_record(r) for r in records(NODES)]
    parts = {r["PartitionName"]: Partition.from_record(r, nodes) for r in records(PARTITIONS)}
    return parts, "cpu"


def _request(**flags):
    merged = {**DEFAULTS, **{k.replace("_", "-"): str(v) for k, v in flags.items() if v is not None}}
    for k, v in flags.items():
        if v is None:
            merged.pop(k.replace("_", "-"), None)
    return Request.from_flags(merged)


def test_scontrol_records_units_and_nodes_are_read_as_slurm_means_them():
    gpu01, cpu01, cpu02 = (Node.from_record(r) for r in records(NODES))
    assert (gpu01.cpus, gpu01.mem_mb, gpu01.gpus, gpu01.partitions) == (64, 507000, {"a100": 4}, ("gpu", "long"))
    assert gpu01.features == {"a100", "ib"} and cpu01.gpus == {} and cpu01.features == frozenset()
    assert "5.15.0-91-generic" in records(NODES)[0]["OS"]  # a value with spaces stays whole
    assert not cpu02.usable and cpu01.usable
    assert [minutes(t) for t in ("UNLIMITED", "30", "04:00:00", "2-00:00:00", "1-12", "0:30")] == \
        [None, 30, 240, 2880, 2160, 0.5]
    assert [megabytes(m) for m in ("64GB", "64G", "500M", "1536MB", "2T", "4000")] == \
        [65536, 65536, 500, 1536, 2 * 1024 * 1024, 4000]
    parts, _ = _cluster()
    assert [n.name for n in parts["long"].nodes] == ["gpu01", "cpu01", "cpu02"]
    assert (parts["cpu"].max_time_min, parts["cpu"].max_cpus_per_node, parts["cpu"].max_mem_per_node_mb) == (240, 16, 64000)


def test_the_defaults_on_a_cpu_partition_list_every_mismatch_with_its_fix():
    fit = check(_request(), _cluster())  # no partition named: the default one (cpu)
    assert fit.checked and fit.refused and fit.partition == "cpu"
    by = {m.what: m for m in fit.mismatches}
    assert sorted(by) == ["gpus", "memory", "time"]  # 8 CPUs fit (MaxCPUsPerNode=16)
    assert "mem_gb=64 (65536 MB per node) but partition cpu allows 62.5 GB per node (MaxMemPerNode)" in by["memory"].problem
    assert by["memory"].fix == "hydra.launcher.mem_gb=62"
    assert "partition cpu has no GPU" in by["gpus"].problem and by["gpus"].fix.startswith("hydra.launcher.gpus_per_node=null")
    assert "at most 240 min (MaxTime)" in by["time"].problem and by["time"].fix == "hydra.launcher.timeout_min=240"
    assert any("fits partition(s) gpu, long: hydra.launcher.partition=gpu" in n for n in fit.notes)
    report = fit.report()
    assert "nothing was submitted" in report and "hydra.launcher.check_resources=false" in report


def test_fixes_applied_fit_and_each_limit_of_a_gpu_partition_is_named():
    parts = _cluster()
    assert not check(_request(mem="62GB", gpus_per_node=None, time="240"), parts).refused
    assert not check(_request(partition="gpu"), parts).refused  # the defaults fit a GPU node
    fit = check(_request(partition="gpu", gpus_per_node="8", ntasks_per_node="8", cpus_per_task="16", nodes="3",
                         constraint="h100", time="5000"), parts)
    by = {m.what: m for m in fit.mismatches}
    assert by["gpus"].fix == "hydra.launcher.gpus_per_node=4 hydra.launcher.tasks_per_node=4"
    assert "16 x tasks_per_node=8 = 128 CPUs per node" in by["cpus"].problem
    assert by["cpus"].fix == "hydra.launcher.cpus_per_task=8"
    assert by["time"].fix == "hydra.launcher.timeout_min=2880"
    assert by["constraint"].fix == "hydra.launcher.constraint=null or one of a100, ib"
    assert [m.fix for m in fit.mismatches if m.what == "nodes"] == ["hydra.launcher.nodes=1"]
    typed = check(_request(partition="gpu", gpus_per_node="v100:1"), parts)
    assert [m.what for m in typed.mismatches] == ["gpus"] and "of type v100" in typed.mismatches[0].problem
    assert not check(_request(partition="gpu", gpus_per_node="a100:2"), parts).refused


def test_a_request_no_single_node_has_at_once_is_refused():
    parts, _ = _cluster()
    # long: gpu01 has 64 CPUs / 495 GB, cpu02 has 16 CPUs / 500 GB: 40 CPUs + 500 GB fit neither
    ms = mismatches(_request(partition="long", gpus_per_node=None, cpus_per_task="40", mem="500GB"), parts["long"])
    assert [m.what for m in ms] == ["nodes"] and "no node of partition long has all of it at once" in ms[0].problem
    assert ms[0].fix in ("hydra.launcher.mem_gb=495", "hydra.launcher.cpus_per_task=16")


def test_overrides_inside_additional_parameters_are_named_there_and_a_missing_partition_is_listed():
    parts = _cluster()
    req = Request.from_flags({**DEFAULTS, "mem": "600G", "partition": "gpu"}, {"mem": "600G"})
    (m,) = check(req, parts).mismatches
    assert m.fix == "hydra.launcher.additional_parameters.mem=507000M"
    (m,) = check(_request(partition="gpus"), parts).mismatches
    assert m.what == "partition" and "partition=gpus does not exist here (partitions: cpu, gpu, long)" in m.problem
    excluded = check(_request(partition="gpu", exclude="gpu01"), parts)
    assert "has no nodes outside exclude=gpu01" in excluded.mismatches[0].problem
    drained = check(_request(partition="long", gpus_per_node=None, cpus_per_task="16", mem="500GB"), parts)
    assert not drained.refused and any("cpu02: IDLE+DRAIN" in n for n in drained.notes)


def test_the_request_is_read_from_the_sbatch_lines_submitit_writes(tmp_path):
    from submitit.slurm.slurm import _make_sbatch_string

    script = _make_sbatch_string(command="true", folder=tmp_path, time=720, nodes=1, ntasks_per_node=2,
                                 cpus_per_task=8, gpus_per_node=2, mem="64GB", partition="gpu",
                                 additional_parameters={"constraint": "a100"})
    req = Request.from_flags(sbatch_flags(script), {"constraint": "a100"})
    assert (req.partition, req.nodes, req.tasks_per_node, req.cpus_per_node, req.mem_mb, req.gpus_per_node,
            req.time_min, req.constraint) == ("gpu", 1, 2, 16, 65536, 2, 720, "a100")
    assert req.key("constraint") == "hydra.launcher.additional_parameters.constraint"
    assert req.key("mem") == "hydra.launcher.mem_gb"


def _fake_bin(tmp_path: Path, scripts: dict[str, str]) -> str:
    bindir = tmp_path / "bin"
    bindir.mkdir(exist_ok=True)
    for name, body in scripts.items():
        path = bindir / name
        path.write_text("#!/bin/sh\n" + body)
        path.chmod(path.stat().st_mode | stat.S_IEXEC)
    return str(bindir)


def test_a_scheduler_that_cannot_be_asked_is_said_and_nothing_is_refused(tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path / "nothing"))  # no SLURM client at all
    fit = check(_request())
    assert not fit.refused and not fit.checked
    assert "scontrol not found" in fit.notes[0] and "submitting anyway" in fit.notes[0]
    monkeypatch.setenv("PATH", _fake_bin(tmp_path, {
        "scontrol": "echo 'slurm_load_node error: Unable to contact slurm controller (connect failure)' >&2; exit 1"}))
    fit = check(_request())
    assert not fit.refused and "Unable to contact slurm controller" in fit.notes[0]


def test_pending_reasons_that_never_resolve_are_told_apart_from_waiting_ones():
    for reason in ("PartitionConfig", "PartitionTimeLimit", "ReqNodeNotAvail, UnavailableNodes:vm",
                   "QOSMaxWallDurationPerJobLimit", "AssocMaxCpuPerJobLimit", "QOSMaxGRESPerJob", "QOSMinGRES"):
        assert slurm_jobs.never_resolves(reason), reason
    for reason in ("Priority", "Resources", "Dependency", "BeginTime", "JobHeldUser", "QOSMaxJobsPerUserLimit",
                   "AssocGrpCpuLimit", "AssocMaxJobsLimit", "QOSMaxCpuPerUserLimit", ""):
        assert slurm_jobs.never_resolves(reason) is None, reason
    held = slurm_jobs.JobInfo("7_1", "PENDING", "JobHeldUser")
    assert "held until released (scontrol release 7_1)" in held.describe()


def test_the_end_state_slurm_writes_into_a_job_log_is_read(tmp_path):
    log = tmp_path / "1_0_log.out"
    cases = {"slurmstepd-vm: error: *** JOB 6 ON vm CANCELLED AT 2026-12-06T20:09:08 DUE TO TIME LIMIT ***": "TIMEOUT",
             "slurmstepd: error: Detected 1 oom_kill event in StepId=5.batch.": "OUT_OF_MEMORY",
             "slurmstepd: error: *** JOB 9 ON n1 CANCELLED AT 2026-12-06T20:09:08 DUE TO PREEMPTION ***": "PREEMPTED",
             "slurmstepd: error: *** JOB 9 ON n1 CANCELLED AT 2026-12-06T20:09:08 ***": "CANCELLED",
             "loading model\nanswered 3 questions": None}
    for text, state in cases.items():
        log.write_text("some output\n" + text + "\n")
        assert slurm_jobs.ended_from_log(log) == state, text
    assert slurm_jobs.ended_from_log(tmp_path / "missing.out") is None


def test_status_asks_the_scheduler_about_submitted_cells_and_keeps_the_cells_files_as_truth(tmp_path):
    root = tmp_path / "results"
    sweep = root / ".hydra" / "multirun" / "2026-12-06_10-00-00"
    sweep.mkdir(parents=True)
    cells = {name: root / "demo" / "text_only" / name for name in ("f4-none-a", "f8-none-b", "f4-full-c", "f8-full-d",
                                                                   "f16-none-e")}
    finished = cells["f16-none-e"]
    finished.mkdir(parents=True)
    (finished / "config.yaml").write_text("limit: 2\n")
    (finished / "metrics.json").write_text(json.dumps({"n": 2, "accuracy": 50.0, "n_failed": 0}))
    interrupted = cells["f8-full-d"]
    interrupted.mkdir(parents=True)
    (interrupted / "config.yaml").write_text("limit: 2\n")
    (interrupted / "journal.jsonl").write_text(json.dumps({"doc_id": 0, "prediction": "A"}) + "\n")
    ids = dict(zip(cells, ("41_0", "41_1", "41_2", "41_3", "41_4")))
    lines = [json.dumps({"time": "2026-12-06T10:00:00", "job": i, "action": "submit", "slurm_job_id": ids[n],
                         "cell": str(c), "overrides": [], "note": ""}) for i, (n, c) in enumerate(cells.items())]
    (sweep / "submissions.jsonl").write_text("\n".join(lines) + "\n")
    # 41_3 left squeue's memory; its log says it ran out of time
    log = sweep / ".submitit" / "41_3" / "41_3_0_log.out"
    log.parent.mkdir(parents=True)
    log.write_text("slurmstepd: error: *** JOB 44 ON n1 CANCELLED AT 2026-12-06T11:00:00 DUE TO TIME LIMIT ***\n")
    squeue = ("echo '41_0|PENDING|PartitionConfig|N/A|N/A|'\n"
              "echo '41_1|RUNNING|None|2026-12-06T10:01:00|2026-12-06T22:01:00|n1'\n"
              "echo '41_2|OUT_OF_MEMORY|OutOfMemory|2026-12-06T10:01:00|2026-12-06T10:02:00|n2'\n"
              "echo '41_4|RUNNING|None|2026-12-06T10:01:00|2026-12-06T22:01:00|n1'\n")
    env = {**os.environ, "PYTHONPATH": os.environ.get("PYTHONPATH", str(REPO)),
           "PATH": _fake_bin(tmp_path, {"squeue": squeue,
                                        "sacct": "echo 'Slurm accounting storage is disabled' >&2; exit 1"})
           + os.pathsep + os.environ["PATH"]}
    proc = subprocess.run([sys.executable, "-m", "videorag_eval.status", str(root), "--json"], capture_output=True,
                          text=True, cwd=REPO, env=env, timeout=120)
    assert proc.returncode == 0, proc.stderr
    rows = {Path(r["cell"]).name: r for r in map(json.loads, proc.stdout.splitlines())}
    assert {n: r["state"] for n, r in rows.items()} == {
        "f4-none-a": "pending", "f8-none-b": "running", "f4-full-c": "interrupted", "f8-full-d": "interrupted",
        "f16-none-e": "finished"}  # finished: its metrics.json, whatever squeue says of its old job
    pending = rows["f4-none-a"]
    assert pending["extra"]["slurm"]["never_resolves"] and "never starts by itself" in pending["detail"]
    assert "scancel 41_0" in pending["detail"]
    assert rows["f8-none-b"]["detail"] == "job 41_1 running on n1 since 2026-12-06T10:01:00"
    assert "job 41_2 ended OUT_OF_MEMORY at 2026-12-06T10:02:00 (squeue); log: " in rows["f4-full-c"]["detail"]
    assert rows["f8-full-d"]["detail"].startswith("job 41_3 ended TIMEOUT (log); log: ")
    assert rows["f8-full-d"]["answered"] == 1
    assert "sacct unavailable" in proc.stderr and "accounting storage is disabled" in proc.stderr
    table = subprocess.run([sys.executable, "-m", "videorag_eval.status", str(root)], capture_output=True, text=True,
                           cwd=REPO, env=env, timeout=120).stdout
    assert "5 cell(s): 1 finished, 1 running, 0 failed, 2 interrupted, 1 pending" in table


class _FakeJob:
    def __init__(self, job_id, folder: Path):
        self.job_id = job_id
        self.num_tasks = 1
        self.paths = type("P", (), {"result_pickle": folder / f"{job_id}_0_result.pkl",
                                    "stdout": folder / f"{job_id}_0_log.out"})()

    def task(self, i):
        return self


def test_waiting_stops_when_every_remaining_job_can_never_start_and_reports_jobs_that_ended_without_a_result(
        tmp_path, monkeypatch):
    jobs = [_FakeJob(j, tmp_path) for j in ("5_0", "5_1", "5_2")]
    jobs[0].paths.result_pickle.write_bytes(b"done")
    states = iter([
        {"5_1": ("RUNNING", ""), "5_2": ("PENDING", "Priority")},
        {"5_1": ("TIMEOUT", "TimeLimit"), "5_2": ("PENDING", "PartitionConfig")},
        {"5_1": ("TIMEOUT", "TimeLimit"), "5_2": ("PENDING", "PartitionConfig")},
        {"5_2": ("PENDING", "PartitionConfig")},
        {"5_2": ("PENDING", "PartitionConfig")},
    ])

    def fake_query(ids, logs=None, sacct=True):
        now = next(states)
        return slurm_jobs.Snapshot({j: slurm_jobs.JobInfo(j, *now[j], source="squeue") for j in ids})

    monkeypatch.setattr(slurm_jobs, "query", fake_query)
    outcome = slurm_jobs.watch(jobs, sleep=lambda s: None)
    assert outcome.done == ["5_0"]
    assert list(outcome.ended) == ["5_1"] and outcome.ended["5_1"].state == "TIMEOUT"
    assert list(outcome.stuck) == ["5_2"] and outcome.stuck["5_2"].reason == "PartitionConfig"


def test_a_list_of_partitions_fits_when_any_of_them_does():
    parts = _cluster()
    assert not check(_request(partition="cpu,gpu"), parts).refused
    fit = check(_request(partition="cpu,gpu", gpus_per_node="8"), parts)
    assert fit.refused and "no other partition of the list fits" in fit.mismatches[0].problem
