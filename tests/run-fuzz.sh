#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
# Runs the libFuzzer target tests/NAME for SECONDS over its seed corpus
# tests/fuzz-corpus/NAME. New inputs go to a scratch corpus that is removed
# afterwards; a crashing input is kept as tests/NAME-crash-* in the build tree.
# Exit 77 (skip) when clang is missing. Run from the build directory, or with
# top_srcdir/top_builddir set (as 'make check' does).
set -eu

name=${1:?usage: run-fuzz.sh NAME SECONDS}
secs=${2:-60}
here=$(cd "$(dirname "$0")" && pwd)
srcdir=${top_srcdir:-$(dirname "$here")}
builddir=${top_builddir:-$(pwd)}
bin=$builddir/tests/$name
seeds=$srcdir/tests/fuzz-corpus/$name

if ! command -v "${CLANG:-clang}" >/dev/null 2>&1; then
        echo "SKIP: $name needs clang (-fsanitize=fuzzer), which is not installed"
        exit 77
fi
if [ ! -d "$seeds" ]; then
        echo "$name: no seed corpus at $seeds" >&2
        exit 99
fi
if [ ! -x "$bin" ]; then
        make -C "$builddir" "tests/$name" >&2 || { echo "$name: cannot build $bin" >&2; exit 99; }
fi

work=$(mktemp -d "${TMPDIR:-/tmp}/$name.XXXXXX")
trap 'rm -rf "$work"' EXIT

echo "$name: fuzzing for ${secs}s from $(ls "$seeds" | wc -l) seeds"
"$bin" -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
        -artifact_prefix="$builddir/tests/$name-" "$work" "$seeds"
