#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""The peer's side of `deepactifctl bench`: the same work in PyTorch on one
thread, so the ratio is measured side by side on any machine.

- train-window: one training epoch of the FOVAL model (LSTM → batchnorm →
  max pool → fc1 32 → ELU → fc5; 38 features, windows of 10 frames,
  minibatches of 64, AdamW lr 1e-3 wd 1e-2, SmoothL1 β 1) over 1024 windows
  at H = 32 and 64 and 64 windows at H = 1435, the median of five epochs
  after a first untimed one, in µs per window — as `deepactifctl bench`
  does on its synthetic recording (the values do not change the work).
- ig-50: Integrated Gradients with 50 steps for one window (the bench's
  model: LSTM, last step, one output; 40 features), the 50 scaled inputs in
  one batch as Captum does by default; median µs per window.

deepactif runs each at f32 and at bf16 (bf16 operands, float32 sums and
weights; VDPBF16PS where the CPU has AVX512_BF16). The issue's peer is
PyTorch in float32 with OpenBLAS; PyTorch's own mixed precision
(torch.autocast on the CPU with bfloat16, whose products oneDNN takes) is
timed too, so the bf16 rows can be read against like work as well.

Each row also names the multiply-adds a window needs at least (M FMA) and
the rate of that work each side reaches (GFMA/s); with DEEPACTIFCTL, as a
share of the core's float32 peak (bench's fma-peak: 2^20 multiply-adds in
independent chains), and the share 2× PyTorch would need — above 100 %,
no implementation on this core can reach it.
Training: the recurrent product forward, its weight gradient and δh back,
3·(T−1)·4H·H (the first step starts from h = 0), plus the input projection
and its weight gradient, 2·T·4H·F. IG-50: the recurrence forward and back
for 50 scaled inputs, 2·50·(T−1)·4H·H (the input projection is affine in
the scale, two products per window). PyTorch multiplies the zero state and
the input projections too, so its own count is higher.

