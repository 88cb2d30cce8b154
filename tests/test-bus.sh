#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# The D-Bus and varlink interfaces end to end with real parts: a private
# dbus-daemon, the real deepactifd replaying a recording in a loop, the real
# deepactifctl, busctl as an independent client, raw varlink messages, the
# sqlite3 CLI for what the store holds, the shipped bus policy for an
# unprivileged caller, and systemd-socket-activate. Exit 77 names what is
# missing.
set -eu

srcdir=${top_srcdir:-$(cd "$(dirname "$0")/.." && pwd)}
builddir=${top_builddir:-$(pwd)}
daemon=$builddir/daemon/deepactifd
ctl=$builddir/client/deepactifctl
send=$builddir/tests/varlink-send
mkmodel=$builddir/tests/make-test-model
rec=$srcdir/tests/fixtures/robustvision/P14-head.tsv

for tool in dbus-daemon busctl sqlite3; do
        command -v $tool >/dev/null || { echo "SKIP: $tool is not installed"; exit 77; }
done

work=$(mktemp -d "${TMPDIR:-/tmp}/test-bus.XXXXXX")
chmod 755 "$work"
pids=()
cleanup() {
        for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
        wait 2>/dev/null || true
        rm -rf "$work"
}
trap cleanup EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }
check() { echo "- $*"; }

# ---- the XML, the man page and the vtables agree ----
check "shipped XML equals --bus-introspect"
"$daemon" --bus-introspect > "$work/introspect.xml"
diff -u "$srcdir/units/io.deepactif.Daemon1.xml" "$work/introspect.xml" || fail "units/io.deepactif.Daemon1.xml is stale"
man=$srcdir/man/io.deepactif.Daemon1.5
members=$(grep -oE '<(method|property|signal) name="[A-Za-z]+"' "$work/introspect.xml" | sed 's/.*name="//; s/"//' | sort -u)
documented=$(grep -oE '^\\fB[A-Z][A-Za-z]*\\fR' "$man" | sed 's/^\\fB//; s/\\fR$//' | sort -u)
[ "$members" = "$documented" ] || fail "man page and vtable members differ: $(diff <(echo "$members") <(echo "$documented") | tr '\n' ' ')"

# ---- a private bus and the daemon on it ----
cat > "$work/bus.conf" <<CONF
<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-BUS Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>session</type>
  <listen>unix:path=$work/bus</listen>
  <auth>EXTERNAL</auth>
  <policy context="default">
    <allow user="*"/>
    <deny own="*"/>
    <deny send_type="method_call"/>
    <allow send_type="signal"/>
    <allow send_requested_reply="true" send_type="method_return"/>
    <allow send_requested_reply="true" send_type="error"/>
    <allow receive_type="method_call"/>
    <allow receive_type="method_return"/>
    <allow receive_type="error"/>
    <allow receive_type="signal"/>
    <allow send_destination="org.freedesktop.DBus" send_interface="org.freedesktop.DBus"/>
    <allow send_destination="org.freedesktop.DBus" send_interface="org.freedesktop.DBus.Introspectable"/>
    <allow send_destination="org.freedesktop.DBus" send_interface="org.freedesktop.DBus.Properties"/>
  </policy>
  <include>$srcdir/units/io.deepactif.Daemon1.conf</include>
</busconfig>
CONF
dbus-daemon --config-file="$work/bus.conf" --nofork --nopidfile 2>"$work/dbus.log" &
pids+=($!)
for _ in $(seq 100); do [ -S "$work/bus" ] && break; sleep 0.05; done
[ -S "$work/bus" ] || fail "dbus-daemon did not start: $(cat "$work/dbus.log")"
export DBUS_SESSION_BUS_ADDRESS=unix:path=$work/bus

"$mkmodel" "$work/model.safetensors" "$rec" "" 10 2 >/dev/null
printf '[Daemon]\nRankingInterval=200ms\nFlushInterval=300ms\n' > "$work/deepactifd.conf"
vl=$work/vl/io.deepactif.Daemon
"$daemon" --user --replay "$rec" --loop --model "$work/model.safetensors" --database "$work/db.sqlite" \
        --config "$work/deepactifd.conf" --varlink "$vl" 2>"$work/daemon.log" &
