#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Translations: po/de.po compiles with msgfmt --check; with it installed in a
# temporary locale directory (DEEPACTIF_LOCALEDIR), LANGUAGE=de makes
# deepactifctl's and deepactifd's help and errors German; every source file
# with marked messages is in po/POTFILES.in. How complete de.po is against
# the current sources is printed.
set -euo pipefail

srcdir=${top_srcdir:-$(cd "$(dirname "$0")/.." && pwd)}
builddir=${top_builddir:-$srcdir}
fail=0
bad() { echo "FAIL: $*"; fail=1; }

for tool in msgfmt xgettext msgmerge; do
        if ! command -v "$tool" >/dev/null; then
                echo "SKIP: $tool is not installed (apt-get install gettext)"
                exit 77
        fi
done

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
mkdir -p "$tmp/de/LC_MESSAGES"
msgfmt --check -o "$tmp/de/LC_MESSAGES/deepactif.mo" "$srcdir/po/de.po" || bad "msgfmt --check po/de.po"

# LANGUAGE is ignored in the C locale; C.UTF-8 is always there on glibc.
de() { env LC_ALL=C.UTF-8 LANGUAGE=de DEEPACTIF_LOCALEDIR="$tmp" "$@" 2>&1 || true; }
expect() {      # WHAT NEEDLE OUTPUT
        grep -qF -- "$2" <<<"$3" || { bad "$1 is not German (no '$2'):"; sed 's/^/    /' <<<"$3"; }
}
ctl=$builddir/client/deepactifctl
expect "deepactifctl --help" "Lokale Befehle:" "$(de "$ctl" --help)"
expect "deepactifctl --help" "Aufruf: deepactifctl" "$(de "$ctl" --help)"
expect "deepactifctl rank --help" "Bringt die Eingabemerkmale des Modells" "$(de "$ctl" rank --help)"
expect "deepactifctl status --help" "JSON ausgeben" "$(de "$ctl" status --help)"
expect "an unknown command" "Unbekannter Befehl »frobnicate«" "$(de "$ctl" frobnicate)"
expect "deepactifd --help" "Diese Hilfe zeigen" "$(de "$builddir/daemon/deepactifd" --help)"
expect "a deepactifd option error" "Ungültiges --speed »schnell«" \
        "$(de "$builddir/daemon/deepactifd" --replay=/dev/null --speed=schnell)"
# Without LANGUAGE the same binary stays English.
out=$(env LC_ALL=C.UTF-8 DEEPACTIF_LOCALEDIR="$tmp" "$ctl" --help)
grep -qF "Local commands:" <<<"$out" || bad "deepactifctl --help is not English without LANGUAGE"

# POTFILES.in names every file that marks messages.
for f in "$srcdir"/daemon/*.c; do
        rel=daemon/${f##*/}
        if grep -qE '\b_\(|\bN_\(' "$f" && ! grep -qx "$rel" "$srcdir/po/POTFILES.in"; then
                bad "$rel marks messages but is not in po/POTFILES.in"
        fi
done

# Completeness against the sources as they are now: reported, so a changed
# message shows up here; 'make -C po update-po' and translating fixes it.
xgettext --keyword=_ --keyword=N_ --from-code=UTF-8 -D "$srcdir" -f "$srcdir/po/POTFILES.in" \
        -o "$tmp/deepactif.pot" 2>/dev/null
msgmerge -q --no-fuzzy-matching "$srcdir/po/de.po" "$tmp/deepactif.pot" -o "$tmp/de.po"
echo "po/de.po against the sources: $(msgfmt --statistics -o /dev/null "$tmp/de.po" 2>&1)"

[ $fail -eq 0 ] && echo "PASS: German catalogue compiles and is used by deepactifctl and deepactifd"
exit $fail
