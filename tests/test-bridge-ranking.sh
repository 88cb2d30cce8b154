#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# deepactif-bridge end to end without hardware: the test-owned Pupil Capture
# stand-in (tests/pupil-standin: real ZeroMQ REQ/REP and PUB/SUB on
# 127.0.0.1, real msgpack) replays the first 198 samples of Robust Vision
# participant P14 (tests/fixtures/robustvision/P14-head.tsv, CC BY 4.0,
# Hosp et al.; see that directory's README) converted into Pupil's binocular
# gaze schema; the bridge writes what it receives as an evemu recording; the
# real deepactifd replays that recording and the source recording, and both
# stored rankings must agree: same windows and ranks, scores equal to float
# rounding (the evdev axes quantise at 0.1 µm and 1e-8).
set -eu

srcdir=${top_srcdir:-$(cd "$(dirname "$0")/.." && pwd)}
builddir=${top_builddir:-$(pwd)}
daemon=$builddir/daemon/deepactifd
bridge=$builddir/bridge/deepactif-bridge
standin=$builddir/tests/pupil-standin
mkmodel=$builddir/tests/make-test-model
rec=$srcdir/tests/fixtures/robustvision/P14-head.tsv

command -v sqlite3 >/dev/null || { echo "SKIP: sqlite3 is not installed"; exit 77; }

work=$(mktemp -d "${TMPDIR:-/tmp}/test-bridge-ranking.XXXXXX")
pids=()
cleanup() {
        for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
        wait 2>/dev/null || true
        [ -n "${KEEP:-}" ] || rm -rf "$work"
}
trap cleanup EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }

"$mkmodel" "$work/model.safetensors" "$rec" "" 10 2 >/dev/null
printf '[Daemon]\nRollingWindows=40\nRankingInterval=1s\n' > "$work/deepactifd.conf"
replay() {      # RECORDING DB [ARGS]
        local r=$1 db=$2; shift 2
        "$daemon" --no-bus --no-varlink --replay "$r" --speed max --model "$work/model.safetensors" \
                --database "$db" --config "$work/deepactifd.conf" "$@" 2> "$db.log" || {
                cat "$db.log" >&2; fail "deepactifd could not replay $r"; }
}

# the distinct samples: the stand-in, like a live tracker, repeats none
samples=$("$standin" --recording "$rec" --count)
"$standin" --recording "$rec" > "$work/standin.out" &
pids+=($!)
for _ in $(seq 100); do [ -s "$work/standin.out" ] && break; sleep 0.05; done
port=$(head -n1 "$work/standin.out")
[ -n "$port" ] || fail "the stand-in did not bind"
"$bridge" --pupil "tcp://127.0.0.1:$port" --evemu "$work/gaze.evemu" --frames "$samples" --min-confidence 0.5 \
        2> "$work/bridge.log" || { cat "$work/bridge.log" >&2; fail "the bridge failed"; }
grep -q "^sent $samples\$" "$work/standin.out" || fail "the stand-in did not send $samples frames"
frames=$(grep -c '^E: .* 0000 0000 0000' "$work/gaze.evemu" || true)
[ "$frames" -eq "$samples" ] || fail "the evemu recording has $frames frames, $samples were sent"

replay "$rec" "$work/source.sqlite"
replay "$work/gaze.evemu" "$work/bridge.sqlite" --format evemu

last="(SELECT max(id) FROM snapshots)"
for db in source bridge; do
        sqlite3 -separator ' ' "$work/$db.sqlite" \
                "SELECT windows, frames_processed FROM snapshots WHERE id = $last" > "$work/$db.counts"
        sqlite3 -separator ' ' "$work/$db.sqlite" \
                "SELECT feature, rank, printf('%.9e', score) FROM scores WHERE snapshot_id = $last ORDER BY feature" \
                > "$work/$db.scores"
done
echo "source: $(cat "$work/source.counts") (windows, frames); bridge: $(cat "$work/bridge.counts")"
diff "$work/source.counts" "$work/bridge.counts" || fail "windows or frames differ"
[ "$(wc -l < "$work/source.scores")" -gt 1 ] || fail "no scores stored"
# Scores must agree to 1e-6 relative; ranks must agree wherever the
# source's scores differ by more than that (features with equal scores, such
# as those constant over this short excerpt, may come in any order).
paste -d' ' "$work/source.scores" "$work/bridge.scores" | awk '
        function abs(x) { return x < 0 ? -x : x }
        { f[NR] = $1; r[NR] = $2; s[NR] = $3; g[NR] = $4; q[NR] = $5; b[NR] = $6 }
        END {
                tol = 1e-5      # float32, and axes quantised at 1e-8 of a unit vector: velocities of
                                # distinct samples are small differences
                for (i = 1; i <= NR; i++) {
                        if (f[i] != g[i]) { print "features out of step"; bad = 1 }
                        d = abs(s[i] - b[i]) / (abs(s[i]) > 1e-9 ? abs(s[i]) : 1e-9)
                        if (d > worst) worst = d
                        if (d > tol) { printf "feature %s: score %s from the source, %s through the bridge\n", f[i], s[i], b[i]; bad = 1 }
                        for (j = 1; j <= NR; j++)
                                if (s[i] - s[j] > tol * abs(s[j]) && !(q[i] < q[j])) {
                                        printf "features %s and %s: source ranks %s before %s, the bridge %s and %s\n", f[i], f[j], r[i], r[j], q[i], q[j]; bad = 1 }
                }
                printf "%d features, largest relative score difference %.2e\n", NR, worst
                exit bad
        }' || fail "the rankings differ"
echo "PASS: the Pupil stream through deepactif-bridge ranks like the source recording"
