#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Runs inside the Debian guest of tests/vm-system/run.sh, from the 9p share
# /vmtest (vmtest-boot, the image's test unit, starts it). Two boots:
#  1. installs the fresh .debs from /vmtest/debs with apt, then reboots;
#  2. asserts, under systemd as PID 1, what the packaged units do: socket
#     activation at boot, the udev rule starting the service when a uhid
#     GazeHid tracker appears, access for group deepactif over D-Bus and
#     varlink, the watchdog, reload, unplug/replug, stop, the Pupil bridge's
#     unit feeding deepactifd from a Pupil Capture stand-in, purge, and a
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
        for p in deepactifd libdeepactif0 deepactif-bridge; do debs+=("$(ls "$share"/debs/"${p}"_*.deb)"); done
        if ! DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${debs[@]}" \
                >"$results/apt-install.log" 2>&1; then
                cat "$results/apt-install.log"
                bad "apt-get install of ${debs[*]##*/}"
                finish
        fi
        ok "apt-get installed ${debs[*]##*/} at $(uptime_s) s"
        check "the system user deepactif exists" getent passwd deepactif
        check "deepactifd.socket is enabled" systemctl -q is-enabled deepactifd.socket
        check "the group deepactif-uinput exists" getent group deepactif-uinput
        check "installing gives /dev/uinput to group deepactif-uinput without a reboot" \
                test "$(stat -c '%U %G %a' /dev/uinput 2>&1)" = "root deepactif-uinput 660"
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

# ---- the Pupil bridge's unit: Pupil Capture's gaze as a uinput tracker --------

# The stand-in replays Robust Vision P14 (CC BY 4.0, Hosp et al.) in Pupil's
# message schema on the loopback, the only network the unit allows; the
# instance is Pupil Remote's HOST:PORT (deepactif-bridge(8)).
pupil_port=50020
bridge=deepactif-bridge@127.0.0.1:$pupil_port.service
bprop() { systemctl show -p "$1" --value "$bridge"; }
bridge_input() {        # the bridge's input device in sysfs (inputN)
        local d
        for d in /sys/class/input/input*; do
                [ "$(cat "$d/name" 2>/dev/null)" = "deepactif-bridge Pupil gaze" ] && basename "$d" && return 0
        done
        return 1
}
start_standin() {
        "$share/pupil-standin" --recording "$share/P14.tsv.gz" --port "$pupil_port" --rate 100 --duration 3600 \
                >>"$results/pupil-standin.log" 2>&1 &
        standin=$!
}
bridge_frames() {       # frames deepactifd read from the bridge's device, empty when not listed
        deepactifctl devices --json 2>/dev/null | tr '{' '\n' | grep -F "\"evdev:$bnode\"" | jnum framesProcessed
}
bridge_frames_above() { local f; f=$(bridge_frames); [ -n "$f" ] && [ "$f" -gt "$1" ]; }
bridge_ranking() {      # user reader's ranking of the bridge's device, over at least one window
        local r
        r=$(as reader deepactifctl top --json --device "evdev:$bnode" 2>/dev/null) || return 1
        [ "$(echo "$r" | jnum windows)" -gt 0 ]
}
bridge_log() { journalctl -q -b -u "$bridge" --no-pager -o cat --grep "$1"; }

echo "vmsys: uinput module $(grep -q '^uinput ' /proc/modules && echo loaded || echo "not loaded yet")"
check "/dev/uinput is root:deepactif-uinput 0660" \
        test "$(stat -c '%U %G %a' /dev/uinput 2>&1)" = "root deepactif-uinput 660"
check "systemctl enable $bridge" systemctl -q enable "$bridge"
# Not --now: the unit is READY only once Pupil Capture answers.
systemctl start --no-block "$bridge"
binput=
wait_for 60 bridge_input >/dev/null && binput=$(bridge_input)
check "the bridge creates its uinput device (${binput:-none}) before Pupil Capture runs" test -n "$binput"
bnode=
[ -z "$binput" ] || bnode=/dev/input/$(basename "$(echo /sys/class/input/"$binput"/event*)")
check "without Pupil Capture $bridge is not READY ($(systemctl is-active "$bridge"))" \
        test "$(systemctl is-active "$bridge")" = activating
