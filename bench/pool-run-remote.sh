#!/usr/bin/env bash
# pool-run on other machines against GNU parallel, in one run, the commands
# taking turns (median of ROUNDS rounds; ratio: time / pool-run's):
#   JOBS `true` jobs over two loopback ssh hosts (2 slots each): pool-run -S,
#     GNU parallel -S with and without --controlmaster, same ssh options
#   SLURM_JOBS `true` jobs through a one-node Slurm cluster: pool-run --slurm
#     and GNU parallel running `srun` per job, inside a 2-task allocation and
#     outside one (pool-run: one allocation for the run, and per job); plus Slurm's own cost of one step (sequential `srun true`
#     in an allocation against a local `true`)
# It installs what it needs with apt and starts its own sshd (127.0.0.2 and
# 127.0.0.3, a free port) and Slurm daemons, stopped at exit. The ssh logins
# use a plain account (prockit-bench, /bin/sh, empty home, created if
# missing) so a session costs what sshd costs, not a login shell's rc files.
set -euo pipefail
cd "$(dirname "$0")/.."

ROUNDS=${ROUNDS:-5}
JOBS=${JOBS:-500}
SLURM_JOBS=${SLURM_JOBS:-100}

. bench/lib.sh
need hyperfine hyperfine
need parallel parallel
need sshd openssh-server openssh-client
need rsync rsync
need slurmctld slurm-wlm
need munged munge

POOL=$(release_bin pool-run)
LABELS="$POOL=pool-run"
work=$(mktemp -d)
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT

# --- ssh hosts ---------------------------------------------------------------
id prockit-bench >/dev/null 2>&1 || useradd -m -s /bin/sh prockit-bench
# A new account is locked ("!"), and sshd without PAM refuses even a key
# login to it: "*" is no password, but not locked.
usermod -p '*' prockit-bench
home=$(getent passwd prockit-bench | cut -d: -f6)
ssh-keygen -q -t ed25519 -N '' -f "$work/host_key"
ssh-keygen -q -t ed25519 -N '' -f "$work/user_key"
install -d -m 700 -o prockit-bench "$home/.ssh"
install -m 600 -o prockit-bench "$work/user_key.pub" "$home/.ssh/authorized_keys"
mkdir -p /run/sshd
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.2", 0)); print(s.getsockname()[1])')
for address in 127.0.0.2 127.0.0.3; do
  cat >"$work/sshd-$address.conf" <<EOF
ListenAddress $address:$port
HostKey $work/host_key
PidFile $work/sshd-$address.pid
StrictModes no
UsePAM no
MaxSessions 200
MaxStartups 200:30:400
LogLevel ERROR
EOF
  /usr/sbin/sshd -f "$work/sshd-$address.conf"
  for _ in $(seq 100); do [ -s "$work/sshd-$address.pid" ] && break; sleep 0.05; done
  pids+=("$(cat "$work/sshd-$address.pid")")
done
SSH="ssh -i $work/user_key -o BatchMode=yes -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o LogLevel=ERROR"
HOSTS="prockit-bench@127.0.0.2:$port,prockit-bench@127.0.0.3:$port"
seq "$JOBS" >"$work/inputs"

echo "pool-run on other machines: $(nproc) CPUs, median of $ROUNDS interleaved hyperfine rounds (ratio: time / pool-run's)"
bench "$JOBS true jobs over 2 ssh hosts x 2 slots" \
  "sh -c '$POOL -j2 --ssh \"$SSH\" -S $HOSTS true < $work/inputs'" \
  "sh -c 'parallel --will-cite -j2 --controlmaster --ssh \"$SSH\" -S $HOSTS true < $work/inputs'" \
  "sh -c 'parallel --will-cite -j2 --ssh \"$SSH\" -S $HOSTS true < $work/inputs'"

# --- Slurm ---------------------------------------------------------------------
if ! munge -n 2>/dev/null | unmunge >/dev/null 2>&1; then
  install -d -o munge -g munge /run/munge
  runuser -u munge -- /usr/sbin/munged
fi
node=$(hostname -s)
ctl_port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
mkdir -p "$work/state" "$work/spool"
cat >"$work/slurm.conf" <<EOF
ClusterName=prockitbench
SlurmctldHost=$node
SlurmUser=root
SlurmctldPort=$ctl_port
SlurmdPort=$((ctl_port + 1))
AuthType=auth/munge
StateSaveLocation=$work/state
SlurmdSpoolDir=$work/spool
SlurmctldPidFile=$work/slurmctld.pid
SlurmdPidFile=$work/slurmd.pid
SlurmctldLogFile=$work/slurmctld.log
SlurmdLogFile=$work/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
ReturnToService=2
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU
MpiDefault=none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
InactiveLimit=0
MinJobAge=2
NodeName=$node CPUs=$(nproc) State=UNKNOWN
PartitionName=main Nodes=$node Default=YES MaxTime=INFINITE State=UP
EOF
export SLURM_CONF=$work/slurm.conf
/usr/sbin/slurmctld -f "$SLURM_CONF"
/usr/sbin/slurmd -f "$SLURM_CONF"
for _ in $(seq 200); do [ -s "$work/slurmctld.pid" ] && [ -s "$work/slurmd.pid" ] && break; sleep 0.05; done
pids+=("$(cat "$work/slurmctld.pid")" "$(cat "$work/slurmd.pid")")
for _ in $(seq 200); do sinfo -h -o %t 2>/dev/null | grep -q idle && break; sleep 0.1; done
unset SLURM_JOB_ID
seq "$SLURM_JOBS" >"$work/slurm-inputs"

# Inside an allocation (the sbatch way): jobs are steps of it. salloc
# holds 2 tasks; pool-run takes -j from it, GNU parallel gets -j2.
bench "$SLURM_JOBS true jobs as steps of a 2-task allocation (salloc)" \
  "salloc -n2 --quiet sh -c '$POOL --slurm true < $work/slurm-inputs'" \
  "salloc -n2 --quiet sh -c 'parallel --will-cite -j2 srun --exclusive -N1 -n1 --quiet true < $work/slurm-inputs'"

# From a login node (outside any allocation): pool-run makes one allocation
# of -j tasks and runs steps in it (goal: >= 3x faster than GNU parallel's
# srun per job); --slurm-allocation per-job and GNU parallel make every job
# an allocation of its own, whose start depends on when slurmctld next
# schedules after a job completes (seconds, at random).
bench "$SLURM_JOBS true jobs from outside an allocation, 2 at a time" \
  "sh -c '$POOL -j2 --slurm true < $work/slurm-inputs'" \
  "sh -c '$POOL -j2 --slurm --slurm-allocation per-job true < $work/slurm-inputs'" \
  "sh -c 'parallel --will-cite -j2 srun -N1 -n1 --quiet true < $work/slurm-inputs'"

steps=20
bench "Slurm's own cost: $steps sequential steps in an allocation vs $steps local runs of true" \
  "salloc -n1 --quiet sh -c 'for i in \$(seq $steps); do srun -N1 -n1 --quiet true; done'" \
  "sh -c 'for i in \$(seq $steps); do true; done'"
echo "(per step: the first row's time / $steps)"
