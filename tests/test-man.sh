#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# The manual pages: every page the design asks for exists and is installed,
# mandoc -Tlint finds nothing at warning level or above, and every option
# that deepactifd --help, deepactif-bridge --help, deepactifctl --help and each deepactifctl command's
# --help print is documented on the program's page.
set -euo pipefail

srcdir=${top_srcdir:-$(cd "$(dirname "$0")/.." && pwd)}
builddir=${top_builddir:-$srcdir}
fail=0
bad() { echo "FAIL: $*"; fail=1; }

if ! command -v mandoc >/dev/null; then
        echo "SKIP: mandoc is not installed (apt-get install mandoc)"
        exit 77
fi
export LC_ALL=C
unset LANGUAGE

for page in deepactifd.8 deepactif-bridge.8 deepactifctl.1 deepactifd.conf.5 deepactif-model.5 io.deepactif.Daemon1.5; do
        [ -f "$srcdir/man/$page" ] || bad "man/$page is missing"
done
for page in "$srcdir"/man/*.[0-9]; do
        name=${page##*/}
        grep -q "man/$name\\b" "$srcdir/man/local.mk" || bad "man/$name is not installed (man/local.mk)"
        out=$(mandoc -Tlint -Wwarning "$page" 2>&1) || bad "mandoc -Tlint: $out"
done

# Options as they appear in help text and on pages: --long and -x.
options_of() {
        grep -oE -- '(^|[^a-zA-Z0-9-])(--[a-z][a-z0-9-]*|-[a-zA-Z])([^a-zA-Z0-9-]|$)' |
                grep -oE -- '--[a-z][a-z0-9-]*|-[a-zA-Z]' | sort -u
}
# Page source with roff's \- and font escapes removed, one string to search.
page_text() {
        sed -e 's/\\-/-/g' -e 's/\\f[BIRP]//g' -e 's/\\f\[[A-Z]*\]//g' "$1"
}
check() {       # PAGE WHAT HELP-TEXT
        local text opt
        text=$(page_text "$1")
        [ -n "$3" ] || { bad "$2 printed no help"; return; }
        while read -r opt; do
                grep -qE -- "(^|[^a-zA-Z0-9-])$opt([^a-zA-Z0-9-]|\$)" <<<"$text" ||
                        bad "$2 prints $opt, which ${1##*/} does not document"
        done < <(options_of <<<"$3")
}

check "$srcdir/man/deepactifd.8" "deepactifd --help" "$("$builddir/daemon/deepactifd" --help)"
check "$srcdir/man/deepactif-bridge.8" "deepactif-bridge --help" "$("$builddir/bridge/deepactif-bridge" --help)"
ctl=$builddir/client/deepactifctl
check "$srcdir/man/deepactifctl.1" "deepactifctl --help" "$("$ctl" --help)"
# Every command of the dispatch table, not only those the summary mentions.
verbs=$(grep -oE '\{ *"[a-z]+", *verb_' "$srcdir/client/ctl.c" | grep -oE '"[a-z]+"' | tr -d '"')
[ -n "$verbs" ] || bad "found no commands in client/ctl.c"
for verb in $verbs; do
        grep -qE "^\\.B $verb( |\$)" "$srcdir/man/deepactifctl.1" || bad "deepactifctl.1 has no entry for '$verb'"
        check "$srcdir/man/deepactifctl.1" "deepactifctl $verb --help" "$("$ctl" "$verb" --help 2>&1 || true)"
done

[ $fail -eq 0 ] && echo "PASS: pages present, installed, lint-clean; every --help option documented"
exit $fail
