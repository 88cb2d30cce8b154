#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Runs `deepactifctl evaluate` on a Slurm cluster: a job array of N shards
# (one fold slice each, evaluate --shard I/N) and a merge job that starts
# when every shard succeeded and writes OUTDIR/results.txt (the unsharded
# run's table), results.json, .csv and .svg. Prints the two job ids.
#
#   contrib/slurm/submit.sh [-n N] [-o OUTDIR] [-c DEEPACTIFCTL] [-- SBATCH-OPTIONS] -- EVALUATE-ARGS...
#
# N defaults to the number of folds' worth one may want (8); at most one
# shard per fold. OUTDIR (default ./deepactif-evaluate) must be on a file
# system the nodes share, as must the recordings and deepactifctl.
# Example, the paper preset in 20 shards (one per subject):
#   contrib/slurm/submit.sh -n 20 -o /shared/eval -- --preset paper --data /shared/robustvision
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
n=8 out=$PWD/deepactif-evaluate ctl=$(command -v deepactifctl || true)
sbatch_opts=()
while getopts "n:o:c:h" opt; do
        case $opt in
        n) n=$OPTARG ;;
        o) out=$OPTARG ;;
        c) ctl=$OPTARG ;;
        h) sed -n '3,16p' "$0"; exit 0 ;;
        *) exit 1 ;;
        esac
done
shift $((OPTIND - 1))
[ "${1:-}" = -- ] && shift
# options for sbatch before a second --
for ((i = 1; i <= $#; i++)); do
        if [ "${!i}" = -- ]; then
                sbatch_opts=("${@:1:i-1}")
                shift "$i"
                break
        fi
done
[ -n "$ctl" ] && [ -x "$ctl" ] || { echo "submit.sh: no deepactifctl (pass -c PATH)" >&2; exit 1; }
[[ $n =~ ^[1-9][0-9]*$ ]] || { echo "submit.sh: -n needs a positive number of shards" >&2; exit 1; }
[ $# -gt 0 ] || { echo "submit.sh: give deepactifctl evaluate's arguments after --" >&2; exit 1; }
mkdir -p "$out"
out=$(cd "$out" && pwd)
ctl=$(cd "$(dirname "$ctl")" && pwd)/$(basename "$ctl")

array=$(sbatch --parsable "${sbatch_opts[@]}" --array="1-$n" --output="$out/shard-%a.log" \
        "$here/evaluate-shard.sbatch" "$out" "$ctl" "$@")
array=${array%%;*}
merge=$(sbatch --parsable "${sbatch_opts[@]}" --dependency="afterok:$array" --kill-on-invalid-dep=yes \
        --output="$out/merge.log" "$here/evaluate-merge.sbatch" "$out" "$ctl" "$n")
merge=${merge%%;*}
echo "$array $merge"
