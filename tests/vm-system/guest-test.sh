#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Runs inside the Debian guest of tests/vm-system/run.sh, from the 9p share
# /vmtest (vmtest-boot, the image's test unit, starts it). Two boots:
#  1. installs the fresh .debs from /vmtest/debs with apt, then reboots;
#  2. asserts, under systemd as PID 1, what the packaged units do: socket
#     activation at boot, the udev rule starting the service when a uhid
#     GazeHid tracker appears, access for group deepactif over D-Bus and
#     varlink, the watchdog, reload, unplug/replug, stop, purge, and a
#     journal free of sandbox denials. Then powers off.
# Each check prints "vmsys: ok: …" or "vmsys: FAIL: …"; the verdict goes
# to /vmtest/results/result.
set -uo pipefail

share=/vmtest
results=$share/results
phase_file=/var/lib/vmtest/phase
unit=deepactifd.service
varlink=/run/deepactif/io.deepactif.Daemon
db=/var/lib/deepactif/deepactif.sqlite
dropin=/etc/deepactif/deepactifd.conf.d/50-vmtest.conf
model=/usr/local/share/vmtest/model.safetensors

mkdir -p "$results"
exec > >(tee -a "$results/log") 2>&1
fails=0
ok() { echo "vmsys: ok: $*"; }
bad() { echo "vmsys: FAIL: $*"; fails=$((fails + 1)); }
check() {       # description command...
        local what=$1
        shift
        if "$@"; then ok "$what"; else bad "$what"; fi
}
uptime_s() { cut -d' ' -f1 /proc/uptime; }
# Retries command until it succeeds or seconds pass.
wait_for() {    # seconds command...
        local end=$((SECONDS + $1))
        shift
        until "$@"; do
                [ $SECONDS -lt $end ] || return 1
                sleep 0.5
        done
}
finish() {
        echo "vmsys: $fails failure(s); tests done $(uptime_s) s after boot"
        if [ $fails -eq 0 ]; then echo PASS; else echo "FAIL ($fails)"; fi >"$results/result"
        sync
        systemctl poweroff --no-block
        # Returning would make vmtest-boot power off too; wait to be stopped.
        exec sleep infinity
}

# The client's compact JSON: the first number or string under key.
jnum() { grep -o "\"$1\":[0-9.e+-]*" | head -n1 | cut -d: -f2; }
jstr() { grep -o "\"$1\":\"[^\"]*\"" | head -n1 | cut -d'"' -f4; }
prop() { systemctl show -p "$1" --value "$unit"; }
rows() { sqlite3 -readonly "$db" 'SELECT count(*) FROM snapshots'; }
as() {          # user command...: with the user's groups, like a login
        local user=$1
        shift
        setpriv --reuid="$user" --regid="$user" --init-groups -- "$@"
}

# ---- boot 1: install --------------------------------------------------------

if [ ! -e "$phase_file" ]; then
        echo "vmsys: boot 1: Linux $(uname -r), $(systemctl --version | head -n1), userspace at $(uptime_s) s"
        systemctl is-system-running --wait >/dev/null
        debs=()
        for p in deepactifd libdeepactif0; do debs+=("$(ls "$share"/debs/"${p}"_*.deb)"); done
        if ! DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${debs[@]}" \
                >"$results/apt-install.log" 2>&1; then
                cat "$results/apt-install.log"
                bad "apt-get install of ${debs[*]##*/}"
                finish
        fi
        ok "apt-get installed ${debs[*]##*/} at $(uptime_s) s"
        check "the system user deepactif exists" getent passwd deepactif
        check "deepactifd.socket is enabled" systemctl -q is-enabled deepactifd.socket
        check "deepactifd.service is not started by installing" \
                test "$(systemctl is-active "$unit")" = inactive
        # The test's model: the features this tracker's channels give.
        install -D -m 644 "$share/model.safetensors" "$model"
        mkdir -p "$(dirname "$phase_file")"
        echo installed >"$phase_file"
        [ $fails -eq 0 ] || finish
        sync
        echo "vmsys: rebooting"
        systemctl reboot --no-block
        exec sleep infinity
fi

# ---- boot 2: the installed units under systemd -------------------------------

