#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# libdeepactif exports exactly the functions its public headers declare
# (lib/libdeepactif.sym lists them by name: no internal helper leaks, no
# declared function is missing), and deepactifd needs nothing beyond the
# runtime API of <deepactif-runtime.h>.
set -euo pipefail

srcdir=${top_srcdir:-$(cd "$(dirname "$0")/.." && pwd)}
builddir=${top_builddir:-$srcdir}
fail=0
bad() { echo "FAIL: $*"; fail=1; }

lib=$builddir/lib/.libs/libdeepactif.so
daemon=$builddir/daemon/.libs/deepactifd
if [ ! -e "$lib" ]; then
        echo "SKIP: no shared libdeepactif in the build tree (configured with --disable-shared)"
        exit 77
fi
[ -e "$daemon" ] || daemon=$builddir/daemon/deepactifd

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
export LC_ALL=C

declared() {
        grep -ohE '^[a-z_][a-z0-9_ *]*\bda_[a-z0-9_]+\(' "$@" | grep -oE 'da_[a-z0-9_]+\($' | tr -d '(' | sort -u
}
declared "$srcdir/lib/deepactif-runtime.h" >"$tmp/runtime"
declared "$srcdir/lib/deepactif-runtime.h" "$srcdir/lib/deepactif-research.h" >"$tmp/public"
grep -oE '^[[:space:]]+da_[a-z0-9_]+;' "$srcdir/lib/libdeepactif.sym" | tr -d ' \t;' | sort -u >"$tmp/listed"
nm -D --defined-only "$lib" | awk '$2 ~ /^[TDBR]$/ { sub(/@.*/, "", $3); print $3 }' | sort -u >"$tmp/exported"

[ -s "$tmp/runtime" ] || bad "no function found in deepactif-runtime.h (the parser is broken)"
comm -23 "$tmp/exported" "$tmp/public" | while read -r s; do
        echo "FAIL: $s is exported but not declared in a public header"
done | tee "$tmp/extra"
comm -13 "$tmp/exported" "$tmp/public" | while read -r s; do
        echo "FAIL: $s is declared in a public header but not exported (add it to lib/libdeepactif.sym)"
done | tee "$tmp/missing"
comm -3 "$tmp/listed" "$tmp/public" | while read -r s; do
        echo "FAIL: lib/libdeepactif.sym and the public headers disagree about $s"
done | tee "$tmp/disagree"
[ -s "$tmp/extra" ] || [ -s "$tmp/missing" ] || [ -s "$tmp/disagree" ] && fail=1

# The daemon is linked against the shared library: what it takes from it
# must be runtime API.
nm -D --undefined-only "$daemon" | awk '{ sub(/@.*/, "", $2); print $2 }' | grep '^da_' | sort -u >"$tmp/used"
[ -s "$tmp/used" ] || bad "deepactifd takes no da_* symbol from libdeepactif (was it linked statically?)"
comm -23 "$tmp/used" "$tmp/runtime" | while read -r s; do
        echo "FAIL: deepactifd uses $s, which is not in the runtime API"
done | tee "$tmp/research"
[ -s "$tmp/research" ] && fail=1

echo "$(wc -l <"$tmp/exported") symbols exported, $(wc -l <"$tmp/runtime") runtime; deepactifd uses $(wc -l <"$tmp/used")"
exit $fail
