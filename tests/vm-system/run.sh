#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# The installed packages under a real systemd: boots a Debian 12 guest (built
# by build-image.sh with mmdebstrap from the mirror apt uses, cached in
# $DEEPACTIF_VM_SYSTEM_CACHE, default tests/vm-system-cache in the build tree)
# with Debian's kernel in QEMU, installs the .debs built from 'make dist'
# into it and runs guest-test.sh there as the image's test unit. The share
# (tests/vm-system-work/share) reaches the guest over 9p and brings its
# results back; the serial console is in tests/vm-system-work/serial.txt.
#
# Exit 77 (skip), naming the packages, when a tool is missing; in a sanitizer
# build, whose .debs would be the plain build's.
#
#   DEEPACTIF_VM_ACCEL=tcg|kvm          skip the KVM probe
#   DEEPACTIF_VM_SYSTEM_TIMEOUT=SECONDS  the guest's time limit (default 1200)
#   DEEPACTIF_DEBS=DIR                   use these .debs instead of building
set -euo pipefail

top_srcdir=${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}
top_builddir=${top_builddir:-$PWD}
here=$top_srcdir/tests/vm-system
cache=${DEEPACTIF_VM_SYSTEM_CACHE:-$top_builddir/tests/vm-system-cache}
image=$cache/image
work=$top_builddir/tests/vm-system-work
timeout_s=${DEEPACTIF_VM_SYSTEM_TIMEOUT:-1200}
start=$(date +%s.%N)

skip() { echo "SKIP: $*"; exit 77; }
now() { date +%s.%N; }
since() { echo "$(now) $1" | awk '{ printf "%.0f", $1 - $2 }'; }

if grep -q '^SANITIZER_CFLAGS = -f' "$top_builddir/Makefile" 2>/dev/null; then
        skip "a sanitizer build: the .debs are built without sanitizers, the plain build's run covers them"
fi
missing=()
for t in qemu-system-x86_64:qemu-system-x86 mmdebstrap:mmdebstrap mke2fs:e2fsprogs \
        dpkg-buildpackage:dpkg-dev dh:debhelper fakeroot:fakeroot; do
        command -v "${t%%:*}" >/dev/null || missing+=("${t#*:}")
