#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Measures deepactifd's ranking-shift and input-health events on real
recordings with injected faults.

For every recording (by default the shipped Robust Vision subjects), writes
one copy per fault kind with the fault injected from a known stream time on,
replays each through the real daemon at --speed=max, reads the events it
stored (its database's events table, as deepactifctl events shows it), and
prints per fault kind the detection rate, the median and worst time to
detect (stream time from the fault's start to the first event of the
device), how many were detected by the event kind meant for that fault and
how many raised a ranking-shift event, and the false events (any event
but a recovery) per hour on the unmodified recordings with a one-sided 95 %
Poisson upper bound. The same for the subjects P1-P10 (the noise and drift
defaults were chosen on them) and P11-P20 (held out from that choice).

Faults (all from ONSET of the recording's duration on, to its end):
  freeze   the left eye's direction (x, y, z) held at its value at the onset
  missing  the left eye's channels (origin and direction) empty
  noise    Gaussian noise, sd NOISE_SD, on one direction channel (the
           subject's number picks which of the six)
  drift    the left eye's direction x offset by DRIFT_PER_S per second

Usage: contrib/measure-events.py [--build DIR] [--model FILE] [--json]
                                 [--set KEY=VALUE]... [--work DIR] [RECORDING...]
(--set adds a [Daemon] key to the daemon's configuration, e.g. --set NoiseFactor=10)
"""

import argparse
import glob
import gzip
import json
import math
import os
import random
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile

ONSET = 0.5            # of the recording's duration
NOISE_SD = 0.1         # unit direction vector components
DRIFT_PER_S = 0.05     # per second of stream time
FAULTS = ("freeze", "missing", "noise", "drift")
OWN_KIND = {"freeze": "channel-frozen", "missing": "channel-missing", "noise": "channel-noisy",
            "drift": "channel-drift"}
SUBSETS = (("P1-P10", range(1, 11)), ("P11-P20", range(11, 21)))
LEFT_DIR = ("World Gaze Direction L X", "World Gaze Direction L Y", "World Gaze Direction L Z")
LEFT_ALL = LEFT_DIR + ("World Gaze Origin L X", "World Gaze Origin L Z")
DIRECTIONS = LEFT_DIR + ("World Gaze Direction R X", "World Gaze Direction R Y", "World Gaze Direction R Z")


def read_tsv(path):
    with (gzip.open if path.endswith(".gz") else open)(path, "rt", newline="") as f:
        lines = f.read().split("\n")
    header = lines[0].split("\t")
    rows = [line.split("\t") for line in lines[1:] if line]
    return header, rows


def is_sample(row):
    return len(row) > 1 and row[1].strip() == "sample"


def times_ms(rows):
    t = [float(r[0]) for r in rows if is_sample(r)]
    return t[0], t[-1]


def inject(header, rows, fault, subject_number):
    """The rows with the fault from the onset on; returns them and the onset (ms)."""
    col = {name: header.index(name) for name in header}
    first, last = times_ms(rows)
    onset = first + ONSET * (last - first)
    rng = random.Random(subject_number)
    held = None
    noisy = col[DIRECTIONS[subject_number % len(DIRECTIONS)]]
    out = []
    for r in rows:
        r = list(r)
        if is_sample(r) and float(r[0]) >= onset:
            if fault == "freeze":
                if held is None:
                    held = [r[col[c]] for c in LEFT_DIR]
                for c, v in zip(LEFT_DIR, held):
                    r[col[c]] = v
            elif fault == "missing":
                for c in LEFT_ALL:
                    r[col[c]] = ""
            elif fault == "noise":
                r[noisy] = repr(float(r[noisy]) + rng.gauss(0, NOISE_SD))
            elif fault == "drift":
                c = col[LEFT_DIR[0]]
                r[c] = repr(float(r[c]) + DRIFT_PER_S * (float(r[0]) - onset) / 1000)
        out.append(r)
    return out, onset - first


def write_tsv(path, header, rows):
    with gzip.open(path, "wt", newline="") as f:
        f.write("\t".join(header) + "\n")
        for r in rows:
            f.write("\t".join(r) + "\n")


def replay(build, model, recording, work, settings):
    """Replays one recording through deepactifd; returns its events as JSON records."""
    db = os.path.join(work, "events.sqlite")
    conf = os.path.join(work, "deepactifd.conf")
    for p in (db, db + "-wal", db + "-shm"):
        if os.path.exists(p):
            os.unlink(p)
    with open(conf, "w") as f:
        f.write("[Daemon]\nDiscover=no\n")
        for kv in settings:
            f.write(kv + "\n")
    subprocess.run([os.path.join(build, "daemon", "deepactifd"), "--config", conf, "--model", model,
                    "--database", db, "--replay", recording, "--speed", "max", "--no-bus", "--no-varlink"],
                   check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    # The daemon has exited: its store, read as deepactifctl events would get it.
    with sqlite3.connect("file:%s?mode=ro" % db, uri=True) as c:
        rows = c.execute("SELECT time_us, stream_time_us, device, kind, channel, features, detail "
                         "FROM events ORDER BY time_us, id").fetchall()
    return [{"time": r[0], "streamTime": r[1], "device": r[2], "kind": r[3], "channel": r[4],
             "features": r[5].split("\n") if r[5] else None, "detail": r[6]} for r in rows]


def poisson_upper(k, confidence=0.95):
    """The rate whose chance of k or fewer events is 1 - confidence."""
    def cdf(lam):
        term = total = math.exp(-lam)
        for i in range(1, k + 1):
            term *= lam / i
            total += term
        return total
    lo, hi = 0.0, 10.0 + 10 * k
    for _ in range(100):
        mid = (lo + hi) / 2
        if cdf(mid) > 1 - confidence:
            lo = mid
        else:
            hi = mid
    return hi


def summarize(cases, clean):
    """cases: (fault, delay or None, first kind, own-kind delay or None, shift delay or None)."""
    hours = sum(c["hours"] for c in clean)
    false = sum(c["false"] for c in clean)
    out = {"faults": {}, "all": {}, "clean": {
        "recordings": len(clean), "hours": hours, "false_events": false,
        "per_hour": false / hours if hours else None,
        "per_hour_upper95": poisson_upper(false) / hours if hours else None}}
    for k in FAULTS + ("all",):
        sel = [c for c in cases if k == "all" or c[0] == k]
        d = [c[1] for c in sel if c[1] is not None]
        own = [c[3] for c in sel if c[3] is not None]
        out["faults" if k != "all" else "all"][k] = {
            "injected": len(sel), "detected": len(d),
            "median_s": statistics.median(d) if d else None, "worst_s": max(d) if d else None,
            "by_own_kind": len(own), "own_kind_median_s": statistics.median(own) if own else None,
            "by_ranking_shift": len([c for c in sel if c[4] is not None]),
            "first_kinds": sorted(set(c[2] for c in sel if c[2])),
            "missed": [c[5] for c in sel if c[1] is None]}
    return out


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--build", default=os.path.join(here, "..", "build"))
    ap.add_argument("--model", default=os.path.join(here, "models", "foval-robustvision.safetensors"))
    ap.add_argument("--work", help="keep the faulty recordings here")
    ap.add_argument("--json", action="store_true")
    ap.add_argument("--set", action="append", default=[], metavar="KEY=VALUE")
    ap.add_argument("recordings", nargs="*")
    a = ap.parse_args()
    recordings = a.recordings or sorted(glob.glob(os.path.join(here, "data", "robustvision", "P*.tsv.gz")))
    work = a.work or tempfile.mkdtemp(prefix="deepactif-measure-")
    os.makedirs(work, exist_ok=True)

    cases, clean = [], []
    try:
        for rec in recordings:
            name = os.path.basename(rec).split(".")[0]
            number = int("".join(ch for ch in name if ch.isdigit()) or 0)
            header, rows = read_tsv(rec)
            first, last = times_ms(rows)
            events = replay(a.build, a.model, rec, work, a.set)
            clean.append({"recording": name, "number": number, "hours": (last - first) / 3.6e6,
                          "false": len([e for e in events if not e["kind"].endswith("recovered")]),
                          "events": events})
            for fault in FAULTS:
                faulty, onset_ms = inject(header, rows, fault, number)
                path = os.path.join(work, "%s-%s.tsv.gz" % (name, fault))
                write_tsv(path, header, faulty)
                events = replay(a.build, a.model, path, work, a.set)
                # Stream time in the recording's clock: the reader's frames carry its timestamps.
                onset_us = (first + onset_ms) * 1000
                after = [e for e in events if e["streamTime"] >= onset_us and not e["kind"].endswith("recovered")]

                def delay(kinds):
                    t = [e["streamTime"] - onset_us for e in after if e["kind"] in kinds]
                    return min(t) / 1e6 if t else None
                first_event = after[0] if after else None
                cases.append((fault, (first_event["streamTime"] - onset_us) / 1e6 if after else None,
                              first_event["kind"] if after else None, delay((OWN_KIND[fault],)),
                              delay(("ranking-shift",)), name, number))
    finally:
        if not a.work:
            shutil.rmtree(work, ignore_errors=True)

    result = {"recordings": len(recordings), "onset": ONSET, "noise_sd": NOISE_SD, "drift_per_s": DRIFT_PER_S,
              "settings": a.set, "all": summarize(cases, clean), "subsets": {}}
    for label, numbers in SUBSETS:
        sub = [c for c in cases if c[6] in numbers]
        if sub:
            result["subsets"][label] = summarize(sub, [c for c in clean if c["number"] in numbers])
    result["clean_events"] = [dict(e, recording=c["recording"]) for c in clean for e in c["events"]]
    if a.json:
        json.dump(result, sys.stdout, indent=2)
        print()
        return
    for label, r in [("all recordings", result["all"])] + list(result["subsets"].items()):
        print("== %s" % label)
        print("%-8s %9s %9s %8s %10s %14s  %s" % ("FAULT", "DETECTED", "MEDIAN s", "WORST s", "OWN KIND",
                                                   "RANKING-SHIFT", "MISSED"))
        for k in FAULTS + ("all",):
            f = r["faults"][k] if k != "all" else r["all"]["all"]
            print("%-8s %4d/%-4d %9s %8s %5d/%-4d %9d/%-4d  %s" % (
                k, f["detected"], f["injected"],
                "%.2f" % f["median_s"] if f["median_s"] is not None else "-",
                "%.2f" % f["worst_s"] if f["worst_s"] is not None else "-",
                f["by_own_kind"], f["injected"], f["by_ranking_shift"], f["injected"], " ".join(f["missed"])))
        c = r["clean"]
        print("clean: %d false events in %.3f h of %d recordings (%.1f per hour; 95%% upper bound %.1f per hour)" % (
            c["false_events"], c["hours"], c["recordings"], c["per_hour"] or 0, c["per_hour_upper95"] or 0))
    for e in result["clean_events"]:
        print("  %s %s %s %s" % (e["recording"], e["kind"], e["channel"] or ",".join(e["features"] or []),
                                 e["detail"]))


if __name__ == "__main__":
    main()
