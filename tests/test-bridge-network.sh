#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# deepactif-bridge against the network side going wrong, with the test-owned
# Pupil Capture stand-in (tests/pupil-standin, real ZeroMQ and msgpack on
# 127.0.0.1, replaying Robust Vision P14's first 198 samples from
# tests/fixtures/robustvision, CC BY 4.0, Hosp et al.):
#  1. malformed messages (not msgpack, a 2^32-element array header, not a
#     map, NaN, wrong lengths and types, missing keys, a monocular topic),
#     each kind sent twice: no crash, one log line per kind, every good
#     frame after them still written;
#  2. data below --min-confidence dropped and counted, data at or above
#     it written;
#  3. Pupil Capture not running yet, then stopped and started again: one log
#     line per outage, reconnection with backoff, the same device (one evemu
#     description) throughout, every frame of both runs written, times
#     never going back.
set -eu

srcdir=${top_srcdir:-$(cd "$(dirname "$0")/.." && pwd)}
builddir=${top_builddir:-$(pwd)}
bridge=$builddir/bridge/deepactif-bridge
standin=$builddir/tests/pupil-standin
rec=$srcdir/tests/fixtures/robustvision/P14-head.tsv
# the distinct samples: the stand-in, like a live tracker, repeats none
samples=$("$standin" --recording "$rec" --count)