daemon_pid=$!
pids+=($daemon_pid)
for _ in $(seq 100); do "$ctl" status --user >/dev/null 2>&1 && break; sleep 0.1; done
"$ctl" status --user >/dev/null || fail "daemon not reachable: $(cat "$work/daemon.log")"
# Wait for a stored ranking.
for _ in $(seq 100); do "$ctl" top --user >/dev/null 2>&1 && break; sleep 0.1; done

# ---- every command, with and without --json, over both transports ----
for t in "--user" "--varlink $vl"; do
        for cmd in status devices top history "export --format csv" "export --format json"; do
                check "deepactifctl $cmd $t"
                $ctl $cmd $t > "$work/out" || fail "$cmd $t"
                [ -s "$work/out" ] || fail "$cmd $t printed nothing"
                [[ $cmd == export* ]] && continue
                $ctl $cmd $t --json > "$work/out.json" || fail "$cmd $t --json"
                head -c1 "$work/out.json" | grep -q '[{[]' || fail "$cmd $t --json is not JSON"
        done
        check "deepactifctl watch $t"
        timeout 20 $ctl watch $t -n 2 -k 3 --json > "$work/watch" || fail "watch $t"
        [ "$(wc -l < "$work/watch")" -eq 2 ] || fail "watch $t: expected 2 updates"
        grep -q '"rank":3' "$work/watch" || fail "watch $t: no third rank"
        ! grep -q '"rank":4' "$work/watch" || fail "watch $t: -k 3 not honoured"
        check "deepactifctl reload $t (root)"
        $ctl reload $t > /dev/null || fail "reload $t"
done
grep -q "State: running" <("$ctl" status --user) || fail "state is not running"

# ---- one exporter: both transports stream the daemon's store-export.c ----
check "export over D-Bus equals export over varlink"
# An export writes what is queued first; then both read the same snapshots.
$ctl export --user --format csv > /dev/null || fail "export over D-Bus"
until_us=$(sqlite3 "file:$work/db.sqlite?mode=ro" "SELECT max(time_us) FROM snapshots")
[ -n "$until_us" ] || fail "nothing stored after an export"
for f in csv json; do
        $ctl export --user --format $f --until "$until_us" > "$work/export-bus.$f" || fail "export $f over D-Bus"
        $ctl export --varlink "$vl" --format $f --until "$until_us" > "$work/export-vl.$f" || fail "export $f over varlink"
        cmp -s "$work/export-bus.$f" "$work/export-vl.$f" || fail "the $f exports of the two transports differ"
done
head -1 "$work/export-bus.csv" | grep -q '^time_us,device,source,model,model_identity,' || fail "CSV header: $(head -1 "$work/export-bus.csv")"
rows=$(sqlite3 "file:$work/db.sqlite?mode=ro" "SELECT count(*) FROM scores c JOIN snapshots s ON s.id = c.snapshot_id WHERE s.time_us <= $until_us")
[ "$(($(wc -l < "$work/export-bus.csv") - 1))" -eq "$rows" ] || fail "CSV export has not one line per stored score ($rows)"

# ---- the ranking shown is what the store keeps ----
# Answered from memory (no flush to serve a read); compared with the file
# once the daemon has flushed everything on SIGTERM, below.
check "top shows the newest snapshot"
$ctl top --user --json > "$work/top.json"
time_us=$(grep -oE '"time":[ ]*[0-9]+' "$work/top.json" | head -1 | grep -oE '[0-9]+$')
shown=$(grep -oE '"feature":[ ]*"[^"]*"' "$work/top.json" | sed 's/.*"\([^"]*\)"$/\1/' | head -5)
[ -n "$time_us" ] && [ -n "$shown" ] || fail "top --json shows no ranking"

