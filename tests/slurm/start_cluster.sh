#!/usr/bin/env bash
# Start a one-node SLURM cluster on this machine for the tests (or reuse the one already running).
#
# Root only; needs Debian's `slurmctld slurmd munge slurm-client` (.ci/run installs them). Writes the
# cluster's own setup: /etc/munge/munge.key (if absent), /etc/slurm/slurm.conf (refuses to touch a
# slurm.conf it did not write), state under /var/spool/slurm*, logs under /var/log/slurm.
# Idempotent: if the node already answers `sinfo` as usable, nothing is started.
# Exit 0 = the node is up (`sinfo` idle/mixed/allocated); non-zero = it is not, with the reason on stderr.
set -euo pipefail

MARK="# videorag_eval test cluster (tests/slurm/start_cluster.sh)"
die() { echo "start_cluster.sh: $*" >&2; exit 1; }

[ "$(id -u)" = 0 ] || die "must run as root (it writes /etc/slurm and starts system daemons)"
for bin in munged munge unmunge slurmctld slurmd sinfo scontrol; do
  command -v "$bin" >/dev/null 2>&1 || die "$bin not found: apt-get install slurmctld slurmd munge slurm-client"
done

host=$(hostname -s)
node_up() { sinfo -h -N -n "$host" -o '%T' 2>/dev/null | grep -qE '^(idle|mixed|allocated|completing)'; }

if node_up && grep -qF "$MARK" /etc/slurm/slurm.conf 2>/dev/null; then
  echo "SLURM cluster already running on $host"
  exit 0
fi

# -- munge: the key and the daemon ------------------------------------------------------------------
mkdir -p /etc/munge /run/munge /var/lib/munge /var/log/munge
if [ ! -s /etc/munge/munge.key ]; then
  dd if=/dev/urandom of=/etc/munge/munge.key bs=1024 count=1 status=none
fi
chown munge:munge /etc/munge /etc/munge/munge.key /run/munge /var/lib/munge /var/log/munge
chmod 400 /etc/munge/munge.key
chmod 700 /etc/munge
if ! munge -n 2>/dev/null | unmunge >/dev/null 2>&1; then
  runuser -u munge -- munged
  for _ in $(seq 50); do munge -n 2>/dev/null | unmunge >/dev/null 2>&1 && break; sleep 0.1; done
  munge -n | unmunge >/dev/null || die "munged did not start (see /var/log/munge/munged.log)"
fi

# -- slurm.conf ---------------------------------------------------------------------------------------
cpus=$(nproc)
mem_mb=$(( $(awk '/MemTotal/ {print $2}' /proc/meminfo) / 1024 - 1024 ))
conf=$(cat <<EOF
$MARK
ClusterName=videorag
SlurmctldHost=$host(127.0.0.1)
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CryptoType=crypto/munge
MpiDefault=none
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
SchedulerType=sched/backfill
ReturnToService=2
StateSaveLocation=/var/spool/slurmctld
SlurmdSpoolDir=/var/spool/slurmd
SlurmctldPidFile=/run/slurmctld.pid
SlurmdPidFile=/run/slurmd.pid
SlurmctldLogFile=/var/log/slurm/slurmctld.log
SlurmdLogFile=/var/log/slurm/slurmd.log
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
JobAcctGatherType=jobacct_gather/none
InactiveLimit=0
KillWait=10
MinJobAge=300
SlurmctldTimeout=30
SlurmdTimeout=30
NodeName=$host NodeAddr=127.0.0.1 CPUs=$cpus RealMemory=$mem_mb State=UNKNOWN
PartitionName=debug Nodes=ALL Default=YES MaxTime=INFINITE State=UP OverSubscribe=NO
EOF
)
mkdir -p /etc/slurm /var/spool/slurmctld /var/spool/slurmd /var/log/slurm
if [ -e /etc/slurm/slurm.conf ] && ! grep -qF "$MARK" /etc/slurm/slurm.conf; then
  die "/etc/slurm/slurm.conf exists and was not written by this script: not touching a real cluster's setup"
fi
changed=0
if [ "$(cat /etc/slurm/slurm.conf 2>/dev/null)" != "$conf" ]; then
  printf '%s\n' "$conf" > /etc/slurm/slurm.conf
  changed=1
fi

# -- daemons ------------------------------------------------------------------------------------------
running() { [ -f "$1" ] && kill -0 "$(cat "$1")" 2>/dev/null; }
if running /run/slurmctld.pid && [ "$changed" = 1 ]; then scontrol reconfigure || true; fi
running /run/slurmctld.pid || slurmctld
running /run/slurmd.pid || slurmd

for _ in $(seq 60); do
  node_up && { echo "SLURM cluster up on $host ($cpus CPUs, ${mem_mb} MB)"; exit 0; }
  state=$(sinfo -h -N -n "$host" -o '%T' 2>/dev/null || true)
  case "$state" in
    down*|drain*|fail*) scontrol update nodename="$host" state=resume >/dev/null 2>&1 || true ;;
  esac
  sleep 1
done
die "node $host not usable after 60 s (sinfo: $(sinfo -h -N -o '%N %T %E' 2>&1 | tr '\n' ' ')); see /var/log/slurm/"
