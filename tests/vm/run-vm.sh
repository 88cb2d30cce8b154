#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Tests deepactifd against the kernel's own input stack: boots Debian's
# generic amd64 kernel in QEMU with an initramfs holding busybox, the input
# modules, the built daemon, client and tests/vm/vm-test, which drives a uhid
# GazeHid tracker and a uinput evdev tracker (see vm-test.c), then
# deepactif-bridge's uinput device fed by the Pupil Capture stand-in
# (tests/vm/vm-bridge.sh).
#
# The kernel and busybox-static .debs come from apt-get download and are
# cached in $DEEPACTIF_VM_CACHE (default ~/.cache/deepactif-vm). Exit 77
# (skip) without qemu-system-x86_64 or when the kernel cannot be fetched.
#
#   DEEPACTIF_VM_ACCEL=tcg|kvm   skip the KVM probe
#   DEEPACTIF_VM_TIMEOUT=SECONDS the guest's time limit (default 180: under TCG on a
#                                busy machine the guest needs 50–150 s)
#   DEEPACTIF_VM_LOAD_TRACKERS=N, DEEPACTIF_VM_LOAD_SECONDS=S
#                                the load test's trackers (default 8) and
#                                seconds of 100 Hz streaming (default 10)
set -euo pipefail

top_srcdir=${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}
top_builddir=${top_builddir:-$PWD}
cache=${DEEPACTIF_VM_CACHE:-${XDG_CACHE_HOME:-${HOME:-/nonexistent}/.cache}/deepactif-vm}
work=$top_builddir/tests/vm-work
timeout_s=${DEEPACTIF_VM_TIMEOUT:-180}
modules=(evdev uinput hid uhid hid-generic)
start=$(date +%s.%N)

skip() { echo "SKIP: $*"; exit 77; }
elapsed() { echo "$(date +%s.%N) $start" | awk '{ printf "%.1f", $1 - $2 }'; }

command -v qemu-system-x86_64 >/dev/null || skip "qemu-system-x86_64 is not installed (apt-get install qemu-system-x86)"
for tool in apt-get apt-cache dpkg-deb gzip xz timeout; do
        command -v $tool >/dev/null || skip "$tool is not installed"
done
mkdir -p "$cache" 2>/dev/null && [ -w "$cache" ] || cache=$top_builddir/tests/vm-cache
mkdir -p "$cache"

# ---- the kernel and busybox, downloaded once -------------------------------

# The generic flavour: cloud-amd64 lacks uinput.
kernel_package() {
        apt-cache depends linux-image-amd64 2>/dev/null |
                awk '/Depends: linux-image-[0-9.]+-[0-9]+-amd64$/ { print $2; exit }'
}