# ---- busctl as an independent client ----
check "busctl introspect and call"
busctl --user introspect io.deepactif.Daemon1 /io/deepactif/Daemon1 | grep -q GetRanking || fail "busctl introspect"
busctl --user get-property io.deepactif.Daemon1 /io/deepactif/Daemon1 io.deepactif.Daemon1.Manager APIVersion |
        grep -qx 'u 1' || fail "APIVersion"
out=$(busctl --user call io.deepactif.Daemon1 /io/deepactif/Daemon1 io.deepactif.Daemon1.Manager GetRanking ssu "" "" 2)
echo "$out" | grep -q '^ssssstua(sud) "replay:P14-head.tsv"' || fail "busctl GetRanking: $out"
busctl --user call io.deepactif.Daemon1 /io/deepactif/Daemon1 io.deepactif.Daemon1.Manager GetRanking ssu nope "" 1 \
        2>&1 | grep -q "No device 'nope'" || fail "NoSuchDevice"

# ---- raw varlink ----
check "varlink: description, malformed, oversized, unknown, hang-up mid-stream"
"$send" "$vl" 1 '{"method":"org.varlink.service.GetInterfaceDescription","parameters":{"interface":"io.deepactif.Daemon"}}' \
        > "$work/desc" || fail "GetInterfaceDescription"
grep -q 'interface io.deepactif.Daemon' "$work/desc" || fail "no interface description"
# The man page quotes the served description verbatim (as a JSON string here).
quoted=$(sed -n '/^\.\\" varlink-begin/,/^\.\\" varlink-end/p' "$man" | sed '1d;$d' |
        sed 's/\\e/\\/g; s/"/\\"/g' | awk '{ printf "%s\\n", $0 }')
grep -qF "\"description\":\"$quoted\"" "$work/desc" || fail "man page and served varlink description differ"
"$send" "$vl" 2 '{"method":' | tr '\n' ' ' | grep -q 'ProtocolError.*EOF' || fail "malformed JSON"
"$send" "$vl" 2 @70000 | tr '\n' ' ' | grep -q 'size limit.*EOF' || fail "oversized message"
out=$("$send" "$vl" 2 '{"method":"io.deepactif.Daemon.Nope"}' '{"method":"io.deepactif.Daemon.GetStatus"}')
echo "$out" | head -1 | grep -q MethodNotFound || fail "unknown method: $out"
echo "$out" | tail -1 | grep -q '"state":"running"' || fail "connection unusable after MethodNotFound"
"$send" "$vl" 1 '{"method":"io.deepactif.Daemon.Watch","more":true}' | grep -q '"continues":true' || fail "Watch"
kill -0 $daemon_pid || fail "daemon died after a client hung up mid-stream"
"$send" "$vl" 1 '{"method":"io.deepactif.Daemon.GetStatus"}' | grep -q running || fail "daemon unusable after hang-up"

# ---- an unprivileged caller under the shipped policy ----
if command -v setpriv >/dev/null && [ "$(id -u)" -eq 0 ]; then
        check "nobody is refused Reload, ResetUser and reading"
        # The build tree need not be open to nobody (dpkg-buildpackage as root
        # under a 0700 directory): run a copy from the work directory.
        mkdir -m 755 "$work/nobody"
        if [ -x "$builddir/client/.libs/deepactifctl" ]; then
                cp "$builddir/client/.libs/deepactifctl" "$builddir"/lib/.libs/libdeepactif.so.* "$work/nobody/"
        else
                cp "$ctl" "$work/nobody/"
        fi
        chmod -R a+rX "$work/nobody"
        as_nobody() { setpriv --reuid=65534 --regid=65534 --clear-groups env LD_LIBRARY_PATH="$work/nobody" "$@"; }
        as_nobody "$work/nobody/deepactifctl" --version >/dev/null 2>&1 ||
                fail "nobody cannot run the copy in $work/nobody (is ${TMPDIR:-/tmp} open to others?)"
        out=$(as_nobody "$work/nobody/deepactifctl" reload --user 2>&1) && fail "nobody reloaded"
        echo "$out" | grep -q "permission denied" || fail "reload refusal unclear: $out"
        out=$(as_nobody "$work/nobody/deepactifctl" reset-user --user --device any 2>&1) && fail "nobody reset a user"
        echo "$out" | grep -q "permission denied" || fail "reset-user refusal unclear: $out"
        out=$(as_nobody "$work/nobody/deepactifctl" top --user 2>&1) && fail "nobody read rankings"
        echo "$out" | grep -q "group 'deepactif'" || fail "read refusal unclear: $out"
