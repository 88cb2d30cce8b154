#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Builds the guest image of tests/vm-system/run.sh into DIR: a Debian 12
# minbase root file system with the packages listed in ./packages, made by
# mmdebstrap from the mirror apt uses (its sources.list), written into an
# ext4 image with mke2fs -d; Debian's kernel and initramfs from it are
# copied beside it. DIR/stamp holds the hash of what the image was built
# from; the image is rebuilt only when that changes.
#
# Usage: build-image.sh DIR   (needs root: mmdebstrap --mode=root)
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
out=${1:?usage: $0 DIR}
suite=bookworm

# What the image depends on: the package list, the files baked into it and
# this script.
stamp=$(cat "$here/packages" "$here/vmtest-boot" "$here/vmtest.service" "$here/initramfs-hook" "$0" |
        sha256sum | cut -d' ' -f1)
if [ -s "$out/rootfs.img" ] && [ "$(cat "$out/stamp" 2>/dev/null)" = "$stamp" ]; then
        echo "Guest image up to date ($out)"
        exit 0
fi

packages=$(sed -e 's/#.*//' "$here/packages" | tr -s ' \n' ',' | sed -e 's/^,//' -e 's/,$//')
rm -rf "$out"
mkdir -p "$out"
root=$out/root
echo "Building the guest image: mmdebstrap $suite (minbase + $(echo "$packages" | tr ',' ' ' | wc -w) packages)"
# The mirror apt uses: the host's sources, one-line or deb822, as files.
sources=()
for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list /etc/apt/sources.list.d/*.sources; do
        [ -s "$f" ] && grep -qv '^[[:space:]]*\(#\|$\)' "$f" && sources+=("$f")
done
[ ${#sources[@]} -gt 0 ] || { echo "FAIL: no apt sources in /etc/apt"; exit 1; }
# The hooks' $1 is the root directory, expanded by mmdebstrap's shell.
# shellcheck disable=SC2016
mmdebstrap --mode=root --variant=minbase --quiet \
        --aptopt='APT::Install-Recommends "false"' \
        --dpkgopt='path-exclude=/usr/share/doc/*' --dpkgopt='path-exclude=/usr/share/man/*' \
        --dpkgopt='path-exclude=/usr/share/locale/*' \
        --include="$packages" \
        --setup-hook="install -D -m 755 '$here/initramfs-hook' \"\$1/etc/initramfs-tools/hooks/vmtest\"" \
        --setup-hook='mkdir -p "$1/etc/initramfs-tools/conf.d" && echo MODULES=list > "$1/etc/initramfs-tools/conf.d/vmtest"' \
        --customize-hook="install -m 755 '$here/vmtest-boot' \"\$1/usr/local/sbin/vmtest-boot\"" \
        --customize-hook="install -m 644 '$here/vmtest.service' \"\$1/etc/systemd/system/vmtest.service\"" \
        --customize-hook='chroot "$1" systemctl enable vmtest.service' \
        --customize-hook='chroot "$1" systemctl mask serial-getty@ttyS0.service getty@tty1.service apt-daily.timer apt-daily-upgrade.timer e2scrub_all.timer fstrim.timer' \
        --customize-hook='echo "/dev/vda / ext4 rw,errors=remount-ro 0 1" > "$1/etc/fstab"' \
        --customize-hook='echo deepactif-vm > "$1/etc/hostname"' \
        --customize-hook='echo 5e3c5ca9a1b64f0c8d0e3e1d2c1b0a99 > "$1/etc/machine-id"' \
        --customize-hook='mkdir -p "$1/var/log/journal"' \
        "$suite" "$root" "${sources[@]}" >"$out/mmdebstrap.log" 2>&1 || {
        tail -n 30 "$out/mmdebstrap.log"
        echo "FAIL: mmdebstrap"
        exit 1
}
cp "$root"/boot/vmlinuz-* "$out/vmlinuz"
cp "$root"/boot/initrd.img-* "$out/initrd.img"
size=$(( $(du -sm "$root" | cut -f1) + 512 ))
mke2fs -q -t ext4 -L root -d "$root" "$out/rootfs.img" "${size}M"
rm -rf "$root"
echo "$stamp" > "$out/stamp"
echo "Guest image built: $out/rootfs.img (${size} MiB)"