work=$(mktemp -d "${TMPDIR:-/tmp}/test-bridge-network.XXXXXX")
pids=()
cleanup() {
        for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
        wait 2>/dev/null || true
        rm -rf "$work"
}
trap cleanup EXIT
fail() { echo "FAIL: $*" >&2; for f in "$work"/*.log; do echo "== $f" >&2; cat "$f" >&2; done; exit 1; }
check() { echo "- $*"; }
wait_for() {    # SECONDS COMMAND...: polls until the command succeeds
        local n=$(( $1 * 20 )); shift
        for _ in $(seq "$n"); do "$@" && return 0; sleep 0.05; done
        return 1
}
frames() { grep -c '^E: .* 0000 0000 0000' "$1" 2>/dev/null || true; }
has_frames() { [ "$(frames "$1")" -eq "$2" ]; }
start_standin() {       # OUT [ARGS]
        local out=$1; shift
        "$standin" --recording "$rec" "$@" > "$out" &
        pids+=($!)
        wait_for 10 test -s "$out" || fail "the stand-in did not bind"
}

check "malformed messages: one line per kind, no crash, good frames kept"
start_standin "$work/standin1.out" --malformed
port=$(head -n1 "$work/standin1.out")
"$bridge" --pupil "tcp://127.0.0.1:$port" --evemu "$work/bad.evemu" --frames "$samples" 2> "$work/bad.log" ||
        fail "the bridge exited with $? on malformed input"
[ "$(frames "$work/bad.evemu")" -eq "$samples" ] || fail "$(frames "$work/bad.evemu") of $samples frames written"
for kind in "not msgpack" "not a map" "not finite" "wrong length" "wrong type" "missing key" "monocular"; do
        n=$(grep -c "Dropping malformed gaze message.*further '$kind' messages" "$work/bad.log" || true)
        [ "$n" -eq 1 ] || fail "'$kind' logged $n times, not once"
done
n=$(grep -c "Dropping malformed" "$work/bad.log" || true)
[ "$n" -eq 7 ] || fail "$n malformed-message lines, 7 kinds were sent"
grep -q "no 'eye_centers_3d'" "$work/bad.log" || fail "the missing key is not named"
grep -q "16 malformed messages dropped" "$work/bad.log" || fail "the malformed messages were not all counted"
kill "${pids[-1]}"

check "--min-confidence: data below it dropped and counted, the rest written"
start_standin "$work/standin-low.out" --confidence 0.5
port=$(head -n1 "$work/standin-low.out")
low_standin=${pids[-1]}
"$bridge" --pupil "tcp://127.0.0.1:$port" --evemu "$work/low.evemu" --min-confidence 0.6 --stats \
        > "$work/low.stats" 2> "$work/low.log" &
low_pid=$!
wait_for 20 grep -q "^sent $samples\$" "$work/standin-low.out" || fail "the stand-in did not send"
wait_for 20 grep -q "Connected to Pupil Capture" "$work/low.log" || fail "the bridge did not connect"
sleep 0.5                               # the last messages in flight
kill "$low_pid"; wait "$low_pid" || fail "the bridge did not exit 0 on SIGTERM"
kill "$low_standin"
grep -qx "low_confidence $samples" "$work/low.stats" || fail "not every datum below 0.6 was counted: $(cat "$work/low.stats")"
grep -qx "frames_written 0" "$work/low.stats" || fail "data below --min-confidence were written"
start_standin "$work/standin-ok.out" --confidence 0.5
port=$(head -n1 "$work/standin-ok.out")
"$bridge" --pupil "tcp://127.0.0.1:$port" --evemu "$work/ok.evemu" --min-confidence 0.5 --frames "$samples" \
        2> "$work/ok.log" || fail "the bridge exited with $? at --min-confidence 0.5"
[ "$(frames "$work/ok.evemu")" -eq "$samples" ] || fail "data at --min-confidence were dropped"
kill "${pids[-1]}"

check "Pupil Capture not running yet, restarted: reconnects, keeps the device"
start_standin "$work/probe.out"
port=$(head -n1 "$work/probe.out")
kill "${pids[-1]}"                      # a free port, closed again
wait "${pids[-1]}" 2>/dev/null || true
"$bridge" --pupil "tcp://127.0.0.1:$port" --evemu "$work/restart.evemu" --frames $((2 * samples)) \
        --idle-timeout 0.3 2> "$work/restart.log" &
bridge_pid=$!
pids+=($bridge_pid)
wait_for 10 grep -q "Cannot reach Pupil Remote" "$work/restart.log" || fail "no line saying Pupil is unreachable"
sleep 1         # a few retries with backoff
start_standin "$work/standin2.out" --port "$port"
wait_for 20 has_frames "$work/restart.evemu" "$samples" || fail "the first run's frames did not arrive"
kill "${pids[-1]}"
wait_for 20 grep -q "stopped answering\|Lost Pupil Capture" "$work/restart.log" || fail "the outage was not noticed"
sleep 1
start_standin "$work/standin3.out" --port "$port"
wait "$bridge_pid" || fail "the bridge exited with $?"
[ "$(frames "$work/restart.evemu")" -eq $((2 * samples)) ] ||
        fail "$(frames "$work/restart.evemu") frames, $((2 * samples)) were sent"
[ "$(grep -c '^# EVEMU' "$work/restart.evemu")" -eq 1 ] || fail "the device was described more than once"
n=$(grep -c "Cannot reach Pupil Remote" "$work/restart.log" || true)
[ "$n" -le 2 ] || fail "$n lines for two outages"
[ "$(grep -c "Connected to Pupil Capture" "$work/restart.log")" -eq 2 ] || fail "not connected twice"
awk '/^E: /{ t = $2 + 0; if (t < last) { print "time goes back at " NR; exit 1 } last = t }' "$work/restart.evemu" ||
        fail "event times go back"
check "Pupil Capture restarted at once: the bridge notices gaze moved to a new port"
start_standin "$work/quick1.out"
port=$(head -n1 "$work/quick1.out")
quick1=${pids[-1]}
"$bridge" --pupil "tcp://127.0.0.1:$port" --evemu "$work/quick.evemu" --frames $((2 * samples)) \
        --idle-timeout 0.3 2> "$work/quick.log" &
bridge_pid=$!
pids+=($bridge_pid)
wait_for 20 has_frames "$work/quick.evemu" "$samples" || fail "the first run's frames did not arrive"
kill "$quick1"
wait "$quick1" 2>/dev/null || true
start_standin "$work/quick2.out" --port "$port"    # no pause: Remote answers again at once
wait_for 30 has_frames "$work/quick.evemu" $((2 * samples)) ||
        fail "no gaze after the quick restart: $(tail -n 3 "$work/quick.log")"
wait "$bridge_pid" || fail "the bridge exited with $?"
grep -q "Lost Pupil Capture.*restarted" "$work/quick.log" || fail "the restart was not logged"
echo "PASS: deepactif-bridge survives malformed messages and Pupil Capture restarts"
