#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
# Leave-one-subject-out error of a training recipe on the shipped Robust
# Vision subjects: for each subject, train on all the others with the given
# `deepactifctl train` options (early stopping on whole held-out training
# subjects: pass --val-subjects), then score the left-out subject with the
# training subjects' median and ridge references beside it. Prints one line
# per fold (subject, MAE, windows, median and ridge references in cm, the
# fold's validation MAE on its held-out training subjects), the mean, SD and
# worst subject, and the error and bias by target depth over all the folds'
# left-out windows. Recipes are compared on the validation figure only.
#
# The trainer holds out the training subjects at fixed positions of its
# list (--val-subjects), so in the subjects' own order nearly every fold
# validates on the same three people. --rotate-validation starts each fold's
# list after the left-out subject instead (P(s+1) ... P20 P1 ... P(s-1)), so
# that over the 20 folds every subject is a validation subject three times
# and the validation figure covers all of them.
#
#   contrib/loso.sh [--rotate-validation] BUILDDIR [train options...]
set -eu

top=$(cd "$(dirname "$0")/.." && pwd)
rotate=
if [ "${1:-}" = --rotate-validation ]; then
        rotate=1
        shift
fi
build=$1
shift
ctl="$build/client/deepactifctl"
data="$top/contrib/data/robustvision"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

subjects=$(seq 1 20)
for s in $subjects; do
        train=""
        order=$subjects
        [ -z "$rotate" ] || order="$(seq $((s + 1)) 20) $(seq 1 $((s - 1)))"
        for i in $order; do
                [ "$i" = "$s" ] || train="$train --data $data/P$i.tsv.gz"
        done
        # shellcheck disable=SC2086
        "$ctl" train $train --out "$tmp/P$s.safetensors" "$@" >"$tmp/P$s.train"
        val=$(sed -n 's/.*best validation MAE \([0-9.]*\) cm.*/\1/p' "$tmp/P$s.train")
        # shellcheck disable=SC2086
        "$ctl" score --model "$tmp/P$s.safetensors" --data "$data/P$s.tsv.gz" \
                $(echo "$train" | sed 's/--data/--train/g') >"$tmp/P$s.score"
        # the subject's row: name, windows, MAE, median and ridge references
        awk -v val="$val" '$1 ~ /^P[0-9]+$/ { printf "%s %.1f %d %.1f %.1f val %s\n", $1, $3, $2, $4, $5, val }' \
                "$tmp/P$s.score"
        # its windows by target depth: band, windows, MAE, bias
        awk '$1 ~ /^[0-9.]+-[0-9.]+$/ && $2 == "m" { print $1, $3, $4, $5 }' "$tmp/P$s.score" >>"$tmp/depths"
done | tee "$tmp/folds"
awk '
{ n++; mae[n] = $2; sum += $2; med += $4; ridge += $5; val += $7; if ($2 >= $4) worse++
  if ($2 > worst) { worst = $2; who = $1 } }
END {
        mean = sum / n
        for (i = 1; i <= n; i++) ss += (mae[i] - mean) ^ 2
        printf "LOSO MAE %.1f cm (SD %.1f, worst %s %.1f cm) over %d subjects\n", mean, sqrt(ss / n), who, worst, n
        printf "references: training median %.1f cm, ridge %.1f cm; subjects not better than the median: %d\n",
               med / n, ridge / n, worse
        printf "selection figure (held-out training subjects, never the left-out one): validation MAE %.1f cm\n", val / n
}' "$tmp/folds"
awk '
!($1 in n) { order[++bands] = $1 }
{ n[$1] += $2; mae[$1] += $2 * $3; bias[$1] += $2 * $4 }
END {
        print "by target depth, over all the left-out windows (bias = prediction - target):"
        for (i = 1; i <= bands; i++) {
                b = order[i]
                if (n[b] > 0)
                        printf "  %s m: %d windows, MAE %.1f cm, bias %+.1f cm\n", b, n[b], mae[b] / n[b], bias[b] / n[b]
        }
}' "$tmp/depths"
