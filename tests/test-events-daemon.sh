#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Events end to end with real parts: a Robust Vision recording (P7) with the
# left eye's direction frozen for a stretch (by awk, from the recording
# itself), replayed by the real deepactifd on a private dbus-daemon, the
# real deepactifctl watching the Event signal, and the daemon started again
# on the same database: the events survive the restart, and
# `deepactifctl events --json` (from the store) equals what the signal
# carried. The sqlite3 CLI counts the rows independently. Then the same
# recording with noise on one channel and with one eye's calibration
# drifting, replayed at maximum speed: the daemon stores channel-noisy and
# channel-drift, naming the channels, and neither for the clean recording.
# Exit 77 names what is missing.
set -eu

srcdir=${top_srcdir:-$(cd "$(dirname "$0")/.." && pwd)}
builddir=${top_builddir:-$(pwd)}
daemon=$builddir/daemon/deepactifd
ctl=$builddir/client/deepactifctl
model=$srcdir/contrib/models/foval-robustvision.safetensors
rec=$srcdir/contrib/data/robustvision/P7.tsv.gz

for tool in dbus-daemon sqlite3 gzip awk; do
        command -v $tool >/dev/null || { echo "SKIP: $tool is not installed"; exit 77; }
done

work=$(mktemp -d "${TMPDIR:-/tmp}/test-events-daemon.XXXXXX")
pids=()
cleanup() {
        for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
        wait 2>/dev/null || true
        rm -rf "$work"
}
trap cleanup EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }
check() { echo "- $*"; }

# ---- the fault: sample rows 800..1400 of 2079 hold the left eye's direction
# (columns 15-17) at its value in row 800 ----
gzip -dc "$rec" | awk -F'\t' -v OFS='\t' '
        NR > 1 && $2 == " sample" { n++ }
        n == 800 && !held { x = $15; y = $16; z = $17; held = 1 }
        n >= 800 && n < 1400 && $2 == " sample" { $15 = x; $16 = y; $17 = z }
        { print }' > "$work/P7-frozen.tsv"
[ "$(gzip -dc "$rec" | wc -l)" = "$(wc -l < "$work/P7-frozen.tsv")" ] || fail "awk changed the row count"

# ---- a private bus ----
cat > "$work/bus.conf" <<CONF
<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-BUS Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>session</type>
  <listen>unix:path=$work/bus</listen>
  <auth>EXTERNAL</auth>
  <policy context="default">
    <allow user="*"/>
    <allow own="*"/>
    <allow send_type="method_call"/>
    <allow send_type="signal"/>
    <allow send_requested_reply="true" send_type="method_return"/>
    <allow send_requested_reply="true" send_type="error"/>
    <allow receive_type="method_call"/>
    <allow receive_type="method_return"/>
    <allow receive_type="error"/>
    <allow receive_type="signal"/>
  </policy>
</busconfig>
CONF
dbus-daemon --config-file="$work/bus.conf" --nofork --nopidfile 2>"$work/dbus.log" &
pids+=($!)
for _ in $(seq 100); do [ -S "$work/bus" ] && break; sleep 0.05; done
[ -S "$work/bus" ] || fail "dbus-daemon did not start: $(cat "$work/dbus.log")"
export DBUS_SESSION_BUS_ADDRESS=unix:path=$work/bus

printf '[Daemon]\nDiscover=no\n' > "$work/deepactifd.conf"
run_daemon() {
        "$daemon" --user --model "$model" --database "$work/db.sqlite" --config "$work/deepactifd.conf" \
                --varlink "$work/vl" "$@" 2>>"$work/daemon.log" &
        daemon_pid=$!
        pids+=($daemon_pid)
        for _ in $(seq 200); do "$ctl" status --user >/dev/null 2>&1 && return 0; sleep 0.05; done
        fail "daemon not reachable: $(cat "$work/daemon.log")"
}

