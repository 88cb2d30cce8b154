#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""How much fixation depth the gaze in the Robust Vision recordings carries.

Upper bounds that use each subject's own labels, which no model of a new
user has: the best monotone map from vergence to depth fitted on the
subject's whole recording, or on each sweep of the target alone, and a
linear map from the four gaze angles; then the same monotone map fitted on
the subject's other sweeps and scored on the left-out sweep, which is what
a labelled calibration of that very person, minutes earlier, would give.
Samples as the project reads them: repeats of the previous sample dropped,
targets 0.35-3 m, and none of the first WARMUP valid samples, on which the
shipped model, scaling per user, makes no prediction (0 keeps them all).
Standard library only.

    contrib/depth-bound.py [--warmup N] [DIR]   (default: 100, contrib/data/robustvision)
    contrib/depth-bound.py --self-test
"""

import bisect
import csv
import glob
import gzip
import math
import os
import re
import statistics
import struct
import sys

TARGET_MIN, TARGET_MAX = 0.35, 3.0
# The reader's repeat rule (lib/reader.c): every channel but the target
# bit-identical, as float32, to the previous sample's.
CHANNELS = ["World Gaze Point X", "World Gaze Point Y", "World Gaze Point Z",
            "World Gaze Origin R X", "World Gaze Origin R Z",
            "World Gaze Origin L X", "World Gaze Origin L Z",
            "World Gaze Direction R X", "World Gaze Direction R Y", "World Gaze Direction R Z",
            "World Gaze Direction L X", "World Gaze Direction L Y", "World Gaze Direction L Z"]


def f32(text):
    try:
        v = float(text)
    except ValueError:
        return None
    if not math.isfinite(v):
        return None
    return struct.unpack("f", struct.pack("f", v))[0]


def load(path, warmup):
    """Distinct samples in the target range after the warm-up, grouped into sweeps.

    Returns a list of sweeps, each a list of (depth, vergence, hR, hL, vR, vL)
    with the angles in degrees. A sweep is a run of consecutive distinct
    samples whose target lies in range; the target leaves the range (beyond
    3 m) between sweeps."""
    opener = gzip.open if path.endswith(".gz") else open
    with opener(path, "rt", newline="") as f:
        rows = csv.reader(f, delimiter="\t")
        header = next(rows)
        col = {name: i for i, name in enumerate(header)}
        depth_col = col["GT_depth"]
        chan_cols = [col[c] for c in CHANNELS]
        sweeps, current, last, valid = [], [], None, 0
        for row in rows:
            if len(row) < len(header):
                continue
            ch = tuple(f32(row[c]) for c in chan_cols)
            if ch == last:
                continue
            last = ch
            # the user scaler counts samples whose origins and directions are all known
            if None not in ch[3:13]:
                valid += 1
            if valid <= warmup:
                continue
            depth = f32(row[depth_col])
            if depth is None or not TARGET_MIN <= depth <= TARGET_MAX:
                if current:
                    sweeps.append(current)
                    current = []
                continue
            rx, ry, rz, lx, ly, lz = ch[7:13]
            if None in (rx, ry, rz, lx, ly, lz):
                continue
            h_r = math.degrees(math.atan2(rx, rz))
            h_l = math.degrees(math.atan2(lx, lz))
            v_r = math.degrees(math.atan2(ry, math.hypot(rx, rz)))
            v_l = math.degrees(math.atan2(ly, math.hypot(lx, lz)))
            current.append((depth, h_l - h_r, h_r, h_l, v_r, v_l))
        if current:
            sweeps.append(current)
    return sweeps


class Isotonic:
    """Least-squares non-increasing fit of y on x (pool adjacent violators),
    predicting by linear interpolation between the fitted points and
    clamping beyond them (as scikit-learn's IsotonicRegression does)."""

    def __init__(self, x, y):
        pairs = sorted(zip(x, y))
        xs, ys, ws = [], [], []
        for xv, yv in pairs:  # equal x: one point, their mean
            if xs and xs[-1] == xv:
                ys[-1] += (yv - ys[-1]) / (ws[-1] + 1)
                ws[-1] += 1
            else:
                xs.append(xv)
                ys.append(yv)
                ws.append(1)
        blocks = []  # [mean, weight, points]
        for yv, w in zip(ys, ws):
            blocks.append([yv, w, 1])
            while len(blocks) > 1 and blocks[-2][0] < blocks[-1][0]:
                m2, w2, n2 = blocks.pop()
                m1, w1, n1 = blocks.pop()
                blocks.append([(m1 * w1 + m2 * w2) / (w1 + w2), w1 + w2, n1 + n2])
        self.x = xs
        self.y = [m for m, _, n in blocks for _ in range(n)]

    def __call__(self, x):
        i = bisect.bisect_left(self.x, x)
        if i == 0:
            return self.y[0]
        if i == len(self.x):
            return self.y[-1]
        x0, x1 = self.x[i - 1], self.x[i]
        return self.y[i - 1] + (self.y[i] - self.y[i - 1]) * (x - x0) / (x1 - x0)


def linear_fit(rows, targets):
    """Least squares with an intercept (normal equations, partial pivoting)."""
    n = len(rows[0]) + 1
    a = [[0.0] * (n + 1) for _ in range(n)]
    for r, t in zip(rows, targets):
        v = (1.0,) + tuple(r)
        for i in range(n):
            for j in range(n):
                a[i][j] += v[i] * v[j]
            a[i][n] += v[i] * t
    for c in range(n):
        p = max(range(c, n), key=lambda i: abs(a[i][c]))
        a[c], a[p] = a[p], a[c]
        for i in range(n):
            if i != c and a[c][c] != 0:
                k = a[i][c] / a[c][c]
                a[i] = [ai - k * ac for ai, ac in zip(a[i], a[c])]
    coef = [a[i][n] / a[i][i] if a[i][i] != 0 else 0.0 for i in range(n)]
    return lambda r: coef[0] + sum(c * v for c, v in zip(coef[1:], r))


def mae(pred, truth):
    return sum(abs(p - t) for p, t in zip(pred, truth)) / len(truth)


def subject(sweeps):
    every = [s for sw in sweeps for s in sw]
    depth = [s[0] for s in every]
    verg = [s[1] for s in every]
    out = {"samples": len(every), "sweeps": len(sweeps),
           "vergence": [statistics.median(s[1] for s in sw) for sw in sweeps]}
    out["const"] = mae([statistics.median(depth)] * len(depth), depth)
    iso = Isotonic(verg, depth)
    out["iso_all"] = mae([iso(v) for v in verg], depth)
    lin = linear_fit([s[2:6] for s in every], depth)
    out["linear4"] = mae([lin(s[2:6]) for s in every], depth)
    err_sweep = err_other = err_other_const = 0.0
    for k, sw in enumerate(sweeps):
        d = [s[0] for s in sw]
        v = [s[1] for s in sw]
        own = Isotonic(v, d)
        err_sweep += mae([own(x) for x in v], d) * len(d)
        if len(sweeps) > 1:
            rest = [s for j, o in enumerate(sweeps) if j != k for s in o]
            other = Isotonic([s[1] for s in rest], [s[0] for s in rest])
            err_other += mae([other(x) for x in v], d) * len(d)
            err_other_const += mae([statistics.median(s[0] for s in rest)] * len(d), d) * len(d)
    out["iso_sweep"] = err_sweep / len(every)
    if len(sweeps) > 1:
        out["iso_other"] = err_other / len(every)
        out["const_other"] = err_other_const / len(every)
    return out


def self_test():
    iso = Isotonic([1, 2, 3, 4], [4, 2, 3, 1])
    assert iso.y == [4, 2.5, 2.5, 1], iso.y
    assert iso(0) == 4 and iso(5) == 1 and iso(3.5) == 1.75
    tied = Isotonic([1, 1, 2], [3, 1, 5])  # x = 1 pools to 2, then 2 < 5 pools all
    assert tied.x == [1, 2] and tied.y == [3, 3], (tied.x, tied.y)
    lin = linear_fit([(0, 1), (1, 0), (1, 1), (2, 3)], [1 + 2 * 0 - 1, 1 + 2 - 0, 1 + 2 - 1, 1 + 4 - 3])
    assert all(abs(lin(r) - (1 + 2 * r[0] - r[1])) < 1e-9 for r in [(0, 1), (5, -2)])
    sweeps = [[(3.0 - i / 10, 1 + i / 10, 0, 0, 0, 0) for i in range(20)],
              [(3.0 - i / 10, 1 + i / 10, 0, 0, 0, 0) for i in range(20)]]
    r = subject(sweeps)
    assert r["iso_all"] < 1e-12 and r["iso_sweep"] < 1e-12 and r["iso_other"] < 1e-12, r
    print("self-test passed")


def usage():
    print(__doc__.strip(), file=sys.stderr)
    return 2


def main(argv):
    args = argv[1:]
    if args == ["--self-test"]:
        self_test()
        return 0
    warmup = 100
    if args[:1] == ["--warmup"]:
        if len(args) < 2 or not args[1].isdigit():
            return usage()
        warmup = int(args[1])
        args = args[2:]
    if len(args) > 1 or args and args[0].startswith("-"):
        return usage()
    top = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    data = args[0] if args else os.path.join(top, "contrib", "data", "robustvision")
    paths = sorted(glob.glob(os.path.join(data, "P*.tsv*")),
                   key=lambda p: int(re.search(r"P(\d+)", os.path.basename(p)).group(1)))
    if not paths:
        print(f"no P*.tsv or P*.tsv.gz recordings in {data}", file=sys.stderr)
        return 1
    keys = ["const", "iso_all", "linear4", "iso_sweep", "iso_other", "const_other"]
    print(f"MAE in cm, each subject against its own labels (in-sample unless 'other sweeps'), "
          f"after a warm-up of {warmup} samples")
    print(f"{'subject':8} {'samples':>7} {'sweeps':>6} {'median':>7} {'monotone':>8} {'linear4':>8} "
          f"{'per-sweep':>9} {'other-sweeps':>12} {'(median)':>8}  vergence median by sweep (deg)")
    results = []
    for p in paths:
        name = re.search(r"(P\d+)", os.path.basename(p)).group(1)
        sweeps = load(p, warmup)
        if not sweeps:
            print(f"{name:8} no samples after a warm-up of {warmup}")
            continue
        r = subject(sweeps)
        results.append(r)
        cells = [f"{r[k] * 100:.1f}" if k in r else "-" for k in keys]
        print(f"{name:8} {r['samples']:7d} {r['sweeps']:6d} {cells[0]:>7} {cells[1]:>8} {cells[2]:>8} "
              f"{cells[3]:>9} {cells[4]:>12} {cells[5]:>8}  " + " ".join(f"{v:.2f}" for v in r["vergence"]))
    multi = [r for r in results if "iso_other" in r]

    def avg(rs, k):
        return f"{statistics.mean(r[k] for r in rs) * 100:.1f}"

    print(f"{'mean':8} {'':7} {'':6} {avg(results, 'const'):>7} {avg(results, 'iso_all'):>8} "
          f"{avg(results, 'linear4'):>8} {avg(results, 'iso_sweep'):>9}"
          + (f" {avg(multi, 'iso_other'):>12} {avg(multi, 'const_other'):>8}" if multi else ""))
    print(f"subjects over 30 cm with the monotone map of their whole recording: "
          f"{sum(r['iso_all'] > 0.30 for r in results)} of {len(results)}; "
          f"other-sweeps columns over the {len(multi)} subjects with more than one sweep")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