done
[ ${#missing[@]} -eq 0 ] || skip "missing packages: ${missing[*]} (apt-get install ${missing[*]})"
[ "$(id -u)" -eq 0 ] || [ -s "$image/rootfs.img" ] ||
        skip "building the guest image needs root (mmdebstrap --mode=root)"
for f in tests/make-test-model tests/vm/gazehid-uhid tests/pupil-standin; do
        [ -x "$top_builddir/$f" ] || { echo "FAIL: $top_builddir/$f is not built (make check builds it)"; exit 1; }
done
binary() {      # the real ELF behind a libtool wrapper
        local d b
        d=$(dirname "$1") b=$(basename "$1")
        if [ -x "$d/.libs/$b" ]; then echo "$d/.libs/$b"; else echo "$1"; fi
}

# ---- the guest image, cached -------------------------------------------------

t=$(now)
"$here/build-image.sh" "$image"
image_s=$(since "$t")

# ---- the .debs -------------------------------------------------------------------

rm -rf "$work"
share=$work/share
mkdir -p "$share/debs" "$share/results"
t=$(now)
if [ -n "${DEEPACTIF_DEBS:-}" ]; then
        debdir=$DEEPACTIF_DEBS
else
        # From the release tarball, as tests/test-packages.sh builds them
        # (and shared with it): rebuilt when the sources change.
        make -C "$top_builddir" -s dist >"$work/dist.log" 2>&1 || { cat "$work/dist.log"; echo "FAIL: make dist"; exit 1; }
        tarball=$top_builddir/deepactif-$(sed -n 's/^VERSION = //p' "$top_builddir/Makefile").tar.xz
        debdir=$("$top_srcdir/tests/build-debs.sh" "$tarball" "$top_builddir/tests/debs-cache") || exit 1
fi
# What the guest installs: the daemon, the library and the Pupil bridge,
# not -dev or -dbgsym.
cp "$debdir"/deepactifd_*.deb "$debdir"/libdeepactif0_*.deb "$debdir"/deepactif-bridge_*.deb "$share/debs/"
debs_s=$(since "$t")
ls "$share/debs"

# ---- what the guest test needs ----------------------------------------------

cp "$here/guest-test.sh" "$top_builddir/tests/vm/gazehid-uhid" "$share/"
cp "$top_srcdir/tests/fixtures/hid/msrenable_gazehid_eye_tracker.rdesc.bin" "$share/gazehid.rdesc.bin"
# The Pupil Capture stand-in for the bridge's unit, replaying Robust Vision
# P14; in the guest it runs on the installed libdeepactif0 and the image's
# libzmq5.
cp "$(binary "$top_builddir/tests/pupil-standin")" "$share/pupil-standin"
cp "$top_srcdir/contrib/data/robustvision/P14.tsv.gz" "$share/P14.tsv.gz"
# A random-weight model over features the GazeHid tracker's channels give
# (the shipped model needs gaze directions it does not report).
libpath=$top_builddir/lib/.libs${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}
LD_LIBRARY_PATH=$libpath "$(binary "$top_builddir/tests/make-test-model")" "$share/model.safetensors" "$top_srcdir/contrib/data/sample.tsv.gz" \
        World_Gaze_Origin_R_X,World_Gaze_Origin_R_Z,World_Gaze_Origin_L_X,World_Gaze_Origin_L_Z,Inter_Pupillary_Distance \
        >/dev/null

# ---- boot --------------------------------------------------------------------------

# /dev/kvm may exist and still hang the kernel (it does on this project's
# build machine, nested): use KVM only when the kernel reaches its panic
# without a root file system under it within seconds.
accel=${DEEPACTIF_VM_ACCEL:-}
if [ -z "$accel" ]; then
        accel=tcg
        if [ -w /dev/kvm ]; then
                timeout 10 qemu-system-x86_64 -accel kvm -m 256 -nodefaults -nographic -serial stdio -no-reboot \
                        -kernel "$image/vmlinuz" -append "console=ttyS0 panic=-1" </dev/null >"$work/kvm-probe.log" 2>&1 || true
                grep -aq 'Kernel panic' "$work/kvm-probe.log" && accel=kvm
        fi
fi
echo "Booting the guest ($accel) after $(since "$start") s of preparation"
t=$(now)
# snapshot=on: the guest's writes (both boots) go to a temporary overlay,
# the cached image stays as built. Without -no-reboot: the test reboots
# once after installing.
# The CPU time QEMU took, apart from the wall time, which a loaded machine
# stretches.
TIMEFORMAT='%U %S'
{ time timeout "$timeout_s" nice -n 10 qemu-system-x86_64 -accel "$accel" -m 1024 -smp 2 \
        -nodefaults -nographic -serial stdio \
        -kernel "$image/vmlinuz" -initrd "$image/initrd.img" \
        -append "root=/dev/vda rw console=ttyS0 quiet loglevel=4 systemd.show_status=false fsck.mode=skip panic=-1 modprobe.blacklist=floppy" \
        -drive "file=$image/rootfs.img,format=raw,if=virtio,snapshot=on" \
        -device virtio-rng-pci \
        -virtfs "local,path=$share,mount_tag=vmtest,security_model=none,id=vmtest" \
        </dev/null >"$work/serial.log" 2>&1 || true; } 2>"$work/qemu-cpu"
vm_s=$(since "$t")
vm_cpu=$(awk '{ printf "%.0f", $1 + $2 }' "$work/qemu-cpu")
tr -d '\r' <"$work/serial.log" >"$work/serial.txt"

times="image ${image_s} s, .debs ${debs_s} s, guest ${vm_s} s using ${vm_cpu} s of CPU"
if [ "$(cat "$share/results/result" 2>/dev/null)" = PASS ]; then
        grep '^vmsys:' "$share/results/log"
        echo "PASS: the installed packages under systemd in $(since "$start") s wall time ($times)"
        exit 0
fi
if [ -s "$share/results/log" ]; then
        echo "--- guest test log ($share/results/log)"
        cat "$share/results/log"
fi
echo "--- guest serial console ($work/serial.txt)"
tail -n 80 "$work/serial.txt"
if [ -s "$share/results/journal-units.txt" ]; then
        echo "--- journal of deepactifd.service, .socket and the bridge's unit"
        tail -n 60 "$share/results/journal-units.txt"
fi
echo "FAIL: the installed packages under systemd ($(cat "$share/results/result" 2>/dev/null || echo "no result from the guest"))" \
        "after $(since "$start") s wall time ($times)"
exit 1