udevadm settle -t 30
props=$(udevadm info -q property -n "$bnode" 2>&1)
check "udev marks $bnode ID_INPUT_EYETRACKER=1" grep -qx ID_INPUT_EYETRACKER=1 <<<"$props"
check "udev tags $bnode for systemd and wants $unit" grep -q "^SYSTEMD_WANTS=.*deepactifd.service" <<<"$props"
check "the bridge's device starts $unit again" wait_for 60 systemctl -q is-active "$unit"
start_standin
check "connected to the stand-in, $bridge reaches READY (Type=notify)" wait_for 60 systemctl -q is-active "$bridge"
echo "vmsys: $bridge: $(bprop StatusText)"
check "the bridge started once (NRestarts $(bprop NRestarts))" test "$(bprop NRestarts)" = 0
check "deepactifd binds the bridge's device $bnode and reads frames" wait_for 60 bridge_frames_above 100
check "user reader reads the ranking of the bridge's device" wait_for 120 bridge_ranking
deepactifctl top -k 3 --device "evdev:$bnode" || true

# Pupil Capture restarts: the bridge reconnects, the device stays.
bpid=$(bprop MainPID)
brestarts=$(bprop NRestarts)
kill -TERM "$standin"
wait "$standin"
check "the bridge notices Pupil Capture going away" wait_for 60 bridge_log 'Lost Pupil Capture|stopped answering'
frames0=$(bridge_frames)
start_standin
check "frames flow again after Pupil Capture restarted (${frames0:-none} before)" \
        wait_for 60 bridge_frames_above "${frames0:-0}"
check "the bridge connected twice" test "$(bridge_log 'Connected to Pupil Capture' | wc -l)" -eq 2
check "the device stayed ($binput), the bridge kept its process and $bridge stayed active" \
        test "$(bridge_input) $(bprop MainPID) $(bprop NRestarts) $(systemctl is-active "$bridge")" = \
        "$binput $bpid $brestarts active"
check "systemctl disable --now $bridge" systemctl -q disable --now "$bridge"
check "stopping the bridge removes its device" wait_for 30 eval '! bridge_input >/dev/null'
kill -TERM "$standin"
wait "$standin"
systemctl stop "$unit"

# ---- the journal: no sandbox denials -----------------------------------------

# Both boots: the journal is persistent (/var/log/journal).
journalctl --no-pager -o short-monotonic -u "$unit" -u deepactifd.socket -u "$bridge" \
        >"$results/journal-units.txt" 2>&1
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
if DEBIAN_FRONTEND=noninteractive apt-get purge -y -q deepactifd libdeepactif0 deepactif-bridge >"$results/apt-purge.log" 2>&1; then
        ok "apt-get purge"
else
        cat "$results/apt-purge.log"
        bad "apt-get purge"
fi
for f in /lib/systemd/system/deepactifd.service /lib/systemd/system/deepactifd.socket \
        /lib/udev/rules.d/70-deepactif.rules /usr/share/dbus-1/system-services/io.deepactif.Daemon1.service \
        /lib/systemd/system/deepactif-bridge@.service /lib/udev/rules.d/60-deepactif-bridge.rules; do
        check "purge removed $f" test ! -e "$f"
done
check "purge removed the user deepactif" test -z "$(getent passwd deepactif)"
check "purge removed the group deepactif" test -z "$(getent group deepactif)"
check "purge removed /var/lib/deepactif" test ! -e /var/lib/deepactif
check "purge removed /run/deepactif" test ! -e /run/deepactif
check "systemd no longer knows deepactifd.socket" \
        test "$(systemctl show -p LoadState --value deepactifd.socket)" = not-found

finish
