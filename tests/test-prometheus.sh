#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Prometheus metrics end to end with real parts: the real deepactifd
# replaying a recording writes MetricsFile=; promtool checks that file and
# `deepactifctl metrics`; Debian's prometheus-node-exporter serves the file
# through its textfile collector on a loopback port, a real prometheus
# scrapes it, and its HTTP API on 127.0.0.1 returns the device's frame
# counter. Exit 77 names the packages that are missing.
set -eu

srcdir=${top_srcdir:-$(cd "$(dirname "$0")/.." && pwd)}
builddir=${top_builddir:-$(pwd)}
daemon=$builddir/daemon/deepactifd
ctl=$builddir/client/deepactifctl
rec=$srcdir/tests/fixtures/robustvision/P14-head.tsv
model=$srcdir/contrib/models/foval-robustvision.safetensors

missing=()
command -v promtool >/dev/null && command -v prometheus >/dev/null || missing+=(prometheus)
command -v prometheus-node-exporter >/dev/null || missing+=(prometheus-node-exporter)
command -v curl >/dev/null || missing+=(curl)
command -v python3 >/dev/null || missing+=(python3)
if [ ${#missing[@]} -gt 0 ]; then
        echo "SKIP: install ${missing[*]} (apt-get install ${missing[*]})"
        exit 77
fi

work=$(mktemp -d "${TMPDIR:-/tmp}/test-prometheus.XXXXXX")
pids=()
cleanup() {
        for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
        wait 2>/dev/null || true
        rm -rf "$work"
}
trap cleanup EXIT
fail() {
        echo "FAIL: $*" >&2
        for f in "$work"/*.log; do [ -f "$f" ] && { echo "== $f"; tail -20 "$f"; }; done >&2
        exit 1
}
check() { echo "- $*"; }
# A free TCP port on 127.0.0.1 (the kernel's pick, released right away).
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
# Waits up to $1 tenths of a second for the command after it to succeed.
wait_for() {
        local n=$1
        shift
        for _ in $(seq "$n"); do "$@" && return 0; sleep 0.1; done
        return 1
}

# ---- the daemon writes the file, the client prints the same text ----
mkdir "$work/textfile"
prom=$work/textfile/deepactif.prom
# Precision= converts the float32 model at load time; the info gauge says so.
printf '[Daemon]\nRankingInterval=200ms\nFlushInterval=300ms\nPrecision=bf16\nMetricsFile=%s\n' "$prom" \
        > "$work/deepactifd.conf"
"$daemon" --no-bus --replay "$rec" --loop --model "$model" --database "$work/db.sqlite" \
        --config "$work/deepactifd.conf" --varlink "$work/vl" 2>"$work/daemon.log" &
pids+=($!)
has_snapshot() { grep -q '^deepactif_device_feature_score{' "$prom" 2>/dev/null; }
wait_for 300 has_snapshot || fail "no metrics with a ranking in $prom"

check "promtool check metrics accepts MetricsFile="
promtool check metrics < "$prom" > "$work/promtool.log" 2>&1 || fail "promtool: $(cat "$work/promtool.log")"

check "MetricsFile= holds each documented family"
for name in deepactif_device_frames_total deepactif_device_frames_dropped_total deepactif_device_frame_rate_hertz \
            deepactif_device_prediction deepactif_device_snapshot_age_seconds deepactif_device_info \
            deepactif_device_feature_score deepactif_device_feature_rank deepactif_store_size_bytes \
            deepactif_store_flush_failures_total deepactif_varlink_clients deepactif_device_warming_up \
            deepactif_device_warmup_frames_remaining; do
        grep -q "^# TYPE $name " "$prom" || fail "$name is missing from $prom"
done
grep -q '^deepactif_device_info{device="replay:P14-head.tsv",.*precision="bf16"} 1$' "$prom" \
        || fail "no device_info naming the device and precision: $(grep device_info "$prom")"
# the ten best features (METRICS_TOP_FEATURES), or all when the model has fewer
n_features=$("$ctl" model info --json "$model" | grep -oE '"input_size":[0-9]+' | grep -oE '[0-9]+$')
top=$(( n_features < 10 ? n_features : 10 ))
[ "$(grep -c '^deepactif_device_feature_score{' "$prom")" = "$top" ] || fail "not $top top features"
# The default model scales per user: a device with a ranking has finished
# its warm-up, and the file says so.
grep -q '^deepactif_device_warming_up{device="replay:P14-head.tsv"} 0$' "$prom" \
        || fail "a ranked device still shown warming up: $(grep warm "$prom")"
grep -q '^deepactif_device_warmup_frames_remaining{device="replay:P14-head.tsv"} 0$' "$prom" \
        || fail "a ranked device still needs frames: $(grep warm "$prom")"
# Only the file itself: temporary files are renamed over it, never left.
[ "$(ls "$work/textfile")" = deepactif.prom ] || fail "stray files next to MetricsFile=: $(ls "$work/textfile")"

check "a device replayed at a tenth of real time is shown warming up at the first flush"
# At ×0.1 the first flush (300 ms) comes after at most ~11 of P14's rows,
# far short of the model's warm-up of 100 valid frames.
mkdir "$work/slow"
printf '[Daemon]\nFlushInterval=300ms\nMetricsFile=%s\n' "$work/slow/deepactif.prom" > "$work/slow.conf"
"$daemon" --no-bus --no-varlink --replay "$rec" --speed 0.1 --model "$model" --database "$work/slow.sqlite" \
        --config "$work/slow.conf" 2>"$work/slow-daemon.log" &
slow_pid=$!
pids+=($slow_pid)
has_device() { grep -q '^deepactif_device_warming_up{' "$work/slow/deepactif.prom" 2>/dev/null; }
wait_for 300 has_device || fail "the slow daemon wrote no per-device metrics"
grep -q '^deepactif_device_warming_up{device="replay:P14-head.tsv"} 1$' "$work/slow/deepactif.prom" \
        || fail "a device in its warm-up is not shown warming up: $(grep warm "$work/slow/deepactif.prom")"
remaining=$(sed -n 's/^deepactif_device_warmup_frames_remaining{device="replay:P14-head.tsv"} //p' "$work/slow/deepactif.prom")
[ -n "$remaining" ] && [ "$remaining" -gt 0 ] && [ "$remaining" -le 100 ] \
        || fail "warm-up frames remaining '$remaining' is not in 1..100"
kill "$slow_pid"

check "deepactifctl metrics passes promtool and has the file's families"
"$ctl" --varlink "$work/vl" metrics > "$work/ctl.prom" || fail "deepactifctl metrics failed"
promtool check metrics < "$work/ctl.prom" > "$work/promtool.log" 2>&1 || fail "promtool: $(cat "$work/promtool.log")"
diff <(grep '^# ' "$prom") <(grep '^# ' "$work/ctl.prom") || fail "the client's text differs from the file's"

# ---- node-exporter's textfile collector and a prometheus scraping it ----
ne_port=$(free_port)
prometheus-node-exporter --web.listen-address="127.0.0.1:$ne_port" --collector.disable-defaults \
        --collector.textfile --collector.textfile.directory="$work/textfile" 2>"$work/node-exporter.log" &
pids+=($!)
ne_serves() { curl -sf "http://127.0.0.1:$ne_port/metrics" 2>/dev/null | grep -q '^deepactif_device_frames_total{'; }
wait_for 200 ne_serves || fail "node-exporter does not serve deepactif_device_frames_total"
check "node-exporter serves the textfile"

p_port=$(free_port)
cat > "$work/prometheus.yml" <<EOF
global:
  scrape_interval: 1s
scrape_configs:
  - job_name: node
    static_configs:
      - targets: ['127.0.0.1:$ne_port']
EOF
prometheus --config.file="$work/prometheus.yml" --storage.tsdb.path="$work/tsdb" \
        --web.listen-address="127.0.0.1:$p_port" 2>"$work/prometheus.log" &
pids+=($!)
query() {
        curl -sf "http://127.0.0.1:$p_port/api/v1/query" \
                --data-urlencode 'query=deepactif_device_frames_total{device="replay:P14-head.tsv"}' > "$work/query.json" 2>/dev/null &&
                python3 - "$work/query.json" <<'EOF'
import json, sys
r = json.load(open(sys.argv[1]))
res = r["data"]["result"]
sys.exit(0 if r["status"] == "success" and res and float(res[0]["value"][1]) > 0 else 1)
EOF
}
wait_for 600 query || fail "prometheus returned no deepactif_device_frames_total: $(cat "$work/query.json" 2>/dev/null)"
check "prometheus's HTTP API returns the device's frame counter: $(cat "$work/query.json")"

check "every query of contrib/grafana-deepactif.json runs and returns series"
python3 - "$srcdir/contrib/grafana-deepactif.json" "$p_port" <<'EOF' || fail "the Grafana dashboard's queries"
import json, sys, time, urllib.parse, urllib.request
dash = json.load(open(sys.argv[1]))
for panel in dash["panels"]:
    for t in panel["targets"]:
        expr = t["expr"].replace("$instance", ".*").replace("$device", ".*")
        url = "http://127.0.0.1:%s/api/v1/query?%s" % (sys.argv[2], urllib.parse.urlencode({"query": expr}))
        # rate() needs two scrapes of the series: retry for a few seconds
        for _ in range(50):
            r = json.load(urllib.request.urlopen(url))
            if r["status"] == "success" and r["data"]["result"]:
                break
            time.sleep(0.2)
        else:
            sys.exit("panel '%s': %s gives %s" % (panel["title"], expr, r))
EOF
echo "PASS: metrics are valid and reach Prometheus through node-exporter"
