#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Many streams in one deepactifd: N replayed trackers at a given frame rate,
varlink Watch clients and D-Bus callers, for a fixed time. Prints, per N:
the frame rate each stream reached and the frames it fell behind (what a
live tracker would have lost), the daemon's CPU per stream, the latency from
a ranking snapshot to a Watch client receiving it (p50/p99), the D-Bus
GetRanking round trip (p50/p99), RSS, and the longest gap between watchdog
pings. Then how many streams fit: every stream at >= 99% of its rate with a
snapshot p99 <= 50 ms.

Real parts only: a private dbus-daemon, the built deepactifd (replaying one
recording N times, --loop, sped up to the rate), raw varlink on its socket,
busctl for D-Bus, a NOTIFY_SOCKET of our own for READY and WATCHDOG pings.

  contrib/load-bench.py --builddir build --streams 8,16,32,64 --seconds 60
"""

import argparse
import gzip
import json
import os
import selectors
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time

SRCDIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def recording_rate(path):
    """Distinct samples per second of a Robust Vision TSV (ms time stamps).
    deepactifd drops a row that repeats the sample before it (a live tracker
    never repeats one), so only the others count towards the rate."""
    opener = gzip.open if path.endswith(".gz") else open
    first = last = prev = None
    n = 0
    with opener(path, "rt", errors="replace") as f:
        next(f)
        for line in f:
            cols = line.rstrip("\n").split("\t")
            if len(cols) > 1 and cols[1] == " sample":
                t = int(cols[0])
                first = t if first is None else first
                last = t
                # column 3 is the target, which the daemon does not compare
                values = cols[4:]
                if values != prev:
                    n += 1
                prev = values
    return (n - 1) / ((last - first) / 1000.0)


def distinct_copy(path, work):
    """An uncompressed copy of a Robust Vision TSV without the rows that
    repeat the sample before them: deepactifd drops those anyway (a live
    tracker never sends one), and in P1 they are 80% of the rows, so
    replaying the original spends most of the daemon's time decompressing
    and parsing text no tracker would send."""
    opener = gzip.open if path.endswith(".gz") else open
    out = os.path.join(work, os.path.basename(path).removesuffix(".gz"))
    prev = None
    with opener(path, "rt", errors="replace") as f, open(out, "w") as o:
        o.write(next(f))
        for line in f:
            cols = line.rstrip("\n").split("\t")
            if len(cols) > 1 and cols[1] == " sample":
                if cols[4:] == prev:
                    continue
                prev = cols[4:]
            o.write(line)
    return out


def percentile(v, p):
    if not v:
        return float("nan")
    v = sorted(v)
    return v[min(len(v) - 1, int(round(p / 100.0 * (len(v) - 1))))]


class Notify(threading.Thread):
    """NOTIFY_SOCKET: when READY=1 came, and the WATCHDOG=1 times."""

    def __init__(self, path):
        super().__init__(daemon=True)
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(path)
        self.ready = threading.Event()
        self.pings = []

    def run(self):
        while True:
            try:
                msg = self.sock.recv(4096).decode()
            except OSError:
                return
            for line in msg.split("\n"):
                if line == "READY=1":
                    self.ready.set()
                elif line == "WATCHDOG=1":
                    self.pings.append(time.monotonic())


def varlink_call(path, method, params=None):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.connect(path)
    s.sendall(json.dumps({"method": method, "parameters": params or {}}).encode() + b"\0")
    buf = b""
    while not buf.endswith(b"\0"):
        chunk = s.recv(1 << 20)
        if not chunk:
            break
        buf += chunk
    s.close()
    return json.loads(buf.rstrip(b"\0"))["parameters"]


def device_frames(vl):
    """frames_total per device, from the daemon's own metrics."""
    text = varlink_call(vl, "io.deepactif.Daemon.GetMetrics")["text"]
    frames = {}
    for line in text.splitlines():
        if line.startswith("deepactif_device_frames_total{"):
            name = line.split('device="', 1)[1].split('"', 1)[0]
            frames[name] = float(line.rsplit(" ", 1)[1])
    return frames


