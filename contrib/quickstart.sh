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
        libevemu-dev zlib1g-dev libzmq3-dev libmsgpack-dev check
        clang dbus sqlite3 mandoc systemd udev qemu-system-x86 bash-completion
        python3
        # The system test in a Debian guest (tests/vm-system/run.sh): the
        # image, and the .debs it installs.
        mmdebstrap e2fsprogs debhelper fakeroot
        # The Slurm test (tests/test-slurm.sh): a single-node cluster.
        munge slurmctld slurmd slurm-client
        prometheus prometheus-node-exporter curl
)
# Only for the package test (tests/test-packages.sh), which CI runs.
[ "${CI:-}" = true ] && packages+=(lintian rpm)
# Only for the arm64 cross test (tests/test-cross-aarch64.sh), which CI runs:
# its libraries come from Debian's arm64 architecture, added to dpkg for it.
cross_packages=(gcc-aarch64-linux-gnu qemu-user libjson-c-dev:arm64 check:arm64 zlib1g-dev:arm64)

sudo=
[ "$(id -u)" -eq 0 ] || sudo=sudo

missing_of() {
        for p in "$@"; do
                dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || echo "$p"
        done
}

install_packages() {
        local missing
        mapfile -t missing < <(missing_of "${packages[@]}")
        [ ${#missing[@]} -eq 0 ] && return 0
        echo "Installing: ${missing[*]}"
        $sudo apt-get update -q
        DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -q --no-install-recommends "${missing[@]}"
}

# Best effort: where the mirror has no arm64, the cross test skips (saying
# so) and dpkg is left as it was.
install_cross_packages() {
        local missing added=
        mapfile -t missing < <(missing_of "${cross_packages[@]}")
        [ ${#missing[@]} -eq 0 ] && return 0
        if ! dpkg --print-foreign-architectures | grep -qx arm64; then
                $sudo dpkg --add-architecture arm64
                added=1
        fi
        echo "Installing: ${missing[*]}"
        if $sudo apt-get update -q && DEBIAN_FRONTEND=noninteractive \
                $sudo apt-get install -y -q --no-install-recommends "${missing[@]}"; then
                return 0
        fi
        echo "The arm64 cross toolchain could not be installed; tests/test-cross-aarch64.sh will skip"
        if [ -n "$added" ]; then
                $sudo dpkg --remove-architecture arm64 || true
                $sudo apt-get update -q || true
        fi
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
        [ "${CI:-}" = true ] && install_cross_packages
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
