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
device), how many of the faults raised a ranking-shift event, and the false
events per hour on the unmodified recordings.

Faults (all from ONSET of the recording's duration on, to its end):
  freeze   the left eye's direction (x, y, z) held at its value at the onset
  missing  the left eye's channels (origin and direction) empty
  noise    Gaussian noise, sd NOISE_SD, on one direction channel (the
           subject's number picks which of the six)
  drift    the left eye's direction x offset by DRIFT_PER_S per second

Usage: contrib/measure-events.py [--build DIR] [--model FILE] [--json]
                                 [--work DIR] [RECORDING...]
"""

import argparse
import glob
import gzip
import json
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
LEFT_DIR = ("World Gaze Direction L X", "World Gaze Direction L Y", "World Gaze Direction L Z")
LEFT_ALL = LEFT_DIR + ("World Gaze Origin L X", "World Gaze Origin L Z")
DIRECTIONS = LEFT_DIR + ("World Gaze Direction R X", "World Gaze Direction R Y", "World Gaze Direction R Z")


def read_tsv(path):
    with gzip.open(path, "rt", newline="") as f:
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


def replay(build, model, recording, work):
    """Replays one recording through deepactifd; returns its events as JSON records."""
    db = os.path.join(work, "events.sqlite")
    conf = os.path.join(work, "deepactifd.conf")
    for p in (db, db + "-wal", db + "-shm"):
        if os.path.exists(p):
            os.unlink(p)
    with open(conf, "w") as f:
        f.write("[Daemon]\nDiscover=no\n")
    subprocess.run([os.path.join(build, "daemon", "deepactifd"), "--config", conf, "--model", model,
                    "--database", db, "--replay", recording, "--speed", "max", "--no-bus", "--no-varlink"],
                   check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    # The daemon has exited: its store, read as deepactifctl events would get it.
    with sqlite3.connect("file:%s?mode=ro" % db, uri=True) as c:
        rows = c.execute("SELECT time_us, stream_time_us, device, kind, channel, features, detail "
                         "FROM events ORDER BY time_us, id").fetchall()
    return [{"time": r[0], "streamTime": r[1], "device": r[2], "kind": r[3], "channel": r[4],
             "features": r[5].split("\n") if r[5] else None, "detail": r[6]} for r in rows]


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--build", default=os.path.join(here, "..", "build"))
    ap.add_argument("--model", default=os.path.join(here, "models", "foval-robustvision.safetensors"))
    ap.add_argument("--work", help="keep the faulty recordings here")
    ap.add_argument("--json", action="store_true")
    ap.add_argument("recordings", nargs="*")
    a = ap.parse_args()
    recordings = a.recordings or sorted(glob.glob(os.path.join(here, "data", "robustvision", "P*.tsv.gz")))
    work = a.work or tempfile.mkdtemp(prefix="deepactif-measure-")
    os.makedirs(work, exist_ok=True)

    clean_hours, clean_events = 0.0, []
    delays = {k: [] for k in FAULTS}
    shift_delays = {k: [] for k in FAULTS}
    missed = {k: [] for k in FAULTS}
    try:
        for rec in recordings:
            name = os.path.basename(rec).split(".")[0]
            number = int("".join(ch for ch in name if ch.isdigit()) or 0)
            header, rows = read_tsv(rec)
            first, last = times_ms(rows)
            events = replay(a.build, a.model, rec, work)
            clean_hours += (last - first) / 3.6e6
            clean_events += [dict(e, recording=name) for e in events]
            for fault in FAULTS:
                faulty, onset_ms = inject(header, rows, fault, number)
                path = os.path.join(work, "%s-%s.tsv.gz" % (name, fault))
                write_tsv(path, header, faulty)
                events = replay(a.build, a.model, path, work)
                # Stream time in the recording's clock: the reader's frames carry its timestamps.
                onset_us = (first + onset_ms) * 1000
                after = [e["streamTime"] - onset_us for e in events
                         if e["streamTime"] >= onset_us and not e["kind"].endswith("recovered")]
                if after:
                    delays[fault].append(min(after) / 1e6)
                else:
                    missed[fault].append(name)
                shifted = [e["streamTime"] - onset_us for e in events
                           if e["streamTime"] >= onset_us and e["kind"] == "ranking-shift"]
                if shifted:
                    shift_delays[fault].append(min(shifted) / 1e6)
    finally:
        if not a.work:
            shutil.rmtree(work, ignore_errors=True)

    result = {
        "recordings": len(recordings),
        "onset": ONSET, "noise_sd": NOISE_SD, "drift_per_s": DRIFT_PER_S,
        "clean": {"hours": clean_hours, "events": len(clean_events),
                  "per_hour": len(clean_events) / clean_hours if clean_hours else None,
                  "list": clean_events},
        "faults": {k: {"detected": len(delays[k]), "injected": len(delays[k]) + len(missed[k]),
                       "median_s": statistics.median(delays[k]) if delays[k] else None,
                       "worst_s": max(delays[k]) if delays[k] else None,
                       "missed": missed[k],
                       "by_ranking_shift": len(shift_delays[k]),
                       "ranking_shift_median_s": statistics.median(shift_delays[k]) if shift_delays[k] else None}
                   for k in FAULTS},
    }
    if a.json:
        json.dump(result, sys.stdout, indent=2)
        print()
        return
    print("%-8s %9s %10s %9s %14s  %s" % ("FAULT", "DETECTED", "MEDIAN s", "WORST s", "RANKING-SHIFT", "MISSED"))
    for k in FAULTS:
        f = result["faults"][k]
        print("%-8s %4d/%-4d %10s %9s %9d/%-4d  %s" % (
            k, f["detected"], f["injected"],
            "%.2f" % f["median_s"] if f["median_s"] is not None else "-",
            "%.2f" % f["worst_s"] if f["worst_s"] is not None else "-",
            f["by_ranking_shift"], f["injected"], " ".join(f["missed"])))
    c = result["clean"]
    print("clean: %d events in %.3f h of recordings (%.1f per hour)" % (c["events"], c["hours"], c["per_hour"] or 0))
    for e in c["list"]:
        print("  %s %s %s %s" % (e["recording"], e["kind"], e["channel"] or ",".join(e["features"] or []),
                                 e["detail"]))


if __name__ == "__main__":
    main()
