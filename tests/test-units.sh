#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# The system integration files, checked by systemd's own tools:
#  - systemd-analyze verify is silent on deepactifd.service and .socket, with
#    every Documentation= page found among the pages we ship;
#  - systemd-analyze security rates the service's exposure at most 2.5, and
#    deepactif-bridge@.service's (verified too) at most 2.0;
#  - the hwdb compiles strictly and marks a Tobii HID modalias, not a mouse;
#  - sysusers.d and tmpfiles.d create the user and directories in a temp root;
#  - deepactif-hid-probe recognises a Eye and Head Trackers descriptor (the
#    MSR Enable GazeHid fixture) and ignores a boot mouse and a non-HID node;
#  - journalctl compiles the journal catalog, and it explains every
#    MESSAGE_ID deepactifd logs events with.
set -euo pipefail

srcdir=${top_srcdir:-$(cd "$(dirname "$0")/.." && pwd)}
builddir=${top_builddir:-$srcdir}
max_exposure=2.5
max_bridge_exposure=2.0

for tool in systemd-analyze:systemd systemd-hwdb:udev systemd-sysusers:systemd systemd-tmpfiles:systemd journalctl:systemd; do
        if ! command -v "${tool%%:*}" >/dev/null; then
                echo "SKIP: ${tool%%:*} is not installed (apt-get install ${tool#*:})"
                exit 77
        fi
done

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail=0
bad() { echo "FAIL: $*"; fail=1; }

# ExecStart= must name an existing executable: point it at the build tree.
mkdir -p "$tmp/units"
sed "s|@sbindir@|$builddir/daemon|g" "$srcdir/units/deepactifd.service.in" > "$tmp/units/deepactifd.service"
cp "$srcdir/units/deepactifd.socket" "$tmp/units/"
sed "s|@sbindir@|$builddir/bridge|g" "$srcdir/units/deepactif-bridge@.service.in" > "$tmp/units/deepactif-bridge@.service"
bridge_unit=deepactif-bridge@127.0.0.1:50020.service

# verify runs man(1) on every Documentation= page: offer only ours.
man_check=--man=yes
if command -v man >/dev/null; then
        for page in "$srcdir"/man/*.[0-9]; do
                section=${page##*.}
                mkdir -p "$tmp/man/man$section"
                cp "$page" "$tmp/man/man$section/"
        done
else
        echo "note: man(1) is missing, Documentation= pages are not checked"
        man_check=--man=no
fi

if ! out=$(cd "$tmp/units" && MANPATH="$tmp/man" systemd-analyze verify "$man_check" \
                deepactifd.service deepactifd.socket deepactif-bridge@.service 2>&1) || [ -n "$out" ]; then
        bad "systemd-analyze verify is not clean:"
        echo "$out"
fi

out=$(cd "$tmp/units" && systemd-analyze security --offline=true deepactifd.service 2>&1) || true
exposure=$(sed -n 's/.*Overall exposure level for deepactifd.service: \([0-9.]*\).*/\1/p' <<<"$out")
if [ -z "$exposure" ]; then
        bad "systemd-analyze security printed no exposure level:"
        echo "$out"
else
        echo "systemd-analyze security deepactifd.service: exposure $exposure (limit $max_exposure)"
        awk -v e="$exposure" -v m="$max_exposure" 'BEGIN { exit !(e <= m) }' ||
                bad "exposure $exposure is above $max_exposure"
fi

out=$(cd "$tmp/units" && systemd-analyze security --offline=true "$bridge_unit" 2>&1) || true
exposure=$(sed -n "s/.*Overall exposure level for $bridge_unit: \([0-9.]*\).*/\1/p" <<<"$out")
if [ -z "$exposure" ]; then
        bad "systemd-analyze security printed no exposure level for $bridge_unit:"
        echo "$out"
else
        echo "systemd-analyze security $bridge_unit: exposure $exposure (limit $max_bridge_exposure)"
        awk -v e="$exposure" -v m="$max_bridge_exposure" 'BEGIN { exit !(e <= m) }' ||
                bad "the bridge's exposure $exposure is above $max_bridge_exposure"
fi
grep -q '^IPAddressDeny=any' "$tmp/units/deepactif-bridge@.service" &&
        grep -q '^IPAddressAllow=localhost' "$tmp/units/deepactif-bridge@.service" ||
        bad "deepactif-bridge@.service is not limited to loopback"

# hwdb: the modalias a HID device's hidraw and evdev nodes are looked up by.
mkdir -p "$tmp/root/etc/udev/hwdb.d"
cp "$srcdir/units/60-deepactif.hwdb" "$tmp/root/etc/udev/hwdb.d/"
systemd-hwdb --root="$tmp/root" update --strict || bad "60-deepactif.hwdb does not compile strictly"
[ "$(systemd-hwdb --root="$tmp/root" query 'hid:b0003g0001v00002104p00000313')" = ID_DEEPACTIF_EYETRACKER=1 ] ||
        bad "hwdb does not mark the Tobii modalias hid:b0003g0001v00002104p00000313"
