#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# deepactif-bridge's figures (a benchmark, not a test: it prints, it does not
# judge). The test-owned Pupil Capture stand-in (tests/pupil-standin) streams
# Robust Vision participant P14 (contrib/data/robustvision, CC BY 4.0, Hosp
# et al.) in Pupil's binocular gaze schema over real ZeroMQ on 127.0.0.1, and
# the bridge writes an evemu recording, flushing each frame:
#  1. at 200 Hz for LATENCY_SECONDS (30): the bridge's latency from a
#     message's arrival to its frame's last event written (p50, p99, max);
#  2. at 1000 Hz for LOSS_SECONDS (60): frames sent against frames in the
#     recording; the bridge's peak resident set size.
# Run from the build tree: make bench-bridge, or
#   top_srcdir=.. top_builddir=. ../tests/bench-bridge.sh
set -eu

srcdir=${top_srcdir:-$(cd "$(dirname "$0")/.." && pwd)}
builddir=${top_builddir:-$(pwd)}
bridge=$builddir/bridge/deepactif-bridge
standin=$builddir/tests/pupil-standin
rec=$srcdir/contrib/data/robustvision/P14.tsv.gz
latency_s=${LATENCY_SECONDS:-30}
loss_s=${LOSS_SECONDS:-60}

work=$(mktemp -d "${TMPDIR:-/tmp}/bench-bridge.XXXXXX")
pids=()
cleanup() {
        for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
        wait 2>/dev/null || true
        rm -rf "$work"
}
trap cleanup EXIT

run() {         # NAME RATE SECONDS: prints the bridge's --stats and the counts
        local name=$1 rate=$2 secs=$3 port sent written
        "$standin" --recording "$rec" --rate "$rate" --duration "$secs" > "$work/$name.standin" &
        pids+=($!)
        for _ in $(seq 100); do [ -s "$work/$name.standin" ] && break; sleep 0.05; done
        port=$(head -n1 "$work/$name.standin")
        "$bridge" --pupil "tcp://127.0.0.1:$port" --evemu "$work/$name.evemu" --min-confidence 0 --stats \
                > "$work/$name.stats" 2> "$work/$name.log" &
        local bridge_pid=$!
        until grep -q '^sent ' "$work/$name.standin"; do sleep 0.2; done
        sleep 1                         # the last messages in flight
        kill -TERM "$bridge_pid"
        wait "$bridge_pid" || true
        kill "${pids[-1]}" 2>/dev/null || true
        sent=$(sed -n 's/^sent //p' "$work/$name.standin")
        written=$(grep -c '^E: .* 0000 0000 0000' "$work/$name.evemu" || true)
        echo "== $name: ${rate} Hz for ${secs} s, $(nproc) CPUs, $(uname -r)"
        echo "frames_sent $sent"
        echo "frames_in_recording $written"
        echo "frames_lost $((sent - written))"
        cat "$work/$name.stats"
}

run latency 200 "$latency_s"
run loss 1000 "$loss_s"