Usage: contrib/bench-train-torch.py [--json] [DEEPACTIFCTL]
With the path of deepactifctl, runs `deepactifctl bench --json` too and
prints the ratio for each entry (PyTorch's time over deepactif's: above 1
means deepactif is faster). Needs python3-torch with OpenBLAS behind it
(Debian: apt-get install python3-torch libopenblas0-pthread; without
OpenBLAS, Debian's PyTorch multiplies with the reference BLAS, many times
slower, which the script names in its output). Both run pinned to one core.
"""

import contextlib
import json
import os
import statistics
import subprocess
import sys
import time

# one thread for OpenBLAS too, set before it loads
os.environ["OPENBLAS_NUM_THREADS"] = "1"
os.environ["OMP_NUM_THREADS"] = "1"

import torch  # noqa: E402
from torch import nn

WINDOW = 10
EPOCHS = 5


class Foval(nn.Module):
    def __init__(self, features, hidden, dense=32):
        super().__init__()
        self.lstm = nn.LSTM(features, hidden, batch_first=True)
        self.bn = nn.BatchNorm1d(hidden)
        self.fc1 = nn.Linear(hidden, dense)
        self.act = nn.ELU()
        self.fc5 = nn.Linear(dense, 1)

    def forward(self, x):
        out, _ = self.lstm(x)
        out = self.bn(out.transpose(1, 2)).transpose(1, 2)
        out = out.max(dim=1).values
        return self.fc5(self.act(self.fc1(out)))


class Last(nn.Module):
    def __init__(self, features, hidden):
        super().__init__()
        self.lstm = nn.LSTM(features, hidden, batch_first=True)
        self.fc = nn.Linear(hidden, 1)

    def forward(self, x):
        out, _ = self.lstm(x)
        return self.fc(out[:, -1, :])


def autocast(bf16):
    return torch.autocast("cpu", dtype=torch.bfloat16) if bf16 else contextlib.nullcontext()


def train_window_us(hidden, windows, bf16=False, features=38, batch=64):
    torch.manual_seed(0)
    x = torch.randn(windows, WINDOW, features)
    y = torch.rand(windows, 1) * 2 + 0.5
    model = Foval(features, hidden)
    opt = torch.optim.AdamW(model.parameters(), lr=1e-3, weight_decay=1e-2)
    loss_fn = nn.SmoothL1Loss(beta=1.0)
    times = []
    for _ in range(1 + EPOCHS):
        model.train()
        t0 = time.perf_counter()
        perm = torch.randperm(windows)
        for i in range(0, windows, batch):
            idx = perm[i:i + batch]
            opt.zero_grad()
            with autocast(bf16):
                loss = loss_fn(model(x[idx]).float(), y[idx])
            loss.backward()
            opt.step()
        times.append(time.perf_counter() - t0)
    return statistics.median(times[1:]) / windows * 1e6


def ig50_us(hidden, bf16=False, features=40, steps=50, repeats=7):
    torch.manual_seed(0)
    model = Last(features, hidden).eval()
    x = torch.rand(1, WINDOW, features) * 2 - 1
    baseline = torch.zeros_like(x)
    alphas = torch.linspace(0, 1, steps).view(steps, 1, 1)
    samples = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        scaled = (baseline + alphas * (x - baseline)).requires_grad_(True)
        with autocast(bf16):
            out = model(scaled).float().sum()
        (grad,) = torch.autograd.grad(out, scaled)
        attribution = (x - baseline) * grad.mean(dim=0, keepdim=True)
        attribution.sum().item()
        samples.append(time.perf_counter() - t0)
    return statistics.median(samples) * 1e6


def blas_library():
    """The BLAS library this process multiplies with, from its mappings."""
    torch.ones(64, 64) @ torch.ones(64, 64)
    with open("/proc/self/maps") as f:
        libs = {line.split()[-1] for line in f if "blas" in line.lower() and line.split()[-1].startswith("/")}
    return ", ".join(sorted(libs)) or "none found"


def main(argv):
    as_json = "--json" in argv
    args = [a for a in argv if a != "--json"]
    torch.set_num_threads(1)
    os.sched_setaffinity(0, {os.sched_getaffinity(0).pop()})
    work = []
    for hidden, windows in ((32, 1024), (64, 1024), (1435, 64)):
        work.append(("train-window", hidden, lambda bf16, h=hidden, w=windows: train_window_us(h, w, bf16),
                     3 * (WINDOW - 1) * 4 * hidden * hidden + 2 * WINDOW * 4 * hidden * 38))
    for hidden in (64, 1435):
        work.append(("ig-50", hidden, lambda bf16, h=hidden: ig50_us(h, bf16),
                     2 * 50 * (WINDOW - 1) * 4 * hidden * hidden))

    ours = {}
    peak = None
    if args:
        bench = json.loads(subprocess.run([args[0], "bench", "--json"], check=True, capture_output=True,
                                          text=True).stdout)
        ours = {(c["name"], c["hidden"], c["precision"]): c["us"] for c in bench}
        if ("fma-peak", 0, "f32") in ours:
            peak = 2**20 / ours[("fma-peak", 0, "f32")] / 1e3
    cases = []
    for name, hidden, run, macs in work:
        torch_us = run(False)
        autocast_us = run(True)
        for precision in ("f32", "bf16"):
            c = {"name": name, "hidden": hidden, "precision": precision, "macs": macs, "us": torch_us,
                 "autocast_us": autocast_us}
            if (name, hidden, precision) in ours:
                c["deepactif_us"] = ours[(name, hidden, precision)]
                c["ratio"] = torch_us / c["deepactif_us"]
                c["autocast_ratio"] = autocast_us / c["deepactif_us"]
            if peak:
                c["peak_gfma"] = peak
                c["pytorch_peak_share"] = macs / torch_us / 1e3 / peak
                c["twice_pytorch_peak_share"] = 2 * c["pytorch_peak_share"]
                if "deepactif_us" in c:
                    c["deepactif_peak_share"] = macs / c["deepactif_us"] / 1e3 / peak
            cases.append(c)
    if as_json:
        print(json.dumps(cases, indent=2))
        return 0
    nan = float("nan")
    print(f"PyTorch {torch.__version__}, one thread, BLAS: {blas_library()}")
    print("PYTORCH: float32 (OpenBLAS), the issue's peer; AUTOCAST: torch.autocast bfloat16 (oneDNN products)")
    print(f"{'BENCHMARK':<13} {'HIDDEN':>6} {'OURS AT':>7} {'PYTORCH µs':>11} {'DEEPACTIF µs':>12} "
          f"{'PYTORCH/OURS':>12} {'AUTOCAST µs':>11} {'AUTOCAST/OURS':>13} {'M FMA':>7} {'OUR GFMA/s':>10}")
    for c in cases:
        ours_us = c.get("deepactif_us", nan)
        print(f"{c['name']:<13} {c['hidden']:>6} {c['precision']:>7} {c['us']:>11.1f} {ours_us:>12.1f} "
              f"{c.get('ratio', nan):>12.2f} {c['autocast_us']:>11.1f} {c.get('autocast_ratio', nan):>13.2f} "
              f"{c['macs'] / 1e6:>7.1f} {c['macs'] / ours_us / 1e3:>10.1f}")
    if peak:
        print(f"\nfloat32 peak of this core (deepactifctl bench, fma-peak): {peak:.1f} GFMA/s "
              "(bf16 products: twice that with AVX512_BF16)")
        print(f"{'BENCHMARK':<13} {'HIDDEN':>6} {'OURS AT':>7} {'PYTORCH % PEAK':>15} {'DEEPACTIF % PEAK':>17} "
              f"{'2× PYTORCH NEEDS':>17}")
        for c in cases:
            print(f"{c['name']:<13} {c['hidden']:>6} {c['precision']:>7} {100 * c['pytorch_peak_share']:>14.0f}% "
                  f"{100 * c.get('deepactif_peak_share', nan):>16.0f}% "
                  f"{100 * c['twice_pytorch_peak_share']:>16.0f}%")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