# Extracts package $1 into $cache/$1 (the .deb downloaded if not cached).
fetch() {
        local pkg=$1 deb
        [ -d "$cache/$pkg/root" ] && return 0
        deb=$(ls "$cache/$pkg"/*.deb 2>/dev/null | head -n1 || true)
        if [ -z "$deb" ]; then
                mkdir -p "$cache/$pkg"
                (cd "$cache/$pkg" && apt-get download -q "$pkg" >download.log 2>&1) || {
                        cat "$cache/$pkg/download.log" >&2
                        return 1
                }
                deb=$(ls "$cache/$pkg"/*.deb | head -n1)
        fi
        rm -rf "$cache/$pkg/root.tmp"
        dpkg-deb -x "$deb" "$cache/$pkg/root.tmp"
        mv "$cache/$pkg/root.tmp" "$cache/$pkg/root"
}

kpkg=$(kernel_package)
if [ -z "$kpkg" ]; then
        # No package lists (apt-get update never ran): the newest cached kernel.
        kpkg=$(cd "$cache" && ls -d linux-image-*-amd64 2>/dev/null | sort -V | tail -n1 || true)
fi
[ -n "$kpkg" ] || skip "no linux-image-*-amd64 package known to apt-cache (run apt-get update) and none cached"
fetch "$kpkg" || skip "apt-get download $kpkg failed"
fetch busybox-static || skip "apt-get download busybox-static failed"
busybox=$cache/busybox-static/root/bin/busybox
kroot=$cache/$kpkg/root

# PVH direct boot needs the ELF vmlinux, not the bzImage: find the XZ
# stream in it and decompress, as the kernel's scripts/extract-vmlinux does.
vmlinux=$cache/$kpkg/vmlinux
if [ ! -s "$vmlinux" ]; then
        bz=$(ls "$kroot"/boot/vmlinuz-*)
        off=$(LC_ALL=C grep -abo $'\xfd7zXZ\x00' "$bz" | head -n1 | cut -d: -f1)
        [ -n "$off" ] || { echo "FAIL: no XZ stream in $bz" >&2; exit 1; }
        # busybox's xzcat lacks the x86 BCJ filter the kernel is packed with.
        tail -c +$((off + 1)) "$bz" | xz -dc > "$vmlinux.tmp" 2>/dev/null || true
        [ "$(head -c4 "$vmlinux.tmp" | od -An -c | tr -d ' ')" = '177ELF' ] || {
                echo "FAIL: could not extract an ELF vmlinux from $bz" >&2
                exit 1
        }
        mv "$vmlinux.tmp" "$vmlinux"
fi

# ---- the initramfs ----------------------------------------------------------

binary() {      # the real ELF behind a libtool wrapper
        local d=$(dirname "$1") b=$(basename "$1")
        if [ -x "$d/.libs/$b" ]; then echo "$d/.libs/$b"; else echo "$1"; fi
}

for f in daemon/deepactifd client/deepactifctl tests/vm/vm-test tests/make-test-model bridge/deepactif-bridge \
         tests/pupil-standin; do
        [ -x "$top_builddir/$f" ] || { echo "FAIL: $top_builddir/$f is not built (make check builds it)" >&2; exit 1; }
done

rm -rf "$work"
stage=$work/root
mkdir -p "$stage"/{bin,proc,sys,dev,run,tmp,vm/modules,lib64,lib/x86_64-linux-gnu}
cp "$busybox" "$stage/bin/busybox"
cp "$top_srcdir/tests/vm/vm-init.sh" "$stage/init"
cp "$top_srcdir/tests/vm/vm-bridge.sh" "$stage/vm-bridge.sh"
chmod 755 "$stage/init" "$stage/vm-bridge.sh"

# Modules with what they depend on (the package has no modules.dep), in order.
declare -A loaded=()
load_order() {
        local m=$1 ko dep
        [ -n "${loaded[$m]:-}" ] && return 0
        ko=$(find "$kroot/lib/modules" -name "$m.ko" -o -name "${m//-/_}.ko" | head -n1)
        [ -n "$ko" ] || { echo "FAIL: module $m not in $kpkg" >&2; exit 1; }
        for dep in $(tr '\0' '\n' < "$ko" | sed -n 's/^depends=//p' | tr ',' ' '); do
                load_order "$dep"
        done
        loaded[$m]=1
        cp "$ko" "$stage/vm/modules/$m.ko"
        echo "$m" >> "$stage/vm/modules.order"
}
for m in "${modules[@]}"; do load_order "$m"; done

libpath=$top_builddir/lib/.libs${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}
for f in daemon/deepactifd client/deepactifctl tests/vm/vm-test bridge/deepactif-bridge tests/pupil-standin; do
        bin=$(binary "$top_builddir/$f")
        cp "$bin" "$stage/vm/$(basename "$f")"
        LD_LIBRARY_PATH=$libpath ldd "$bin" | awk '/=> \// { print $3 } /^\t\// { print $1 }' |
        while read -r lib; do
                case $lib in
                */ld-linux*) cp -L "$lib" "$stage/lib64/$(basename "$lib")" ;;
                *) cp -L "$lib" "$stage/lib/x86_64-linux-gnu/$(basename "$lib")" ;;
                esac
        done
done

# A random-weight model over the features the two trackers' channels give.
"$(binary "$top_builddir/tests/make-test-model")" "$stage/vm/model.safetensors" \
        "$top_srcdir/contrib/data/sample.tsv.gz" \
        World_Gaze_Origin_R_X,World_Gaze_Origin_R_Z,World_Gaze_Origin_L_X,World_Gaze_Origin_L_Z,Inter_Pupillary_Distance \
        >/dev/null
cp "$top_srcdir/tests/fixtures/hid/msrenable_gazehid_eye_tracker.rdesc.bin" "$stage/vm/gazehid.rdesc.bin"
cp "$top_srcdir/contrib/data/robustvision/P14.tsv.gz" "$stage/vm/P14.tsv.gz"

(cd "$stage" && find . | "$busybox" cpio -o -H newc -R 0:0 2>/dev/null) | gzip -1 > "$work/initrd.gz"

# ---- boot -------------------------------------------------------------------

boot() {        # accel timeout append log
        timeout "$2" qemu-system-x86_64 -accel "$1" -m 512 -smp 1 -nodefaults -nographic -serial stdio \
                -no-reboot -kernel "$vmlinux" -initrd "$work/initrd.gz" \
                -append "console=ttyS0 loglevel=4 panic=-1 $3" </dev/null >"$4" 2>&1 || true
}

# /dev/kvm may exist and still hang a stock kernel: try it briefly first.
accel=${DEEPACTIF_VM_ACCEL:-}
if [ -z "$accel" ]; then
        accel=tcg
        if [ -w /dev/kvm ]; then
                boot kvm 5 deepactif.probe "$work/probe.log"
                grep -q VM-PROBE-OK "$work/probe.log" && accel=kvm
        fi
fi

echo "Booting $kpkg ($accel) after $(elapsed) s of preparation"
boot "$accel" "$timeout_s" "deepactif.load_trackers=${DEEPACTIF_VM_LOAD_TRACKERS:-8} deepactif.load_seconds=${DEEPACTIF_VM_LOAD_SECONDS:-10}" \
        "$work/serial.log"
tr -d '\r' < "$work/serial.log" > "$work/serial.txt"

if grep -q '^VM-RESULT: PASS' "$work/serial.txt"; then
        grep -E '^(vm:|vm-test:|vm-bridge:|[0-9]+%: Checks)' "$work/serial.txt" || true
        echo "PASS: kernel-level tests in $(elapsed) s wall time"
        exit 0
fi
echo "--- guest serial log ($work/serial.txt)"
cat "$work/serial.txt"
echo "FAIL: kernel-level tests (no PASS marker from the guest) after $(elapsed) s wall time"
exit 1
