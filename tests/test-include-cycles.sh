#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# No include cycles, at two levels, in lib/, common/, daemon/ and client/:
#  - files: the graph of #include "..." lines between headers and sources;
#  - modules: a module is a header and the source of the same name (x.h with
#    x.c); a source without a header of its name (bus-device.c) is its own
#    module. A module using another's header depends on it, so two modules
#    that include each other's headers call each other: a circle in the
#    design even where #pragma once keeps the preprocessor happy.
# Quoted includes resolve as the compiler does: the including file's
# directory first, then -I lib, common, daemon.
set -euo pipefail

srcdir=${top_srcdir:-$(cd "$(dirname "$0")/.." && pwd)}
cd "$srcdir"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
export LC_ALL=C
fail=0

resolve() {     # including file, included name
        local dir=${1%/*} d
        for d in "$dir" lib common daemon; do
                [ -f "$d/$2" ] && { echo "$d/$2"; return; }
        done
}

module() {      # a file's module: its header's path without the suffix
        local stem=${1%.*}
        if [ -f "$stem.h" ]; then echo "$stem"; else echo "$1"; fi
}

for f in lib/*.[ch] common/*.[ch] daemon/*.[ch] client/*.[ch]; do
        [ -e "$f" ] || continue
        echo "$f $f" >>"$tmp/files"
        echo "$(module "$f") $(module "$f")" >>"$tmp/modules"
        sed -n 's/^[[:space:]]*#[[:space:]]*include[[:space:]]*"\([^"]*\)".*/\1/p' "$f" | while read -r inc; do
                to=$(resolve "$f" "$inc")
                [ -n "$to" ] || continue        # generated (config.h) or a system header
                echo "$f $to" >>"$tmp/files"
                [ "$(module "$f")" = "$(module "$to")" ] || echo "$(module "$f") $(module "$to")" >>"$tmp/modules"
        done
done

for level in files modules; do
        if ! tsort "$tmp/$level" >/dev/null 2>"$tmp/err"; then
                echo "FAIL: include cycle between $level:"
                sed -e 's/^tsort: //' -e "s#^$tmp/$level: ##" "$tmp/err"
                fail=1
        fi
done
echo "$(sort -u "$tmp/files" | wc -l) file edges, $(sort -u "$tmp/modules" | wc -l) module edges checked"
exit $fail
