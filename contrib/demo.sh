#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# The main job on a built tree: deepactifd replays the bundled Robust Vision
# recording through the bundled model on a private session bus with a private
# database, and deepactifctl shows the live DeepACTIF ranking as it changes.
#
#   contrib/demo.sh [BUILD_DIR] [SECONDS]
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-$top/build}
seconds=${2:-30}
ctl=$build/client/deepactifctl
daemon=$build/daemon/deepactifd
model=$top/contrib/models/foval-robustvision.safetensors
sample=$top/contrib/data/sample.tsv.gz

tmp=$(mktemp -d /tmp/deepactif-demo.XXXXXX)
daemon_pid= bus_pid=
cleanup() {
        [ -n "$daemon_pid" ] && kill "$daemon_pid" 2>/dev/null && wait "$daemon_pid" 2>/dev/null
        [ -n "$bus_pid" ] && kill "$bus_pid" 2>/dev/null
        rm -rf "$tmp"
}
trap cleanup EXIT

echo "== The bundled model"
"$ctl" model info "$model" | head -n 8
echo

# A private session bus and runtime directory: nothing on the system is touched.
mkdir -p "$tmp/run"
export XDG_RUNTIME_DIR=$tmp/run
bus_info=$(dbus-daemon --session --fork --nopidfile --print-address=1 --print-pid=1 \
        --address="unix:path=$tmp/bus")
export DBUS_SESSION_BUS_ADDRESS=$(sed -n 1p <<<"$bus_info")
bus_pid=$(sed -n 2p <<<"$bus_info")

echo "== deepactifd replaying $(basename "$sample") (Robust Vision P9, CC BY 4.0) at 4x recorded speed"
"$daemon" --user --replay "$sample" --speed 4 --loop --model "$model" \
        --database "$tmp/rankings.sqlite" 2>"$tmp/daemon.log" &
daemon_pid=$!
for _ in $(seq 100); do
        "$ctl" --user status >/dev/null 2>&1 && break
        kill -0 "$daemon_pid" 2>/dev/null || { cat "$tmp/daemon.log"; exit 1; }
        sleep 0.1
done
"$ctl" --user status
echo

echo "== Live ranking (deepactifctl --user watch), ${seconds} s"
timeout --foreground "$seconds" "$ctl" --user watch || true
echo

echo "== Top 10 now, and what the store holds"
"$ctl" --user top -k 10 || { tail -n 20 "$tmp/daemon.log"; exit 1; }
"$ctl" --user history | tail -n 5