class Watchers(threading.Thread):
    """n varlink Watch clients: snapshot-to-receipt latency of each reply."""

    def __init__(self, path, n):
        super().__init__(daemon=True)
        self.sel = selectors.DefaultSelector()
        self.latencies = []
        self.replies = 0
        self.errors = 0
        self.stop = threading.Event()
        self.recording = threading.Event()
        for _ in range(n):
            s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            s.connect(path)
            s.sendall(json.dumps({"method": "io.deepactif.Daemon.Watch", "parameters": {"topK": 5},
                                  "more": True}).encode() + b"\0")
            s.setblocking(False)
            self.sel.register(s, selectors.EVENT_READ, [b""])

    def run(self):
        while not self.stop.is_set():
            for key, _ in self.sel.select(0.2):
                try:
                    chunk = key.fileobj.recv(1 << 20)
                except BlockingIOError:
                    continue
                now_us = time.time() * 1e6
                if not chunk:
                    self.errors += 1
                    self.sel.unregister(key.fileobj)
                    continue
                key.data[0] += chunk
                *msgs, key.data[0] = key.data[0].split(b"\0")
                for m in msgs:
                    # the snapshot's time without parsing the whole reply:
                    # the client must keep up with thousands a second
                    at = m.find(b'"time":')
                    if at < 0 or m.startswith(b'{"error"'):
                        self.errors += 1
                        continue
                    self.replies += 1
                    if self.recording.is_set():
                        end = at + 7
                        while m[end:end + 1].isspace():
                            end += 1
                        t = int(m[end:end + 20].split(b",")[0].split(b"}")[0])
                        self.latencies.append((now_us - t) / 1000.0)
        for key in list(self.sel.get_map().values()):
            key.fileobj.close()