[ -z "$(systemd-hwdb --root="$tmp/root" query 'hid:b0003g0001v0000046Dp0000C077')" ] ||
        bad "hwdb marks a Logitech mouse"

# sysusers.d, then tmpfiles.d resolving that user inside the same root.
systemd-sysusers --root="$tmp/root" "$srcdir/units/sysusers.d/deepactif.conf" \
        "$srcdir/units/sysusers.d/deepactif-bridge.conf" >/dev/null 2>&1 || bad "systemd-sysusers failed"
grep -q '^deepactif-uinput:' "$tmp/root/etc/group" || bad "sysusers.d creates no group deepactif-uinput"
uid=$(awk -F: '$1 == "deepactif" { print $3 }' "$tmp/root/etc/passwd" 2>/dev/null)
[ -n "$uid" ] || bad "sysusers.d creates no user deepactif"
awk -F: '$1 == "input" { exit !($4 ~ /(^|,)deepactif(,|$)/) }' "$tmp/root/etc/group" ||
        bad "sysusers.d does not put deepactif in group input"
systemd-tmpfiles --root="$tmp/root" --create "$srcdir/units/tmpfiles.d/deepactif.conf" ||
        bad "systemd-tmpfiles failed"
for d in var/lib/deepactif run/deepactif; do
        [ "$(stat -c %u "$tmp/root/$d" 2>/dev/null)" = "$uid" ] || bad "/$d is not owned by deepactif"
done
[ "$(stat -c %a "$tmp/root/var/lib/deepactif" 2>/dev/null)" = 750 ] || bad "/var/lib/deepactif is not 0750"

# The udev helper against fake sysfs trees: a hidraw node under a HID
# device, an evdev node two levels further down, and a node with no HID parent.
probe=$builddir/daemon/deepactif-hid-probe
sys=$tmp/sys/devices/usb1/1-1:1.0
mkdir -p "$sys/0003:2104:0313.0001/hidraw/hidraw0" "$sys/0003:046D:C077.0002/input/input5/event5" \
        "$tmp/sys/devices/platform/i8042/serio0/input/input1/event1"
cp "$srcdir/tests/fixtures/hid/msrenable_gazehid_eye_tracker.rdesc.bin" "$sys/0003:2104:0313.0001/report_descriptor"
# HID 1.11 Appendix E.10, the boot mouse: Generic Desktop / Mouse application.
printf '\x05\x01\x09\x02\xa1\x01\x09\x01\xa1\x00\x05\x09\x19\x01\x29\x03\x15\x00\x25\x01\x95\x03\x75\x01\x81\x02\x95\x01\x75\x05\x81\x01\x05\x01\x09\x30\x09\x31\x15\x81\x25\x7f\x75\x08\x95\x02\x81\x06\xc0\xc0' \
        > "$sys/0003:046D:C077.0002/report_descriptor"
[ "$("$probe" "$sys/0003:2104:0313.0001/hidraw/hidraw0")" = ID_DEEPACTIF_EYETRACKER=1 ] ||
        bad "deepactif-hid-probe misses the GazeHid eye tracker"
out=$("$probe" "$sys/0003:046D:C077.0002/input/input5/event5") || bad "deepactif-hid-probe fails on a mouse"
[ -z "$out" ] || bad "deepactif-hid-probe marks a mouse: $out"
out=$("$probe" "$tmp/sys/devices/platform/i8042/serio0/input/input1/event1") || bad "deepactif-hid-probe fails on a non-HID node"
[ -z "$out" ] || bad "deepactif-hid-probe marks a non-HID node: $out"

# D-Bus activation hands over to the unit, under the name the policy lets it own.
grep -qx 'SystemdService=deepactifd.service' "$srcdir/units/io.deepactif.Daemon1.service" ||
        bad "io.deepactif.Daemon1.service does not activate deepactifd.service"
grep -q 'own="io.deepactif.Daemon1"' "$srcdir/units/io.deepactif.Daemon1.conf" ||
        bad "the bus policy lets nobody own io.deepactif.Daemon1"

# The catalog, compiled as journalctl --update-catalog does on install.
mkdir -p "$tmp/cat/usr/lib/systemd/catalog" "$tmp/cat/var/lib/systemd/catalog"
cp "$srcdir/units/deepactif.catalog" "$tmp/cat/usr/lib/systemd/catalog/"
journalctl --root="$tmp/cat" --update-catalog || bad "journalctl cannot compile units/deepactif.catalog"
listed=$(journalctl --root="$tmp/cat" --list-catalog 2>/dev/null | awk '{print $1}' | sort)
logged=$(grep -oE '"[0-9a-f]{32}"' "$srcdir/daemon/event-journal.c" | tr -d '"' | sort)
[ -n "$logged" ] && [ "$listed" = "$logged" ] ||
        bad "the catalog explains $(echo $listed), deepactifd logs $(echo $logged)"

[ $fail -eq 0 ] && echo "PASS: units, hwdb, sysusers.d, tmpfiles.d, deepactif-hid-probe, journal catalog"
exit $fail