else
        echo "  (skipped: needs root and setpriv to act as nobody)"
fi

# ---- no daemon: the failure names the fix ----
kill $daemon_pid; wait $daemon_pid || true
check "top equals the snapshot stored"
# The store's own tables, read by the sqlite3 CLI, not through the daemon.
stored=$(sqlite3 "file:$work/db.sqlite?mode=ro" "
        SELECT f.name FROM snapshots s JOIN scores c ON c.snapshot_id = s.id
        JOIN session_features f ON f.session_id = s.session_id AND f.feature = c.feature
        WHERE s.time_us = $time_us ORDER BY c.rank LIMIT 5" 2>"$work/sql.err") ||
        fail "sqlite3: $(cat "$work/sql.err")"
[ "$shown" = "$stored" ] || fail "top shows '$shown', the store holds '$stored'"
out=$("$ctl" status --user 2>&1) && fail "status without daemon succeeded"
echo "$out" | grep -q "not running.*deepactifd --user" || fail "unclear: $out"
# a missing argument is named before any connection is tried
out=$("$ctl" reset-user --user 2>&1) && fail "reset-user without --device and daemon succeeded"
echo "$out" | grep -q -- "needs --device" || fail "reset-user without --device, no daemon: unclear: $out"

# ---- a ranking query is answered from memory and writes nothing ----
check "GetRanking reads the live snapshot without a flush"
printf '[Daemon]\nRankingInterval=200ms\nFlushInterval=1h\n' > "$work/hourly.conf"
vl3=$work/vl3.sock
"$daemon" --no-bus --replay "$rec" --loop --model "$work/model.safetensors" --database "$work/db3.sqlite" \
        --config "$work/hourly.conf" --varlink "$vl3" 2>"$work/daemon3.log" &
daemon3=$!
pids+=($daemon3)
out=
for _ in $(seq 100); do
        out=$("$send" "$vl3" 1 '{"method":"io.deepactif.Daemon.GetRanking"}' 2>/dev/null) || true
        echo "$out" | grep -q '"scores"' && break
        sleep 0.1
done
echo "$out" | grep -q '"scores"' || fail "no live ranking over varlink: $out $(cat "$work/daemon3.log")"
rows=$(sqlite3 "file:$work/db3.sqlite?mode=ro" "SELECT count(*) FROM snapshots" 2>&1)
[ "$rows" = 0 ] || fail "answering GetRanking wrote to the store ($rows snapshots before the first flush)"
kill $daemon3; wait $daemon3 || true
rows=$(sqlite3 "file:$work/db3.sqlite?mode=ro" "SELECT count(*) FROM snapshots" 2>&1)
[ "$rows" -gt 0 ] 2>/dev/null || fail "nothing stored after SIGTERM: $rows"

# ---- per-user scaling: the warm-up shows, a reload keeps the statistics ----
check "per-user model: devices shows the warm-up; a reload keeps the device's statistics"
"$ctl" train --data "$srcdir/contrib/data/robustvision/P9.tsv.gz" --hidden 4 --epochs 1 --scaling per-user --warmup 40 \
        --out "$work/per-user.safetensors" >/dev/null || fail "training a per-user model"
"$daemon" --user --replay "$rec" --loop --model "$work/per-user.safetensors" --database "$work/db4.sqlite" \
        --config "$work/deepactifd.conf" --varlink "$work/vl4/io.deepactif.Daemon" 2>"$work/daemon4.log" &
daemon_pid=$!
pids+=($daemon_pid)
warming() { "$ctl" devices --user --json | grep -oE '"warmingUp":[ ]*(true|false)' | grep -oE '(true|false)$'; }
for _ in $(seq 100); do "$ctl" status --user >/dev/null 2>&1 && break; sleep 0.1; done
"$ctl" status --user >/dev/null || fail "daemon not reachable: $(cat "$work/daemon4.log")"
# the fixture delivers ~10 distinct samples a second: 40 take ~4 s
[ "$(warming)" = true ] || fail "a fresh device is not warming up: $("$ctl" devices --user 2>&1)"
"$ctl" devices --user | grep -q "warming up" || fail "devices does not show the warm-up: $("$ctl" devices --user)"
for _ in $(seq 200); do [ "$(warming)" = false ] && break; sleep 0.1; done
[ "$(warming)" = false ] || fail "the device never warmed up: $("$ctl" devices --user 2>&1)"
"$ctl" reload --user >/dev/null || fail "reload with a per-user model"
[ "$(warming)" = false ] || fail "a reload started the device's warm-up again"
busctl --user get-property io.deepactif.Daemon1 "$(busctl --user call io.deepactif.Daemon1 /io/deepactif/Daemon1 \
        io.deepactif.Daemon1.Manager ListDevices | grep -oE '"/[^"]+"' | head -1 | tr -d '"')" \
        io.deepactif.Daemon1.Device WarmupRemaining | grep -qx "t 0" || fail "WarmupRemaining is not 0 when warm"

check "reset-user: a new person's statistics warm up again, over D-Bus and varlink"
dev=$("$ctl" devices --user --json | grep -oE '"name":[ ]*"[^"]+"' | head -1 | sed 's/.*"\([^"]*\)"$/\1/')
[ -n "$dev" ] || fail "no device name in: $("$ctl" devices --user --json)"
out=$("$ctl" reset-user --user 2>&1) && fail "reset-user without --device succeeded"
echo "$out" | grep -q -- "--device" || fail "reset-user without --device: unclear: $out"
out=$("$ctl" reset-user --user --device no-such-device 2>&1) && fail "reset-user of an unknown device succeeded"
echo "$out" | grep -q "no-such-device" || fail "reset-user of an unknown device: unclear: $out"
"$ctl" reset-user --user --device "$dev" >/dev/null || fail "reset-user over D-Bus"
[ "$(warming)" = true ] || fail "reset-user did not start the warm-up again: $("$ctl" devices --user 2>&1)"
grep -q "$dev: a new user" "$work/daemon4.log" || fail "the daemon did not log the new user"
for _ in $(seq 200); do [ "$(warming)" = false ] && break; sleep 0.1; done
[ "$(warming)" = false ] || fail "the device never warmed up after reset-user"
"$ctl" reset-user --varlink "$work/vl4/io.deepactif.Daemon" --device "$dev" >/dev/null || fail "reset-user over varlink"
[ "$(warming)" = true ] || fail "reset-user over varlink did not start the warm-up again"
out=$("$send" "$work/vl4/io.deepactif.Daemon" 1 \
        '{"method":"io.deepactif.Daemon.ResetUser","parameters":{"device":"no-such-device"}}' 2>&1) || true
echo "$out" | grep -q '"error":"io.deepactif.Daemon.NoSuchDevice"' || fail "varlink ResetUser of an unknown device: $out"
kill $daemon_pid; wait $daemon_pid || true

# ---- socket activation ----
if command -v systemd-socket-activate >/dev/null; then
        check "systemd-socket-activate hands over the varlink socket"
        sa=$work/sa.sock
        systemd-socket-activate -l "$sa" "$daemon" --no-bus --replay "$rec" --loop \
                --model "$work/model.safetensors" --database "$work/db2.sqlite" --config "$work/deepactifd.conf" \
                --varlink "$sa" 2>"$work/sa.log" &
        pids+=($!)
        for _ in $(seq 50); do [ -S "$sa" ] && break; sleep 0.1; done
        out=$(timeout 10 "$ctl" status --varlink "$sa" --json) || fail "socket-activated status: $(cat "$work/sa.log")"
        echo "$out" | grep -q '"state"' || fail "socket activation: $out"
fi
echo "PASS"