# ---- the replay, watched: P7 runs 38 s of stream time, 4x is ~10 s ----
check "replaying P7 with a frozen stretch, watching Event"
run_daemon --replay "$work/P7-frozen.tsv" --speed 4
"$ctl" watch --user --events --json > "$work/watch.out" 2>"$work/watch.err" &
watch_pid=$!
pids+=($watch_pid)
wait "$daemon_pid" || fail "the replaying daemon failed: $(cat "$work/daemon.log")"
sleep 0.2
kill "$watch_pid" 2>/dev/null || true
grep '"kind"' "$work/watch.out" > "$work/signalled" || fail "no Event signal seen: $(cat "$work/watch.err")"
grep -q '"kind":"channel-frozen","channel":"eye.left.direction.y"' "$work/signalled" ||
        fail "no channel-frozen for eye.left.direction.y: $(cat "$work/signalled")"
grep -q '"kind":"channel-recovered","channel":"eye.left.direction.y"' "$work/signalled" ||
        fail "no channel-recovered for eye.left.direction.y: $(cat "$work/signalled")"

# ---- the store after a restart ----
check "events survive a restart and equal what the signal carried"
rows=$(sqlite3 "file:$work/db.sqlite?mode=ro" "SELECT count(*) FROM events")
[ "$rows" = "$(wc -l < "$work/signalled")" ] ||
        fail "the store holds $rows events, the signal carried $(wc -l < "$work/signalled")"
run_daemon --no-varlink
"$ctl" events --user --json > "$work/events.json" || fail "deepactifctl events --json"
sed 's/^\[//; s/\]$//; s/},{"time"/}\n{"time"/g' "$work/events.json" > "$work/stored"
diff -u "$work/signalled" "$work/stored" || fail "events --json differs from the Event signals"

check "events --device filters, and refuses an unknown device"
"$ctl" events --user --device "replay:P7-frozen.tsv" --since 0 --json | grep -q channel-frozen ||
        fail "events --device finds nothing"
"$ctl" events --user --device nonexistent 2>/dev/null && fail "events --device nonexistent succeeded"
# ---- noise and drift: from sample 1040 of 2079 (19 s) to the end, on the
# left eye's direction x (column 15); timestamps (column 1) are ms ----
check "noise and a one-eye drift raise channel-noisy and channel-drift, the clean recording neither"
gzip -dc "$rec" | awk -F'\t' -v OFS='\t' 'BEGIN { srand(7) }
        NR > 1 && $2 == " sample" && ++n >= 1040 {
                # Box-Muller: Gaussian noise, sd 0.1
                $15 = $15 + 0.1 * sqrt(-2 * log(1 - rand())) * cos(6.283185307 * rand())
        }
        { print }' > "$work/P7-noisy.tsv"
gzip -dc "$rec" | awk -F'\t' -v OFS='\t' '
        NR > 1 && $2 == " sample" && ++n >= 1040 {
                if (!t0) t0 = $1
                $15 = $15 + 0.05 * ($1 - t0) / 1000
        }
        { print }' > "$work/P7-drift.tsv"
gzip -dc "$rec" > "$work/P7.tsv"
for r in noisy drift clean; do
        f=$work/P7-$r.tsv
        [ $r = clean ] && f=$work/P7.tsv
        "$daemon" --model "$model" --database "$work/$r.sqlite" --config "$work/deepactifd.conf" --replay "$f" \
                --speed max --no-bus --no-varlink 2>>"$work/daemon.log" || fail "replaying $r: $(cat "$work/daemon.log")"
        sqlite3 "file:$work/$r.sqlite?mode=ro" \
                "SELECT kind || '|' || channel FROM events WHERE kind IN ('channel-noisy', 'channel-drift')" > "$work/$r.kinds"
done
grep -qx 'channel-noisy|eye.left.direction.x' "$work/noisy.kinds" ||
        fail "no channel-noisy for eye.left.direction.x: $(cat "$work/noisy.kinds")"
grep -qx 'channel-drift|eye.left.direction.x, eye.right.direction.x' "$work/drift.kinds" ||
        fail "no channel-drift for the eyes' direction x: $(cat "$work/drift.kinds")"
[ ! -s "$work/clean.kinds" ] || fail "the clean recording raised $(cat "$work/clean.kinds")"

echo "PASS: events reach the signal, the store, and deepactifctl events alike, across a restart; noise and drift are named"
