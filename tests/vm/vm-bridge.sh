#!/bin/busybox sh
# SPDX-License-Identifier: LGPL-2.1-or-later
# Runs inside the test VM after vm-test (vm-init.sh): deepactif-bridge makes
# a real uinput device from the Pupil Capture stand-in's stream (Robust Vision
# P14, CC BY 4.0, Hosp et al., in Pupil's schema over ZeroMQ on the guest's
# loopback), deepactifd finds its event node and ranks it; Pupil Capture
# restarting leaves the device in place; the bridge going away removes the
# device, and when it comes back the daemon takes it up again. No udev in
# the VM, so the node is listed in Devices=. Exit 0 on success.
set -u
dir=/tmp/bridge
mkdir -p "$dir"
varlink=$dir/varlink
ctl() { /vm/deepactifctl "$@" --varlink "$varlink" 2>/dev/null; }
say() { echo "vm-bridge: $*"; }
fail() {
        say "FAIL: $*"
        for f in "$dir"/*.log; do echo "--- $f"; tail -n 20 "$f"; done
        exit 1
}
# The bridge device's framesProcessed, empty when it is not listed (the
# daemon names a listed node's device evdev:NODE).
frames() { ctl devices --json | tr '{' '\n' | grep -F "\"evdev:$node\"" | grep -o '"framesProcessed":[0-9]*' |
           cut -d: -f2 | head -n1; }
wait_for() {    # TENTHS COMMAND...
        n=$1; shift
        while [ "$n" -gt 0 ]; do "$@" && return 0; sleep 0.1; n=$((n - 1)); done
        return 1
}
frames_above() { f=$(frames); [ -n "$f" ] && [ "$f" -gt "$1" ]; }
not_listed() { [ -z "$(frames)" ]; }
node_of() { sed -n 's/.*Created gaze device \(\/dev\/input\/event[0-9]*\).*/\1/p' "$1"; }

start_standin() {       # LOG [--port N]
        log=$1; shift
        /vm/pupil-standin --recording /vm/P14.tsv.gz --rate 100 --duration 3600 "$@" > "$log" 2>&1 &
        standin=$!
        wait_for 100 test -s "$log" || fail "the stand-in did not start"
}
start_bridge() {        # LOG
        /vm/deepactif-bridge --pupil "tcp://127.0.0.1:$port" --uinput --idle-timeout 0.5 > "$1" 2>&1 &
        bridge=$!
        wait_for 100 grep -q 'Created gaze device' "$1" || fail "the bridge made no uinput device"
}

ip link set lo up || ifconfig lo 127.0.0.1 up || fail "no loopback"
start_standin "$dir/standin1.log"
port=$(head -n1 "$dir/standin1.log")
start_bridge "$dir/bridge1.log"
node=$(node_of "$dir/bridge1.log")
say "bridge device $node, $(cat /sys/class/input/$(basename "$node")/device/name)"

printf '[Daemon]\nRankingInterval=250ms\nDevices=%s\n' "$node" > "$dir/deepactifd.conf"
/vm/deepactifd --config "$dir/deepactifd.conf" --model /vm/model.safetensors --database "$dir/db.sqlite" \
        --no-bus --varlink "$varlink" > "$dir/deepactifd.log" 2>&1 &
daemon=$!
wait_for 300 frames_above 200 || fail "deepactifd did not read 200 frames from $node"
say "deepactifd read $(frames) frames from the bridge's device"
ranking=$(ctl top -k 3 --device "evdev:$node")
[ -n "$ranking" ] || fail "no ranking for the bridge's device"
echo "$ranking" | sed 's/^/vm-bridge:   /'

# Pupil Capture restarts: the bridge reconnects, the device stays.
kill "$standin"; wait "$standin"
before=$(frames)
sleep 1
start_standin "$dir/standin2.log" --port "$port"
wait_for 200 grep -q 'Lost Pupil Capture\|stopped answering' "$dir/bridge1.log" || fail "the bridge missed the restart"
wait_for 300 frames_above $((before + 100)) || fail "no frames after Pupil Capture restarted"
[ "$(grep -c 'Connected to Pupil Capture' "$dir/bridge1.log")" -eq 2 ] || fail "the bridge did not reconnect once"
[ -e "$node" ] || fail "$node went away while Pupil Capture restarted"
say "Pupil Capture restarted: the device stayed, $(frames) frames"

# The bridge goes away (unplug) and comes back (replug).
kill "$bridge"; wait "$bridge"
wait_for 100 not_listed || fail "the device is still listed after the bridge exited"
say "bridge stopped: the device is gone"
start_bridge "$dir/bridge2.log"
[ "$(node_of "$dir/bridge2.log")" = "$node" ] || fail "the device came back as $(node_of "$dir/bridge2.log"), not $node"
wait_for 300 frames_above 100 || fail "deepactifd did not take the device up again"
say "bridge restarted: $(frames) frames on the new device"
kill -0 "$daemon" || fail "deepactifd died"
kill "$bridge" "$standin"
kill "$daemon"; wait "$daemon" || fail "deepactifd did not exit cleanly"
say "PASS"
