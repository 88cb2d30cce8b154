#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
# deepactifctl train --loss-beta: values that are not a finite length >= 0
# are refused with a message naming the option; the value reaches the
# trainer (beta 0, the L1 loss, trains a different model than the default)
# and the default is 1 m (--loss-beta 1 trains the same bytes as no option).
set -eu

srcdir=${top_srcdir:-$(cd "$(dirname "$0")/.." && pwd)}
builddir=${top_builddir:-$srcdir}
ctl=$builddir/client/deepactifctl
data=$srcdir/contrib/data/robustvision/P9.tsv.gz
export LC_ALL=C
unset LANGUAGE
fail=0
bad() { echo "FAIL: $*"; fail=1; }

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

for v in -1 -0.5 nan inf 1e999 1m ""; do
        if "$ctl" train --data "$data" --out "$tmp/bad.safetensors" --loss-beta "$v" >/dev/null 2>"$tmp/err"; then
                bad "--loss-beta '$v' was accepted"
        elif ! grep -qF -- "Invalid --loss-beta '$v'" "$tmp/err"; then
                bad "--loss-beta '$v': the error does not name the option: $(cat "$tmp/err")"
        fi
        [ ! -e "$tmp/bad.safetensors" ] || bad "--loss-beta '$v' wrote a model"
done

train() {       # OUT [OPTIONS...]
        out=$1
        shift
        "$ctl" train --data "$data" --hidden 4 --epochs 2 --seed 5 --out "$tmp/$out" "$@" >/dev/null ||
                bad "train $* failed"
}
train default.safetensors
train beta1.safetensors --loss-beta 1
train beta0.safetensors --loss-beta 0
cmp -s "$tmp/default.safetensors" "$tmp/beta1.safetensors" || bad "--loss-beta 1 trains another model than the default"
cmp -s "$tmp/default.safetensors" "$tmp/beta0.safetensors" && bad "--loss-beta 0 trains the same model as the default"

[ $fail -eq 0 ] && echo "PASS: --loss-beta is validated, reaches the trainer and defaults to 1 m"
exit $fail
