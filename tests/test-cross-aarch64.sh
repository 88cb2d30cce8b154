#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# The library away from x86: libdeepactif cross-compiled for arm64 (no
# AVX-512 or AVX2 variants there, only the generic vector kernels, which the
# compiler maps to NEON), and the PyTorch fixtures, model-file,
# reduced-precision and batch kernel tests run on it under qemu-user. The H=1435 fixtures are left out:
# emulated, they take minutes. Needs Debian's gcc-aarch64-linux-gnu and
# qemu-user, and json-c, check and zlib for arm64 (dpkg --add-architecture
# arm64; apt-get install libjson-c-dev:arm64 check:arm64 zlib1g-dev:arm64).
set -euo pipefail

srcdir=${top_srcdir:-$(cd "$(dirname "$0")/.." && pwd)}
builddir=${top_builddir:-$srcdir}
cc=aarch64-linux-gnu-gcc
sysroot=/usr/aarch64-linux-gnu
export PKG_CONFIG_LIBDIR=/usr/lib/aarch64-linux-gnu/pkgconfig:/usr/share/pkgconfig

for tool in $cc aarch64-linux-gnu-ar qemu-aarch64 pkg-config; do
        if ! command -v "$tool" >/dev/null; then
                echo "SKIP: $tool is not installed (apt-get install gcc-aarch64-linux-gnu qemu-user pkgconf)"
                exit 77
        fi
done
if ! pkg-config --exists json-c check zlib; then
        echo "SKIP: json-c, check or zlib for arm64 is missing (dpkg --add-architecture arm64;" \
             "apt-get install libjson-c-dev:arm64 check:arm64 zlib1g-dev:arm64)"
        exit 77
fi

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cflags=(-std=gnu11 -O2 -Wall -Wextra -Wno-unused-parameter -Wno-missing-field-initializers -Wshadow
        -Wstrict-prototypes -Wmissing-prototypes -Wformat=2 -Werror
        -I"$builddir" -I"$srcdir/lib" -include "$builddir/config.h" $(pkg-config --cflags json-c check zlib))
libs=($(pkg-config --libs json-c check zlib) -lm)

objs=()
for f in "$srcdir"/lib/*.c; do
        o=$tmp/$(basename "$f" .c).o
        $cc "${cflags[@]}" -c "$f" -o "$o"
        objs+=("$o")
done
aarch64-linux-gnu-ar rcs "$tmp/libdeepactif.a" "${objs[@]}"
echo "PASS: libdeepactif builds for arm64"

mkdir -p "$tmp/src/fixtures/lstm"
for f in "$srcdir"/tests/fixtures/lstm/*; do
        case $f in *-h1435-*) ;; *) ln -s "$f" "$tmp/src/fixtures/lstm/" ;; esac
done

# test-precision ranks a recording with the default model from contrib/
ln -s "$srcdir/contrib" "$tmp/contrib"

fail=0
for t in test-lstm-torch test-model-file test-precision test-batch-kernels; do
        $cc "${cflags[@]}" -DTEST_SRCDIR="\"$tmp/src\"" -DTOP_BUILDDIR="\"$builddir\"" \
                "$srcdir/tests/$t.c" "$srcdir/tests/test-util.c" "$tmp/libdeepactif.a" "${libs[@]}" -o "$tmp/$t"
        # Check's forked test cases hang under qemu-user; run them in-process.
        if CK_FORK=no qemu-aarch64 -L "$sysroot" "$tmp/$t"; then
                echo "PASS: $t on arm64"
        else
                echo "FAIL: $t on arm64"
                fail=1
        fi
done
exit $fail
