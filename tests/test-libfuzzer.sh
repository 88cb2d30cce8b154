#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Builds every libFuzzer target and runs each for LIBFUZZER_SECONDS (10 by
# default) over its seed corpus. Skipped (77) without clang; a crash fails.
set -euo pipefail
: "${top_builddir:?run from make check}"
: "${FUZZERS:?}"
secs=${LIBFUZZER_SECONDS:-10}

if ! command -v clang >/dev/null 2>&1; then
        echo "SKIP: the libFuzzer targets need clang, which is not installed (apt-get install clang)"
        exit 77
fi
make -C "$top_builddir" -s fuzzers
for f in $FUZZERS; do
        log=$("$top_srcdir/tests/run-fuzz.sh" "${f#tests/}" "$secs" 2>&1) || {
                echo "$log" | tail -n 40
                echo "FAIL: ${f#tests/} found a crashing input"
                exit 1
        }
        echo "$log" | tail -n 2
done
