#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
# Leave-one-subject-out error of a training recipe on the shipped Robust
# Vision subjects: for each subject, train on all the others with the given
# `deepactifctl train` options (early stopping on whole held-out training
# subjects: pass --val-subjects), then score the left-out subject with the
# training subjects' median and ridge references beside it. Prints one line
# per fold (subject, MAE, windows, median and ridge references in cm, the
# fold's validation MAE on its held-out training subjects) and the mean, SD
# and worst subject. Recipes are compared on the validation figure only.
#
#   contrib/loso.sh BUILDDIR [train options...]
set -eu

top=$(cd "$(dirname "$0")/.." && pwd)
build=$1
shift
ctl="$build/client/deepactifctl"
data="$top/contrib/data/robustvision"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

subjects=$(seq 1 20)
for s in $subjects; do
        train=""
        for i in $subjects; do
                [ "$i" = "$s" ] || train="$train --data $data/P$i.tsv.gz"
        done
        # shellcheck disable=SC2086
        "$ctl" train $train --out "$tmp/P$s.safetensors" "$@" >"$tmp/P$s.train"
        val=$(sed -n 's/.*best validation MAE \([0-9.]*\) cm.*/\1/p' "$tmp/P$s.train")
        # shellcheck disable=SC2086
        "$ctl" score --json --model "$tmp/P$s.safetensors" --data "$data/P$s.tsv.gz" \
                $(echo "$train" | sed 's/--data/--train/g') >"$tmp/P$s.json"
        python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); r=d.get("reference") or {}; print("P%s %.1f %d %.1f %.1f val %s" % (sys.argv[2], d["mae_cm"], d["windows"], r["median"], r["ridge"], sys.argv[3]))' "$tmp/P$s.json" "$s" "$val"
done | tee "$tmp/folds"
python3 - "$tmp/folds" <<'PY'
import sys, statistics as st
rows = [l.split() for l in open(sys.argv[1])]
mae = [float(r[1]) for r in rows]
med = [float(r[3]) for r in rows]
ridge = [float(r[4]) for r in rows]
val = [float(r[6]) for r in rows]
worst = max(rows, key=lambda r: float(r[1]))
print("LOSO MAE %.1f cm (SD %.1f, worst %s %.1f cm) over %d subjects" % (st.mean(mae), st.pstdev(mae), worst[0], float(worst[1]), len(mae)))
print("references: training median %.1f cm, ridge %.1f cm; subjects not better than the median: %d" %
      (st.mean(med), st.mean(ridge), sum(1 for r in rows if float(r[1]) >= float(r[3]))))
print("selection figure (held-out training subjects, never the left-out one): validation MAE %.1f cm" % st.mean(val))
PY
