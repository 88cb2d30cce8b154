#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# deepactifctl evaluate --shard I/N and --merge on the bundled Robust Vision
# subjects with a small preset: the merged table equals the unsharded one
# byte for byte apart from the measured cost columns and the total time;
# the JSON and CSV figures too; a shard given twice, a missing one and one
# run with other settings are each refused with one error line. The same
# with the published protocol's data steps, which warn that they use the
# test subjects' labels; its model reuse refuses to be sharded.
set -euo pipefail

srcdir=${top_srcdir:-$(cd "$(dirname "$0")/.." && pwd)}
builddir=${top_builddir:-$srcdir}
ctl=$builddir/client/deepactifctl
data=$srcdir/contrib/data/robustvision
fail=0
bad() { echo "FAIL: $*"; fail=1; }

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
small=(--preset quick --data "$data" --subjects 4 --folds loso --hidden 8 --epochs 2
       --methods deepactif-gate-inv,deepactif-input-mean,ig,ablation,random --k 10,40 --rank-windows 24)

# The results without what a run measures of itself: cost and peak columns, the total.
results() { sed -E -e 's/ +[0-9.—]+ +[0-9.—]+$//' -e '/^Total /d' "$1"; }

"$ctl" evaluate "${small[@]}" --json "$tmp/whole.json" --csv "$tmp/whole.csv" >"$tmp/whole.txt"
for i in 1 2 3; do
        "$ctl" evaluate "${small[@]}" --shard "$i/3" --json "$tmp/part$i.json" >"$tmp/shard$i.txt"
        grep -q "^Shard $i/3: " "$tmp/shard$i.txt" || bad "shard $i/3 said: $(cat "$tmp/shard$i.txt")"
done
"$ctl" evaluate --merge "$tmp/part3.json" "$tmp/part1.json" "$tmp/part2.json" \
        --json "$tmp/merged.json" --csv "$tmp/merged.csv" >"$tmp/merged.txt"
cat "$tmp/merged.txt"

grep -q '^deepactif-gate-inv  *10%' "$tmp/whole.txt" || bad "no table: $(cat "$tmp/whole.txt")"
grep -q 'Every method ranks the same training windows: an evenly spaced sample of at most 24 per fold (96 over all folds)' \
        "$tmp/whole.txt" || bad "the shared sample is not 24 windows in each of 4 folds"
diff -u <(results "$tmp/whole.txt") <(results "$tmp/merged.txt") || bad "the merged table differs from the unsharded one"
diff -u <(cut -d, -f1-7 "$tmp/whole.csv") <(cut -d, -f1-7 "$tmp/merged.csv") || bad "the merged CSV differs"
# The per-fold figures and what follows from them, not the measured cost.
figures() {
        python3 -c 'import json, sys
d = json.load(open(sys.argv[1]))
print(d["all_features_fold_mae"])
for r in d["results"]:
    print(r["method"], r["k"], r["fold_mae"], r["mae_mean"], r["mae_sd"], r["p_wilcoxon"], r["fold_windows"])' "$1"
}
diff -u <(figures "$tmp/whole.json") <(figures "$tmp/merged.json") || bad "the merged JSON figures differ"

refused() {     # WHAT NEEDLE ARGS...
        local what=$1 needle=$2 out
        shift 2
        if out=$("$ctl" evaluate --merge "$@" 2>&1); then
                bad "$what was merged"
        elif [ "$(wc -l <<<"$out")" -ne 1 ] || ! grep -qF -- "$needle" <<<"$out"; then
                bad "$what: expected one line with '$needle', got: $out"
        fi
}
refused "a shard given twice" "shard 2/3 is given twice" "$tmp/part1.json" "$tmp/part2.json" "$tmp/part2.json"
refused "a missing shard" "shard 3/3 is missing" "$tmp/part1.json" "$tmp/part2.json"
"$ctl" evaluate "${small[@]}" --seed 5 --shard 3/3 --json "$tmp/other3.json" >/dev/null
refused "shards of different settings" "different settings" "$tmp/part1.json" "$tmp/part2.json" "$tmp/other3.json"
"$ctl" evaluate "${small[@]}" --precision bf16 --shard 3/3 --json "$tmp/bf16-3.json" >/dev/null
refused "shards trained at another precision" "different settings" "$tmp/part1.json" "$tmp/part2.json" "$tmp/bf16-3.json"
echo "{ \"k\": [ 10 ] }" >"$tmp/other.json"
refused "a file that is no part" "is not a part" "$tmp/other.json"

published=(--iqr-filter --depth-bins --subject-scaler --best-epoch-on-test)
"$ctl" evaluate "${small[@]}" "${published[@]}" >"$tmp/pub.txt" 2>"$tmp/pub.err"
grep -q "^Warning: the published protocol's steps (iqr-filter, depth-bins, subject-scaler, best-epoch-on-test) use the test subjects' labels" \
        "$tmp/pub.err" || bad "no warning for the published steps: $(cat "$tmp/pub.err")"
grep -q '^Protocol: published steps (iqr-filter, depth-bins, subject-scaler, best-epoch-on-test)' "$tmp/pub.txt" ||
        bad "the table does not name the published steps: $(head -3 "$tmp/pub.txt")"
grep -q '^Protocol: clean' "$tmp/whole.txt" || bad "the clean table does not say so"
cmp -s <(results "$tmp/pub.txt") <(results "$tmp/whole.txt") && bad "the published steps changed nothing"
for i in 1 2; do
        "$ctl" evaluate "${small[@]}" "${published[@]}" --shard "$i/2" --json "$tmp/pub$i.json" >/dev/null 2>&1
done
"$ctl" evaluate --merge "$tmp/pub1.json" "$tmp/pub2.json" >"$tmp/pub-merged.txt"
diff -u <(results "$tmp/pub.txt") <(results "$tmp/pub-merged.txt") || bad "the merged published table differs"
refused "published and clean shards" "different settings" "$tmp/pub1.json" "$tmp/part2.json" "$tmp/part3.json"
if out=$("$ctl" evaluate "${small[@]}" --protocol published --shard 1/2 --json "$tmp/x.json" 2>&1); then
        bad "the model reuse was sharded"
else
        grep -q "cannot be sharded" <<<"$out" || bad "the model reuse's refusal: $out"
fi

exit $fail