class BusCallers(threading.Thread):
    """One D-Bus caller: GetRanking through busctl, every interval seconds."""

    def __init__(self, env, interval):
        super().__init__(daemon=True)
        self.env, self.interval = env, interval
        self.times, self.failures = [], 0
        self.stop = threading.Event()
        self.recording = threading.Event()

    def run(self):
        cmd = ["busctl", "--user", "call", "io.deepactif.Daemon1", "/io/deepactif/Daemon1",
               "io.deepactif.Daemon1.Manager", "GetRanking", "ssu", "", "", "5"]
        while not self.stop.wait(self.interval):
            t0 = time.monotonic()
            r = subprocess.run(cmd, env=self.env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            if not self.recording.is_set():
                continue
            if r.returncode != 0:
                self.failures += 1
            else:
                self.times.append((time.monotonic() - t0) * 1000.0)


def cpu_seconds(pid):
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def runqueue_seconds(pid):
    """Time the daemon was runnable but waited for a CPU (schedstat)."""
    try:
        with open("/proc/%d/schedstat" % pid) as f:
            return int(f.read().split()[1]) / 1e9
    except OSError:
        return float("nan")


def memory_kib(pid):
    out = {}
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith(("VmRSS:", "VmHWM:")):
                out[line.split(":")[0]] = int(line.split()[1])
    return out


def run_one(args, n, work, bus_env, rate, source_rate):
    notify_path = os.path.join(work, "notify-%d" % n)
    vl = os.path.join(work, "vl-%d" % n)
    conf = os.path.join(work, "deepactifd.conf")
    speed = rate / source_rate
    # RankingInterval= counts stream time, which runs `speed` times faster
    # than the clock: scaled, snapshots come as often as a live tracker's
    with open(conf, "w") as f:
        f.write("[Daemon]\nRankingInterval=%dms\nFlushInterval=5s\n" % round(args.ranking_interval * speed * 1000))
    notify = Notify(notify_path)
    notify.start()
    cmd = [os.path.join(args.builddir, "daemon", "deepactifd"), "--user", "--loop", "--speed", "%.6f" % speed,
           "--model", args.model, "--database", os.path.join(work, "db-%d.sqlite" % n), "--config", conf,
           "--varlink", vl]
    for _ in range(n):
        cmd += ["--replay", args.recording]
    if args.daemon_cpus:
        cmd = ["taskset", "-c", args.daemon_cpus] + cmd
    env = dict(bus_env, NOTIFY_SOCKET=notify_path, WATCHDOG_USEC=str(args.watchdog_sec * 1000000))
    log = open(os.path.join(work, "daemon-%d.log" % n), "w")
    # without taskset, off the clients' CPUs this script is bound to
    every_cpu = None if args.daemon_cpus else (lambda: os.sched_setaffinity(0, range(os.cpu_count())))
    daemon = subprocess.Popen(cmd, env=env, stderr=log, preexec_fn=every_cpu)
    try:
        if not notify.ready.wait(60):
            sys.exit("deepactifd with %d streams did not get ready; see %s" % (n, log.name))
        watchers = Watchers(vl, args.watchers)
        watchers.start()
        callers = [BusCallers(bus_env, args.dbus_interval) for _ in range(args.dbus_callers)]
        for c in callers:
            c.start()
        time.sleep(args.warmup)

        f0, c0, t0 = device_frames(vl), cpu_seconds(daemon.pid), time.monotonic()
        w0 = runqueue_seconds(daemon.pid)
        pings0 = len(notify.pings)
        watchers.recording.set()
        for c in callers:
            c.recording.set()
        time.sleep(args.seconds)
        f1, c1, t1 = device_frames(vl), cpu_seconds(daemon.pid), time.monotonic()
        w1 = runqueue_seconds(daemon.pid)
        mem = memory_kib(daemon.pid)
        watchers.stop.set()
        for c in callers:
            c.stop.set()
        watchers.join()
        for c in callers:
            c.join()
        alive = daemon.poll() is None
    finally:
        daemon.send_signal(signal.SIGTERM)
        try:
            daemon.wait(30)
        except subprocess.TimeoutExpired:
            daemon.kill()
        notify.sock.close()

    dt = t1 - t0
    rates = [(f1.get(d, 0) - f0.get(d, 0)) / dt for d in f1]
    frames = sum(f1.get(d, 0) - f0.get(d, 0) for d in f1)
    # the daemon's CPU per frame, all its work (the interfaces too) included:
    # on a machine shared with other load, what it would need, not what it got
    us_per_frame = 1e6 * (c1 - c0) / frames if frames else float("nan")
    behind = sum(max(0.0, rate * dt - (f1.get(d, 0) - f0.get(d, 0))) for d in f1)
    pings = notify.pings[pings0:]
    gaps = [b - a for a, b in zip(pings, pings[1:])]
    bus = [t for c in callers for t in c.times]
    return {
        "streams": n,
        "rate_hz": rate,
        "seconds": round(dt, 1),
        "stream_rate_min_hz": round(min(rates), 1) if rates else 0,
        "stream_rate_median_hz": round(statistics.median(rates), 1) if rates else 0,
        "frames_behind": int(behind),
        "frames_behind_pct": round(100.0 * behind / (rate * dt * n), 2),
        "cpu_pct_total": round(100.0 * (c1 - c0) / dt, 1),
        "cpu_pct_per_stream": round(100.0 * (c1 - c0) / dt / n, 2),
        "runqueue_wait_pct": round(100.0 * (w1 - w0) / dt, 1),
        "cpu_us_per_frame": round(us_per_frame, 2),
        "streams_per_free_core": int(1e6 / (us_per_frame * rate)) if frames else 0,
        "watch_clients": args.watchers,
        "watch_replies": len(watchers.latencies),
        "watch_errors": watchers.errors,
        "snapshot_latency_p50_ms": round(percentile(watchers.latencies, 50), 1),
        "snapshot_latency_p99_ms": round(percentile(watchers.latencies, 99), 1),
        "dbus_calls": len(bus),
        "dbus_failures": sum(c.failures for c in callers),
        "dbus_p50_ms": round(percentile(bus, 50), 1),
        "dbus_p99_ms": round(percentile(bus, 99), 1),
        "rss_kib": mem.get("VmRSS"),
        "peak_rss_kib": mem.get("VmHWM"),
        "watchdog_pings": len(pings),
        "watchdog_max_gap_s": round(max(gaps), 2) if gaps else None,
        "watchdog_fired": (not alive) or (bool(gaps) and max(gaps) > args.watchdog_sec),
        "daemon_alive": alive,
    }


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--builddir", default=os.path.join(SRCDIR, "build"))
    p.add_argument("--recording", default=os.path.join(SRCDIR, "contrib/data/robustvision/P1.tsv.gz"))
    p.add_argument("--model", default=os.path.join(SRCDIR, "contrib/models/foval-robustvision.safetensors"))
    p.add_argument("--streams", default="8,16,32,64", help="comma-separated stream counts (default 8,16,32,64)")
    p.add_argument("--rate", type=float, default=1200.0, help="frames per second per stream (default 1200)")
    p.add_argument("--seconds", type=float, default=60.0, help="measured time per stream count (default 60)")
    p.add_argument("--warmup", type=float, default=5.0)
    p.add_argument("--watchers", type=int, default=100, help="varlink Watch clients (default 100)")
    p.add_argument("--dbus-callers", type=int, default=4, help="busctl callers (default 4)")
    p.add_argument("--dbus-interval", type=float, default=0.25, help="seconds between one caller's calls")
    p.add_argument("--ranking-interval", type=float, default=1.0, help="seconds between snapshots (default 1)")
    p.add_argument("--watchdog-sec", type=int, default=30, help="WATCHDOG_USEC, as the unit's WatchdogSec=")
    p.add_argument("--daemon-cpus", default="1", help="taskset CPU list for deepactifd ('' for none)")
    p.add_argument("--client-cpus", default="0", help="CPU list for the clients, this script included ('' for any)")
    p.add_argument("--json", action="store_true", help="print one JSON object per stream count")
    args = p.parse_args()

    for tool in ("dbus-daemon", "busctl", "taskset"):
        if not shutil.which(tool):
            sys.exit("%s is not installed" % tool)
    if args.client_cpus:
        os.sched_setaffinity(0, {int(c) for c in args.client_cpus.split(",")})
    source_rate = recording_rate(args.recording)
    work = tempfile.mkdtemp(prefix="deepactif-load.")
    original = args.recording
    args.recording = distinct_copy(original, work)
    bus_path = os.path.join(work, "bus")
    dbus = subprocess.Popen(["dbus-daemon", "--session", "--nofork", "--nopidfile",
                             "--address=unix:path=" + bus_path], stdout=subprocess.DEVNULL)
    bus_env = dict(os.environ, DBUS_SESSION_BUS_ADDRESS="unix:path=" + bus_path)
    for _ in range(100):
        if os.path.exists(bus_path):
            break
        time.sleep(0.05)
    rows = []
    try:
        for n in [int(x) for x in args.streams.split(",")]:
            row = run_one(args, n, work, bus_env, args.rate, source_rate)
            rows.append(row)
            if args.json:
                print(json.dumps(row), flush=True)
            else:
                print("%3d streams × %.0f Hz: reached %.1f Hz (min %.1f), %d frames behind (%.2f%%); CPU %.1f%% "
                      "(%.2f%% per stream, %.2f µs per frame: a free core carries %d such streams), waited for a CPU %.1f%% of the time; snapshot→Watch p50 %.1f ms p99 %.1f ms over %d replies (%d errors); "
                      "D-Bus GetRanking p50 %.1f ms p99 %.1f ms (%d calls, %d failed); RSS %s KiB (peak %s); "
                      "watchdog %d pings, longest gap %s s, %s"
                      % (n, row["rate_hz"], row["stream_rate_median_hz"], row["stream_rate_min_hz"],
                         row["frames_behind"], row["frames_behind_pct"], row["cpu_pct_total"],
                         row["cpu_pct_per_stream"], row["cpu_us_per_frame"], row["streams_per_free_core"],
                         row["runqueue_wait_pct"], row["snapshot_latency_p50_ms"], row["snapshot_latency_p99_ms"],
                         row["watch_replies"], row["watch_errors"], row["dbus_p50_ms"], row["dbus_p99_ms"],
                         row["dbus_calls"], row["dbus_failures"], row["rss_kib"], row["peak_rss_kib"],
                         row["watchdog_pings"], row["watchdog_max_gap_s"],
                         "fired" if row["watchdog_fired"] else "never fired"), flush=True)
    finally:
        dbus.terminate()
        dbus.wait()
        shutil.rmtree(work, ignore_errors=True)

    fit = [r["streams"] for r in rows if r["stream_rate_min_hz"] >= 0.99 * r["rate_hz"]
           and r["snapshot_latency_p99_ms"] <= 50 and not r["watchdog_fired"]]
    if not args.json:
        print("Recording %s (%.0f Hz, replayed at ×%.2f); %d varlink Watch clients, %d D-Bus callers; "
              "deepactifd on CPU %s, clients on CPU %s; load average %s."
              % (os.path.basename(original) + " without its repeated rows", source_rate, args.rate / source_rate, args.watchers,
                 args.dbus_callers, args.daemon_cpus or "any", args.client_cpus or "any",
                 " ".join(open("/proc/loadavg").read().split()[:3])))
        print("Streams that fit (every stream >= 99%% of %.0f Hz, snapshot p99 <= 50 ms, no watchdog): %s"
              % (args.rate, max(fit) if fit else "none of those tried"))


if __name__ == "__main__":
    main()
