#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
# The shipped default model rebuilds bit for bit from the command its card
# documents (contrib/models/foval-robustvision.sh), on the full recipe: all
# 20 subjects, as shipped. Prints how long the rebuild took.
set -eu

srcdir=${top_srcdir:-$(cd "$(dirname "$0")/.." && pwd)}
builddir=${top_builddir:-$srcdir}
ctl=$builddir/client/deepactifctl
shipped=$srcdir/contrib/models/foval-robustvision.safetensors

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

start=$(date +%s)
"$srcdir/contrib/models/foval-robustvision.sh" "$ctl" "$tmp/rebuilt.safetensors" >"$tmp/train.log" 2>&1 || {
        echo "FAIL: the documented command failed:"
        sed 's/^/    /' "$tmp/train.log"
        exit 1
}
echo "rebuilt in $(( $(date +%s) - start )) s: $(cat "$tmp/train.log")"
if ! cmp "$tmp/rebuilt.safetensors" "$shipped"; then
        echo "FAIL: the rebuilt model differs from $shipped"
        exit 1
fi
echo "PASS: contrib/models/foval-robustvision.safetensors rebuilds bit for bit"
