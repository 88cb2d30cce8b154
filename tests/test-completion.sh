#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# The bash completion offers every command of deepactifctl's dispatch table,
# and for each command every option its --help prints; values of --method
# and export's --format complete.
set -uo pipefail

srcdir=${top_srcdir:-$(cd "$(dirname "$0")/.." && pwd)}
builddir=${top_builddir:-$srcdir}
bc=/usr/share/bash-completion/bash_completion
if [ ! -r "$bc" ]; then
        echo "SKIP: bash-completion is not installed (apt-get install bash-completion)"
        exit 77
fi
# shellcheck source=/dev/null
source "$bc"
# shellcheck source=../contrib/completion/deepactifctl
source "$srcdir/contrib/completion/deepactifctl"
export LC_ALL=C
unset LANGUAGE
fail=0
bad() { echo "FAIL: $*"; fail=1; }

complete_line() {       # prints the candidates for the command line "$1"
        COMP_LINE=$1
        COMP_POINT=${#COMP_LINE}
        read -r -a COMP_WORDS <<<"$COMP_LINE"
        [[ $COMP_LINE == *" " ]] && COMP_WORDS+=("")
        COMP_CWORD=$((${#COMP_WORDS[@]} - 1))
        COMPREPLY=()
        _deepactifctl deepactifctl "${COMP_WORDS[COMP_CWORD]}" "${COMP_WORDS[COMP_CWORD - 1]}"
        printf '%s\n' "${COMPREPLY[@]}"
}

verbs=$(grep -oE '\{ *"[a-z-]+", *verb_' "$srcdir/client/ctl.c" | grep -oE '"[a-z-]+"' | tr -d '"' | sort)
offered=$(complete_line "deepactifctl " | sort)
[ "$verbs" = "$offered" ] || bad "commands offered differ from client/ctl.c: $(diff <(echo "$verbs") <(echo "$offered") | grep '^[<>]' | tr '\n' ' ')"

for verb in $verbs; do
        help=$("$builddir/client/deepactifctl" "$verb" --help 2>&1)
        offered=$(complete_line "deepactifctl $verb -")
        for opt in $(grep -oE -- '(^|[^a-zA-Z0-9-])--[a-z][a-z0-9-]*' <<<"$help" | grep -oE -- '--[a-z][a-z0-9-]*' | sort -u); do
                grep -qx -- "$opt" <<<"$offered" || bad "'deepactifctl $verb $opt' is not completed"
        done
done

[ "$(complete_line "deepactifctl rank --method ig" | tr '\n' ' ')" = "ig " ] || bad "--method ig does not complete"
[ "$(complete_line "deepactifctl export --format " | sort | tr '\n' ' ')" = "csv json " ] ||
        bad "export --format does not offer csv and json"

[ $fail -eq 0 ] && echo "PASS: bash completion covers every command and option"
exit $fail
