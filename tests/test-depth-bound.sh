#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
# contrib/depth-bound.py, the labelled upper bounds on how much depth the
# Robust Vision gaze carries (contrib/models/README.md): its isotonic and
# least-squares fits against hand-worked cases, then a run over the shipped
# subjects: one row each, and on a subject with a single sweep the map fitted
# per sweep is the map fitted on the whole recording, so the two agree.
set -eu

srcdir=${top_srcdir:-$(cd "$(dirname "$0")/.." && pwd)}
script=$srcdir/contrib/depth-bound.py
command -v python3 >/dev/null || { echo "SKIP: python3 is not installed"; exit 77; }
fail=0
bad() { echo "FAIL: $*"; fail=1; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

python3 "$script" --self-test || bad "the self-test"

python3 "$script" >"$tmp/out" || bad "the run on the shipped recordings"
cat "$tmp/out"
rows=$(grep -c '^P[0-9]' "$tmp/out" || true)
[ "$rows" = 20 ] || bad "$rows subject rows, not 20"
grep -q '^mean ' "$tmp/out" || bad "no mean row"
# columns: subject samples sweeps median monotone linear4 per-sweep other-sweeps (median)
awk '$1 ~ /^P[0-9]+$/ && $3 == 1 && $5 != $7 { print "FAIL: " $1 ": one sweep, yet the whole-recording and per-sweep maps differ"; bad = 1 }
     $1 ~ /^P[0-9]+$/ && $3 > 1 && $8 == "-" { print "FAIL: " $1 ": several sweeps but no other-sweeps figure"; bad = 1 }
     END { exit bad }' "$tmp/out" || fail=1

python3 "$script" --warmup 0 >"$tmp/all" || bad "--warmup 0"
# without the warm-up every subject keeps at least as many samples
paste "$tmp/out" "$tmp/all" | awk -F'\t' '$1 ~ /^P[0-9]/ { split($1, a, " "); split($2, b, " ");
        if (a[1] != b[1] || a[2] + 0 > b[2] + 0) { print "FAIL: " a[1] " has more samples after a warm-up"; bad = 1 } }
        END { exit bad }' || fail=1

for args in "--warmup" "--warmup x" "--nonsense" "a b"; do
        # shellcheck disable=SC2086
        if python3 "$script" $args >/dev/null 2>"$tmp/err"; then
                bad "'$args' was accepted"
        fi
done
python3 "$script" "$tmp" >/dev/null 2>"$tmp/err" && bad "a directory without recordings was accepted"
grep -q "no P\*.tsv" "$tmp/err" || bad "an empty directory's error: $(cat "$tmp/err")"

[ $fail = 0 ] && echo "PASS: depth-bound"
exit $fail
