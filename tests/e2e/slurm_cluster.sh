#!/usr/bin/env bash
# A throwaway single-node Slurm cluster on this machine, for tests of `executor: slurm`.
#
#   tests/e2e/slurm_cluster.sh start DIR   # configure and start munged, slurmctld, slurmd under DIR;
#                                          # prints `export SLURM_CONF=...` lines for the caller
#   tests/e2e/slurm_cluster.sh stop DIR    # stop them (by the pids they wrote) and leave DIR
#
# Everything lives under DIR: the munge key and socket, slurm.conf, state and spool directories,
# logs and pid files, and the daemons listen on free loopback ports, so it neither needs nor
# touches a system-wide Slurm or munge (and two copies can run side by side). The plugins are the
# ones that need no cgroups or systemd: proctrack/linuxproc, task/none, no accounting. Without
# accounting `sacct` has nothing to say; mlo reads job states from `scontrol show job`.
#
# Needs Debian's slurmctld, slurmd, munge and slurm-client (scripts/install-deps.sh). The daemons
# run as the current user (SlurmUser = that user), so root is not required, but slurmd can then
# only start jobs as that same user, which is all a test needs.
# Exit status: 0 when the node is idle, 77 when the Slurm programs are missing (tests skip), 1 when
# a daemon did not come up (its log is printed).
set -euo pipefail

action=${1:?usage: slurm_cluster.sh start|stop DIR}
dir=${2:?usage: slurm_cluster.sh start|stop DIR}

stop_cluster() {
    local name pid
    for name in slurmd slurmctld munged; do
        [[ -f $dir/$name.pid ]] || continue
        pid=$(cat "$dir/$name.pid")
        # Only our own daemon: the pid file is ours, and the process must still be that program.
        if [[ -n $pid && $(cat "/proc/$pid/comm" 2>/dev/null) == "$name" ]]; then
            kill "$pid" 2>/dev/null || true
            for _ in $(seq 50); do
                kill -0 "$pid" 2>/dev/null || break
                sleep 0.1
            done
            kill -9 "$pid" 2>/dev/null || true
        fi
        rm -f "$dir/$name.pid"
    done
}

if [[ $action == stop ]]; then
    stop_cluster
    exit 0
fi
[[ $action == start ]] || { echo "usage: slurm_cluster.sh start|stop DIR" >&2; exit 2; }

for program in munged slurmctld slurmd sbatch scontrol; do
    if ! command -v "$program" >/dev/null && [[ ! -x /usr/sbin/$program ]]; then
        echo "slurm_cluster: $program is not installed (run scripts/install-deps.sh)" >&2
        exit 77
    fi
done
PATH=$PATH:/usr/sbin

mkdir -p "$dir"/{munge,state,spool,log}
chmod 700 "$dir/munge"
user=$(id -un)

# munge: its own key and socket, so it needs no /etc/munge or /run/munge.
dd if=/dev/urandom of="$dir/munge/munge.key" bs=1024 count=1 status=none
chmod 400 "$dir/munge/munge.key"
munged --key-file="$dir/munge/munge.key" --socket="$dir/munge/munge.socket" \
    --pid-file="$dir/munged.pid" --log-file="$dir/log/munged.log" --seed-file="$dir/munge/seed" \
    --force

free_port() { "${PYTHON:-python3}" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
ctld_port=$(free_port)
slurmd_port=$(free_port)
cpus=$(nproc)
# RealMemory a little under the machine's, in MiB: slurmd drains a node that reports less.
memory=$(($(awk '/MemTotal/ {print $2}' /proc/meminfo) / 1024 * 9 / 10))

cat >"$dir/slurm.conf" <<EOF
ClusterName=mlotest
SlurmctldHost=localhost
SlurmctldPort=$ctld_port
SlurmdPort=$slurmd_port
SlurmUser=$user
SlurmdUser=$user
AuthType=auth/munge
AuthInfo=socket=$dir/munge/munge.socket
CredType=cred/munge
StateSaveLocation=$dir/state
SlurmdSpoolDir=$dir/spool
SlurmctldPidFile=$dir/slurmctld.pid
SlurmdPidFile=$dir/slurmd.pid
SlurmctldLogFile=$dir/log/slurmctld.log
SlurmdLogFile=$dir/log/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
SchedulerType=sched/builtin
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
JobAcctGatherType=jobacct_gather/none
MpiDefault=none
ReturnToService=2
SlurmctldTimeout=30
SlurmdTimeout=30
MinJobAge=600
NodeName=localhost NodeAddr=127.0.0.1 CPUs=$cpus RealMemory=$memory State=UNKNOWN
PartitionName=debug Nodes=localhost Default=YES MaxTime=INFINITE State=UP
EOF
export SLURM_CONF=$dir/slurm.conf

fail_with_logs() {
    echo "slurm_cluster: $1" >&2
    tail -n 20 "$dir"/log/*.log >&2 || true
    stop_cluster
    exit 1
}

slurmctld -c -f "$SLURM_CONF" || fail_with_logs "slurmctld did not start"
slurmd -c -N localhost -f "$SLURM_CONF" || fail_with_logs "slurmd did not start"

# Wait (up to 30 s) for the node to accept jobs.
for _ in $(seq 150); do
    state=$(sinfo -h -n localhost -o %t 2>/dev/null || true)
    [[ $state == idle ]] && break
    sleep 0.2
done
[[ $state == idle ]] || fail_with_logs "the node is '${state:-unknown}', not idle"
echo "export SLURM_CONF=$SLURM_CONF"