echo "vmsys: boot 2: userspace at $(uptime_s) s"
state=$(systemctl is-system-running --wait)
echo "vmsys: system $state at $(uptime_s) s; $(systemd-analyze | head -n1)"
failed=$(systemctl list-units --failed --plain --no-legend | awk '{ print $1 }')
[ -z "$failed" ] || echo "vmsys: failed units: $failed"
check "no unit of ours failed at boot ($state)" test -z "$(echo "$failed" | grep deepactif)"
check "deepactifd.socket is listening" systemctl -q is-active deepactifd.socket
check "the varlink socket is root:deepactif 0660" \
        test "$(stat -c '%F %U %G %a' "$varlink" 2>&1)" = "socket root deepactif 660"
check "deepactifd.service is not started at boot" test "$(systemctl is-active "$unit")" = inactive

# ---- a tracker appears: udev tags it and starts the service -----------------

# The test's model (the features GazeHid's channels give) and a quick
# snapshot cadence; the reload step below changes this drop-in.
mkdir -p "$(dirname "$dropin")"
printf '[Daemon]\nModel=%s\nRankingInterval=250ms\n' "$model" >"$dropin"

hidraw_node() { # the hidraw node of our uhid device
        local d
        for d in /sys/class/hidraw/hidraw*; do
                grep -qx 'HID_NAME=deepactif-vm GazeHid' "$d/device/uevent" 2>/dev/null &&
                        echo "/dev/$(basename "$d")" && return 0
        done
        return 1
}
plug() {
        "$share/gazehid-uhid" "$share/gazehid.rdesc.bin" &
        tracker=$!
}
unplug() {
        kill -TERM "$tracker"
        wait "$tracker"
}
listed() {      # the daemon lists the hidraw device and has read frames from it
        local d
        d=$(deepactifctl devices --json 2>/dev/null) || return 1
        echo "$d" | grep -q '"source":"hidraw"' && [ "$(echo "$d" | jnum framesProcessed)" -gt 0 ]
}
not_listed() {
        local d
        d=$(deepactifctl devices --json 2>/dev/null) && ! echo "$d" | grep -q '"source":"hidraw"'
}

plug
node=
wait_for 30 hidraw_node >/dev/null && node=$(hidraw_node)
check "the uhid GazeHid tracker has a hidraw node (${node:-none})" test -n "$node"
udevadm settle -t 30
props=$(udevadm info -q property -n "$node" 2>&1)
check "udev marks $node ID_DEEPACTIF_EYETRACKER=1" grep -qx ID_DEEPACTIF_EYETRACKER=1 <<<"$props"
check "udev tags $node for systemd and wants $unit" \
        grep -q "^SYSTEMD_WANTS=.*deepactifd.service" <<<"$props"
check "$node is root:deepactif 0640" test "$(stat -c '%U %G %a' "$node")" = "root deepactif 640"
t0=$SECONDS
check "the tracker starts $unit, which reaches READY (Type=notify)" \
        wait_for 60 systemctl -q is-active "$unit"
echo "vmsys: $unit active $((SECONDS - t0)) s after the tracker appeared: $(prop StatusText)"
check "the service binds the tracker under the shipped sandbox" wait_for 60 listed
deepactifctl devices || true

# ---- who may read, who may reload ------------------------------------------

useradd -M -G deepactif reader
useradd -M outsider
ranking() {     # user [client options]: a ranking over at least one window
        local user=$1 r
        shift
        r=$(as "$user" deepactifctl "$@" top --json 2>/dev/null) || return 1
        [ "$(echo "$r" | jnum windows)" -gt 0 ]
}
check "user reader (group deepactif) reads the ranking over D-Bus" wait_for 60 ranking reader
check "user reader reads the ranking over varlink" ranking reader --varlink "$varlink"
as reader deepactifctl top -k 3 || true
for via in "" "--varlink $varlink"; do
        # shellcheck disable=SC2086
        if err=$(as outsider deepactifctl $via top 2>&1); then
                bad "user outsider read a ranking ${via:-over D-Bus}"
        else
                ok "user outsider is refused ${via:-over D-Bus}: $err"
        fi
done
if err=$(as reader deepactifctl reload 2>&1); then
        bad "user reader reloaded the daemon"
else
        ok "user reader may not reload: $err"
fi
check "root reloads over D-Bus" deepactifctl reload
check "root reloads over varlink" deepactifctl --varlink "$varlink" reload

# ---- the watchdog ------------------------------------------------------------

