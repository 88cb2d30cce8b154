#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
# Rebuilds the default model, contrib/models/foval-robustvision.safetensors,
# bit for bit (with any thread count) from the shipped Robust Vision
# recordings. The recipe and how it was chosen: contrib/models/README.md.
#
#   contrib/models/foval-robustvision.sh DEEPACTIFCTL OUT.safetensors
set -eu

ctl=$1
out=$2
data=$(cd "$(dirname "$0")/../data/robustvision" && pwd)

set --
for i in $(seq 1 20); do
        set -- "$@" --data "$data/P$i.tsv.gz"
done
exec "$ctl" train "$@" --hidden 16 --lr 0.001 --seed 1 --val-subjects 3 \
        --scaling per-user --warmup 100 --out "$out"
