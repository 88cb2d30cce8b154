#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Builds the .debs from a release tarball (dpkg-buildpackage -b, nocheck)
# into CACHE/debs-HASH, HASH naming the tarball's contents rather than its
# time stamps, and prints that directory. A directory for the same contents
# is reused, so the system test (tests/vm-system/run.sh, in 'make check')
# and 'make check-packages' build them once between them.
#
# Usage: tests/build-debs.sh TARBALL CACHE
set -euo pipefail

tarball=${1:?usage: $0 TARBALL CACHE}
cache=${2:?usage: $0 TARBALL CACHE}
dir=$cache/debs-$(tar -xJOf "$tarball" | sha256sum | cut -c1-16)
if [ -e "$dir/complete" ]; then
        echo "$dir"
        exit 0
fi
rm -rf "$cache"/debs-* "$cache"/src.*
mkdir -p "$cache"
src=$(mktemp -d "$cache/src.XXXXXX")
tar -xJf "$tarball" -C "$src"
top=$(echo "$src"/deepactif-*)
cp -r "$top/contrib/debian" "$top/debian"
if ! (cd "$top" && DEB_BUILD_OPTIONS="nocheck parallel=$(nproc)" dpkg-buildpackage -us -uc -b) \
        >"$cache/deb.log" 2>&1; then
        tail -n 40 "$cache/deb.log" >&2
        echo "FAIL: dpkg-buildpackage (log: $cache/deb.log)" >&2
        exit 1
fi
mkdir -p "$dir"
cp "$src"/*.deb "$src"/*.changes "$src"/*.buildinfo "$dir/"
rm -rf "$src"
touch "$dir/complete"
echo "$dir"
