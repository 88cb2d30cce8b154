#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# One command from a fresh Debian 12 clone to a running demo or a passing
# test suite: installs the build dependencies with apt-get, configures,
# builds, then runs what was asked for.
#
#   contrib/quickstart.sh demo    the daemon on the bundled recording and model
#   contrib/quickstart.sh test    the whole test suite (also under ASan/UBSan)
set -euo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
what=${1:-demo}
build=${BUILD_DIR:-$top/build}
jobs=$(nproc)

packages=(
        build-essential autoconf automake libtool autopoint gettext pkgconf
        libevdev-dev libsystemd-dev libsqlite3-dev libjson-c-dev libinih-dev
        libevemu-dev zlib1g-dev check
        clang dbus sqlite3 mandoc systemd qemu-system-x86 bash-completion
)
# Only for tests CI runs: the package test (tests/test-packages.sh) and the
# arm64 cross build (tests/test-cross-aarch64.sh), whose libraries come from
# Debian's arm64 architecture, added to dpkg for it.
if [ "${CI:-}" = true ]; then
        packages+=(debhelper lintian rpm fakeroot gcc-aarch64-linux-gnu qemu-user
                   libjson-c-dev:arm64 check:arm64 zlib1g-dev:arm64)
fi

install_packages() {
        local missing=()
        for p in "${packages[@]}"; do
                dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
        done
        [ ${#missing[@]} -eq 0 ] && return 0
        local sudo=
        [ "$(id -u)" -eq 0 ] || sudo=sudo
        if [[ " ${missing[*]}" == *:arm64* ]] && ! dpkg --print-foreign-architectures | grep -qx arm64; then
                $sudo dpkg --add-architecture arm64
        fi
        echo "Installing: ${missing[*]}"
        $sudo apt-get update -q
        DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -q --no-install-recommends "${missing[@]}"
}

configure_build() {
        local dir=$1; shift
        [ -x "$top/configure" ] || (cd "$top" && autoreconf -fi)
        mkdir -p "$dir"
        (cd "$dir" && [ -f Makefile ] || "$top/configure" -q "$@")
        make -C "$dir" -j"$jobs" >/dev/null
}

case "$what" in
demo)
        install_packages
        configure_build "$build"
        exec "$top/contrib/demo.sh" "$build"
        ;;
test)
        install_packages
        extra=()
        [ "${CI:-}" = true ] && extra+=(--enable-werror)
        rc=0
        configure_build "$build" "${extra[@]}"
        make -C "$build" -j"$jobs" check >/dev/null 2>&1 || rc=1
        # The same suite with AddressSanitizer and UndefinedBehaviorSanitizer.
        configure_build "$build-sanitizers" --enable-sanitizers "${extra[@]}"
        make -C "$build-sanitizers" -j"$jobs" check >/dev/null 2>&1 || rc=1
        # The .deb and .rpm, installed, run and purged: a few minutes. Its
        # result joins the others' (a .trs the summary reads), so the
        # summary stays the last line.
        if [ "${CI:-}" = true ]; then
                result=PASS
                make -C "$build" check-packages >"$build/tests/check-packages.log" 2>&1 || result=FAIL
                printf ':test-result: %s\n' "$result" >"$build/tests/check-packages.trs"
        fi
        "$top/tests/summary.sh" "$build" "$build-sanitizers" || rc=1
        exit $rc
        ;;
*)
        echo "usage: $0 demo|test" >&2
        exit 2
        ;;
esac
