#!/usr/bin/env bash
# A one-node SLURM for the tests (tests/pipelines/test_cluster_slurm.py), in a folder of its own:
#     .ci/slurm.sh start DIR    writes DIR/slurm.conf for this host, starts munged (its own socket),
#                               slurmctld and slurmd as root, waits for the node to be idle, and
#                               prints SLURM_CONF=DIR/slurm.conf; exit status 1 with a reason if it cannot.
#     .ci/slurm.sh stop DIR     stops the three daemons it started (by their pid files).
# Needs root and Debian's slurm-wlm and munge (apt-get install slurm-wlm munge). Touches nothing
# outside DIR but reads /etc/munge/munge.key (or makes DIR/munge.key when there is none).
set -uo pipefail
action=${1:-}; dir=${2:-}
if [ -z "$action" ] || [ -z "$dir" ]; then echo "usage: $0 start|stop DIR" >&2; exit 2; fi
dir=$(mkdir -p "$dir" && cd "$dir" && pwd)

stop() {
    for name in slurmd slurmctld munged; do
        [ -s "$dir/$name.pid" ] && kill "$(cat "$dir/$name.pid")" 2>/dev/null
    done
    return 0
}
if [ "$action" = stop ]; then stop; exit 0; fi

fail() { echo "slurm.sh: $*" >&2; stop; exit 1; }
[ "$(id -u)" = 0 ] || fail "needs root (slurmd runs jobs as their users)"
for tool in munged slurmctld slurmd sbatch sinfo; do
    command -v $tool >/dev/null || fail "$tool not found: apt-get install slurm-wlm munge"
done
free_port() { python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }

mkdir -p "$dir/state" "$dir/spool" "$dir/munge"
key=/etc/munge/munge.key
if [ ! -r "$key" ]; then
    key=$dir/munge.key
    head -c 1024 /dev/urandom > "$key" && chmod 600 "$key"
fi
munged --force --socket "$dir/munge/munge.socket" --pid-file "$dir/munged.pid" --log-file "$dir/munged.log" \
    --seed-file "$dir/munge/seed" --key-file "$key" || fail "munged did not start (see $dir/munged.log)"

host=$(hostname -s)
node=$(slurmd -C | head -1 | sed -E 's/ (UpTime|RealMemory)=[^ ]*//g') # CPUs, sockets, cores, threads
cat > "$dir/slurm.conf" <<CONF
ClusterName=workbench-ci
SlurmctldHost=$host(127.0.0.1)
SlurmctldPort=$(free_port)
SlurmdPort=$(free_port)
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
AuthInfo=socket=$dir/munge/munge.socket
StateSaveLocation=$dir/state
SlurmdSpoolDir=$dir/spool
SlurmctldPidFile=$dir/slurmctld.pid
SlurmdPidFile=$dir/slurmd.pid
SlurmctldLogFile=$dir/slurmctld.log
SlurmdLogFile=$dir/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
MpiDefault=none
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU
ReturnToService=2
SchedulerType=sched/backfill
$node NodeAddr=127.0.0.1 RealMemory=2048 State=UNKNOWN
PartitionName=debug Nodes=$host Default=YES MaxTime=INFINITE State=UP
CONF
export SLURM_CONF=$dir/slurm.conf
slurmctld -f "$SLURM_CONF" || fail "slurmctld did not start (see $dir/slurmctld.log)"
slurmd -f "$SLURM_CONF" || fail "slurmd did not start (see $dir/slurmd.log)"
for _ in $(seq 60); do
    if sinfo -h -o %t 2>/dev/null | grep -qx idle; then echo "SLURM_CONF=$SLURM_CONF"; exit 0; fi
    sleep 1
done
fail "the node did not become idle in 60 s: $(sinfo -h -o '%t %E' 2>&1 | head -1) (see $dir/slurmctld.log)"