newest() { deepactifctl top --json 2>/dev/null | jnum time; }
pid0=$(prop MainPID)
restarts0=$(prop NRestarts)
watchdog=$(prop WatchdogUSec)
time0=$(newest)
echo "vmsys: stopping deepactifd ($pid0) with SIGSTOP; WatchdogSec=$watchdog"
t0=$SECONDS
kill -STOP "$pid0"
restarted() {
        local pid
        pid=$(prop MainPID)
        [ "$pid" != "$pid0" ] && [ "$pid" != 0 ] && systemctl -q is-active "$unit"
}
check "systemd restarts the stopped daemon" wait_for 180 restarted
echo "vmsys: restarted after $((SECONDS - t0)) s as $(prop MainPID); NRestarts $restarts0 → $(prop NRestarts)"
check "one restart counted" test "$(prop NRestarts)" = $((restarts0 + 1))
check "the journal names the watchdog" \
        journalctl -q -b -u "$unit" --grep 'Watchdog timeout' --no-pager
check "the database is intact" test "$(sqlite3 -readonly "$db" 'PRAGMA integrity_check')" = ok
later() { local t; t=$(newest) && [ -n "$t" ] && [ "$t" -gt "${time0:-0}" ]; }
check "rankings continue after the restart" wait_for 60 later

# ---- reload applies a changed drop-in -----------------------------------------

aggregation() { [ "$(deepactifctl top --json 2>/dev/null | jstr aggregation)" = "$1" ]; }
check "the ranking aggregates with inv before the change" aggregation inv
pid0=$(prop MainPID)
# FlushInterval so long that only stopping writes the rows (checked below).
printf 'Aggregation=mean\nFlushInterval=1h\n' >>"$dropin"
check "systemctl reload" systemctl reload "$unit"
check "the reload applies the drop-in (aggregation mean)" wait_for 30 aggregation mean
check "reloading kept the process" test "$(prop MainPID)" = "$pid0"

# ---- unplugged and plugged back ---------------------------------------------

restarts0=$(prop NRestarts)
unplug
check "the unplugged tracker leaves the device list" wait_for 30 not_listed
plug
check "the tracker plugged back is read again" wait_for 60 listed
check "nothing restarted (same process, same restart count)" \
        test "$(prop MainPID) $(prop NRestarts)" = "$pid0 $restarts0"

# ---- stop flushes ------------------------------------------------------------

before=$(rows)
sleep 3
queued=$(rows)
check "with FlushInterval=1h nothing is written while running ($before → $queued rows)" \
        test "$queued" = "$before"
check "systemctl stop" systemctl stop "$unit"
after=$(rows)
check "stopping flushed the queued snapshots ($queued → $after rows)" test "$after" -gt "$queued"
check "the database is intact after stopping" \
        test "$(sqlite3 -readonly "$db" 'PRAGMA integrity_check')" = ok

# ---- the journal: no sandbox denials -----------------------------------------

# Both boots: the journal is persistent (/var/log/journal).
journalctl --no-pager -o short-monotonic -u "$unit" -u deepactifd.socket >"$results/journal-units.txt" 2>&1
journalctl --no-pager -o short-monotonic >"$results/journal.txt" 2>&1
denials=$(grep -Ei 'Permission denied|Operation not permitted|seccomp|SIGSYS' "$results/journal-units.txt")
audit=$(journalctl -k --no-pager -o cat | grep -E 'type=1326|audit.*seccomp' | grep deepactif)
if [ -z "$denials$audit" ]; then
        ok "no seccomp kill, EPERM or EACCES of our units in the journal"
else
        bad "the journal has denials of our units:"
        printf '%s\n' "$denials" "$audit"
fi

# ---- purge ---------------------------------------------------------------------

unplug
if DEBIAN_FRONTEND=noninteractive apt-get purge -y -q deepactifd libdeepactif0 >"$results/apt-purge.log" 2>&1; then
        ok "apt-get purge"
else
        cat "$results/apt-purge.log"
        bad "apt-get purge"
fi
for f in /lib/systemd/system/deepactifd.service /lib/systemd/system/deepactifd.socket \
        /lib/udev/rules.d/70-deepactif.rules /usr/share/dbus-1/system-services/io.deepactif.Daemon1.service; do
        check "purge removed $f" test ! -e "$f"
done
check "purge removed the user deepactif" test -z "$(getent passwd deepactif)"
check "purge removed the group deepactif" test -z "$(getent group deepactif)"
check "purge removed /var/lib/deepactif" test ! -e /var/lib/deepactif
check "purge removed /run/deepactif" test ! -e /run/deepactif
check "systemd no longer knows deepactifd.socket" \
        test "$(systemctl show -p LoadState --value deepactifd.socket)" = not-found

finish
