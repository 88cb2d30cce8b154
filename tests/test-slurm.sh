#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# contrib/slurm/ against a real single-node Slurm: munged, slurmctld and
# slurmd (Debian's packages) configured in a temporary directory on their
# own ports and socket, the job array of evaluate shards and its dependent
# merge submitted with contrib/slurm/submit.sh on the bundled subjects with
# a small preset; the merged table equals the single-process one apart
# from the measured cost columns and the total time.
set -euo pipefail

srcdir=${top_srcdir:-$(cd "$(dirname "$0")/.." && pwd)}
builddir=${top_builddir:-$srcdir}
ctl=$builddir/client/deepactifctl
data=$srcdir/contrib/data/robustvision
PATH=$PATH:/usr/sbin:/sbin

missing=()
for tool in munged:munge slurmctld:slurmctld slurmd:slurmd sbatch:slurm-client squeue:slurm-client \
            scontrol:slurm-client; do
        command -v "${tool%%:*}" >/dev/null || missing+=("${tool#*:}")
done
if [ ${#missing[@]} -gt 0 ]; then
        echo "SKIP: Slurm is not installed (apt-get install munge slurmctld slurmd slurm-client; missing: ${missing[*]})"
        exit 77
fi
if [ "$(id -u)" -ne 0 ]; then
        echo "SKIP: slurmd runs jobs as their user and must be root here (CI runs as root)"
        exit 77
fi

tmp=$(mktemp -d)
pids=()
cleanup() {
        for p in "${pids[@]}"; do
                kill "$p" 2>/dev/null || true
        done
        for p in "${pids[@]}"; do
                wait "$p" 2>/dev/null || true
        done
        rm -rf "$tmp"
}
trap cleanup EXIT
fail=0
bad() { echo "FAIL: $*"; fail=1; }
logs() { for f in "$tmp"/*.log "$tmp"/*.out "$tmp"/out/*.log; do [ -f "$f" ] && { echo "== $f"; tail -20 "$f"; }; done; }

# A port pair nobody listens on.
port=$((20000 + RANDOM % 20000))
while ss -Hltn "( sport = :$port or sport = :$((port + 1)) )" 2>/dev/null | grep -q .; do
        port=$((port + 2))
done

mkdir -p "$tmp/munge" "$tmp/state" "$tmp/spool" "$tmp/out"
chmod 700 "$tmp/munge"
head -c 1024 /dev/urandom >"$tmp/munge/munge.key"
chmod 600 "$tmp/munge/munge.key"
munged --force --key-file="$tmp/munge/munge.key" --socket="$tmp/munge/munge.sock" \
        --pid-file="$tmp/munge/munged.pid" --log-file="$tmp/munged.log" --seed-file="$tmp/munge/seed" \
        --foreground >"$tmp/munged.out" 2>&1 &
pids+=($!)

host=$(hostname -s)
cpus=$(nproc)
cat >"$tmp/slurm.conf" <<CONF
ClusterName=deepactif-test
SlurmctldHost=$host(127.0.0.1)
SlurmUser=root
SlurmctldPort=$port
SlurmdPort=$((port + 1))
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket=$tmp/munge/munge.sock
StateSaveLocation=$tmp/state
SlurmdSpoolDir=$tmp/spool
SlurmctldPidFile=$tmp/slurmctld.pid
SlurmdPidFile=$tmp/slurmd.pid
SlurmctldLogFile=$tmp/slurmctld.log
SlurmdLogFile=$tmp/slurmd.log
PlugStackConfig=$tmp/plugstack.conf
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
MpiDefault=none
SchedulerType=sched/builtin
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU
ReturnToService=2
SlurmdTimeout=60
NodeName=$host NodeAddr=127.0.0.1 CPUs=$cpus State=UNKNOWN
PartitionName=test Nodes=$host Default=YES MaxTime=INFINITE State=UP
CONF
: >"$tmp/plugstack.conf"
export SLURM_CONF=$tmp/slurm.conf

for _ in $(seq 50); do [ -S "$tmp/munge/munge.sock" ] && break; sleep 0.2; done
slurmctld -D -i -f "$SLURM_CONF" >"$tmp/slurmctld.out" 2>&1 &
pids+=($!)
slurmd -D -f "$SLURM_CONF" -N "$host" >"$tmp/slurmd.out" 2>&1 &
pids+=($!)

up=
for _ in $(seq 120); do
        if sinfo -h -o '%t' 2>/dev/null | grep -qx 'idle'; then
                up=1
                break
        fi
        sleep 0.5
done
if [ -z "$up" ]; then
        echo "FAIL: the node did not come up: $(sinfo 2>&1)"
        logs
        exit 1
fi

small=(--preset quick --data "$data" --subjects 4 --folds loso --hidden 8 --epochs 2
       --methods deepactif-gate-inv,ig,ablation,random --k 10,40 --rank-windows 16)
read -r array merge < <("$srcdir/contrib/slurm/submit.sh" -n 3 -o "$tmp/out" -c "$ctl" -- "${small[@]}")
echo "array job $array, merge job $merge"

# The merge job leaves the queue when it is done (or cancelled).
for _ in $(seq 1200); do
        squeue -h -j "$array,$merge" 2>/dev/null | grep -q . || break
        sleep 0.5
done
state=$(scontrol show job "$merge" 2>/dev/null | sed -n 's/.*JobState=\([A-Z_]*\).*/\1/p')
[ "$state" = COMPLETED ] || { bad "the merge job ended $state"; logs; exit 1; }
for i in 1 2 3; do
        [ -s "$tmp/out/part-$i.json" ] || bad "array task $i wrote no part"
done

"$ctl" evaluate "${small[@]}" >"$tmp/single.txt"
results() { sed -E -e 's/ +[0-9.—]+ +[0-9.—]+$//' -e '/^Total /d' "$1"; }
cat "$tmp/out/results.txt"
grep -q '^deepactif-gate-inv  *10%' "$tmp/out/results.txt" || bad "the merge wrote no table"
diff -u <(results "$tmp/single.txt") <(results "$tmp/out/results.txt") ||
        bad "the table merged on Slurm differs from the single-process one"
[ -s "$tmp/out/results.svg" ] || bad "the merge job wrote no SVG"
exit $fail
