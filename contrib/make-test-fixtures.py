#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Write the PyTorch reference fixtures under tests/fixtures/lstm/.

Run with a Python that has torch and numpy (Debian: python3-torch):

    /usr/bin/python3 contrib/make-test-fixtures.py [--out DIR]

The output is deterministic; the generated files are committed so the test
suite needs no torch.  Weights come from the splitmix64 stream that
da_model_new_random() reproduces, so the C tests rebuild big models from the
seed alone.  Parameter order and values, each value computed in double and
rounded to float32, u = (splitmix64() >> 40) * 2^-24:

  per layer k: lstm.weight_ih_lk, weight_hh_lk, bias_ih_lk, bias_hh_lk
               (2u - 1) * (1 / sqrt(H))
  batchnorm:   weight 0.5 + u, bias (2u - 1) * 0.5,
               running_mean (2u - 1) * 0.5, running_var 0.5 + u, eps 1e-5
  dense D > 0: fc1.weight, fc1.bias (2u - 1) * (1 / sqrt(H));
               fc5.weight, fc5.bias (2u - 1) * (1 / sqrt(D))
  else:        fc.weight, fc.bias (2u - 1) * (1 / sqrt(H))

each tensor filled in row-major order from one continuing stream.

Each case writes <name>.json:
  name, seed, arch (the model file's architecture object plus "window": T),
  model_file (<name>.safetensors written by export_model, or null),
  input [T][F] (float32 values, N(0,1) from numpy's default_rng(seed)),
  output [O], top_hidden [T][H] (top LSTM layer's h, before batchnorm),
  and for H <= 64: grad_input [T][F] and grad_params {name: flat row-major
  list} of d output[0] (batchnorm parameters excluded), and ig: Integrated
  Gradients of output[0] with Captum's formula, 50 Gauss-Legendre steps,
  zero baseline, with the completeness delta.
All reference numbers are computed in float64 on the float32-rounded weights
and inputs and written with repr() precision.
"""

import argparse
import json
import math
import os
import sys

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from deepactif_export import FovalNet, PlainNet, export_model, read_model_file  # noqa: E402

GOLDEN = np.uint64(0x9E3779B97F4A7C15)
IG_STEPS = 50
GRAD_MAX_HIDDEN = 64


class SplitMix64:
    """splitmix64, vectorised: state i is seed + i·golden (mod 2^64)."""

    def __init__(self, seed):
        self.seed = np.uint64(seed)
        self.count = 0

    def uniform(self, n):
        i = np.arange(self.count + 1, self.count + n + 1, dtype=np.uint64)
        self.count += n
        with np.errstate(over="ignore"):
            z = self.seed + i * GOLDEN
            z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
            z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
            z = z ^ (z >> np.uint64(31))
        return (z >> np.uint64(40)).astype(np.float64) * 2.0 ** -24


def splitmix64_scalar(state):
    """The textbook definition, to check the vectorised one against."""
    m = (1 << 64) - 1
    state = (state + 0x9E3779B97F4A7C15) & m
    z = state
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & m
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & m
    return state, z ^ (z >> 31)


def check_prng():
    state, rng = 12345, SplitMix64(12345)
    got = rng.uniform(1000)
    for k in range(1000):
        state, z = splitmix64_scalar(state)
        assert got[k] == (z >> 40) * 2.0 ** -24, k
    # First outputs for seed 0, as published with the reference C code.
    state = 0
    state, z = splitmix64_scalar(state)
    assert z == 0xE220A8397B1DCDAF
    state, z = splitmix64_scalar(state)
    assert z == 0x6E789E6AA1B965F4


def fill(rng, shape, fn):
    u = rng.uniform(math.prod(shape))
    return torch.from_numpy(fn(u).astype(np.float32).reshape(shape))


def build_model(c):
    F, H, L, D, O = c["F"], c["H"], c["L"], c["D"], c["O"]
    if D:
        net = FovalNet(F, H, L, dense=D, outputs=O, activation=c["act"],
                       pooling=c["pool"], batchnorm=c["bn"])
    else:
        net = PlainNet(F, H, L, outputs=O, pooling=c["pool"],
                       batchnorm=c["bn"])
    rng = SplitMix64(c["seed"])
    kk = 1.0 / math.sqrt(H)
    sym = lambda scale: (lambda u: (2.0 * u - 1.0) * scale)  # noqa: E731
    with torch.no_grad():
        for k in range(L):
            for p in ("weight_ih", "weight_hh", "bias_ih", "bias_hh"):
                t = getattr(net.lstm, f"{p}_l{k}")
                t.copy_(fill(rng, t.shape, sym(kk)))
        if c["bn"]:
            bn = net.batchnorm
            bn.weight.copy_(fill(rng, (H,), lambda u: 0.5 + u))
            bn.bias.copy_(fill(rng, (H,), sym(0.5)))
            bn.running_mean.copy_(fill(rng, (H,), sym(0.5)))
            bn.running_var.copy_(fill(rng, (H,), lambda u: 0.5 + u))
            bn.eps = 1e-5
        head = [("fc1", H), ("fc5", D)] if D else [("fc", H)]
        for name, fan_in in head:
            lin = getattr(net, name)
            k = 1.0 / math.sqrt(fan_in)
            lin.weight.copy_(fill(rng, lin.weight.shape, sym(k)))
            lin.bias.copy_(fill(rng, lin.bias.shape, sym(k)))
    return net.eval()


def floats(t):
    return t.detach().cpu().double().tolist()


def integrated_gradients(net, x, steps):
    """Captum's IG for output[0], zero baseline, Gauss-Legendre nodes."""
    nodes, weights = np.polynomial.legendre.leggauss(steps)
    alphas = torch.from_numpy(0.5 * (nodes + 1.0))
    w = torch.from_numpy(0.5 * weights)
    base = torch.zeros_like(x)
    path = (base + alphas.view(-1, 1, 1) * (x - base)).requires_grad_(True)
    (g,) = torch.autograd.grad(net(path)[:, 0].sum(), path)
    phi = (x - base) * (w.view(-1, 1, 1) * g).sum(dim=0)
    with torch.no_grad():
        fx = net(x.unsqueeze(0))[0, 0]
        fb = net(base.unsqueeze(0))[0, 0]
    delta = phi.sum() - (fx - fb)
    return phi, float(delta)


def case_name(c):
    layout = ("foval" if c["bn"] else "dense") if c["D"] else "plain"
    if not c["D"] and c["bn"]:
        layout = "plain-bn"
    parts = [layout, f"f{c['F']}", f"h{c['H']}", f"l{c['L']}", f"t{c['T']}",
             c["pool"]]
    if c["D"]:
        parts.append(c["act"])
    parts.append(f"o{c['O']}")
    return "-".join(parts)


def arch_object(c):
    return {"input_size": c["F"], "hidden_size": c["H"], "num_layers": c["L"],
            "batchnorm": c["bn"], "batchnorm_eps": 1e-05,
            "pooling": c["pool"], "dense": c["D"],
            "activation": c["act"] if c["D"] else "none",
            "outputs": c["O"], "window": c["T"]}


def export_and_verify(net, c, path):
    rng = np.random.default_rng(c["seed"] + 1)
    scaler = {"median": rng.standard_normal(c["F"]),
              "iqr": rng.uniform(0.5, 2.0, c["F"])}
    features = [f"f{i}" for i in range(c["F"])]
    export_model(net, path, features=features, window=c["T"],
                 pooling=c["pool"], scaler=scaler, task="regression",
                 unit="m")

    tensors, doc = read_model_file(path)
    want = {k: v for k, v in net.state_dict().items()
            if not k.endswith("num_batches_tracked")}
    assert set(tensors) == set(want), (sorted(tensors), sorted(want))
    for k, v in want.items():
        got = torch.from_numpy(tensors[k].copy())
        assert got.dtype == torch.float32 and got.shape == v.shape, k
        assert torch.equal(got, v.float()), k
    arch = arch_object(c)
    del arch["window"]
    assert doc["format_version"] == 1
    assert doc["architecture"] == arch, (doc["architecture"], arch)
    assert doc["window"] == {"length": c["T"], "hop": 1}
    assert doc["task"] == {"type": "regression", "unit": "m"}
    assert doc["features"] == features
    assert doc["scaler"]["type"] == "robust"
    for key in ("median", "iqr"):
        assert np.array_equal(np.float32(doc["scaler"][key]),
                              np.float32(scaler[key])), key


def make_case(c, outdir):
    name = case_name(c)
    net = build_model(c)
    small = c["H"] <= GRAD_MAX_HIDDEN
    model_file = None
    if small:
        model_file = f"{name}.safetensors"
        export_and_verify(net, c, os.path.join(outdir, model_file))

    rng = np.random.default_rng(c["seed"])
    x32 = rng.standard_normal((c["T"], c["F"])).astype(np.float32)

    net = net.double()
    x = torch.from_numpy(x32.astype(np.float64))
    with torch.no_grad():
        top_hidden, _ = net.lstm(x.unsqueeze(0))
    xg = x.clone().unsqueeze(0).requires_grad_(small)
    if small:
        net.zero_grad()
        params = {k: p for k, p in net.named_parameters()
                  if not k.startswith("batchnorm.")}
        out = net(xg)[0]
        grads = torch.autograd.grad(out[0], [xg] + list(params.values()))
    else:
        with torch.no_grad():
            out = net(xg)[0]

    fx = {"name": name, "seed": c["seed"], "arch": arch_object(c),
          "model_file": model_file, "input": floats(x), "output": floats(out),
          "top_hidden": floats(top_hidden[0])}
    if small:
        fx["grad_input"] = floats(grads[0][0])
        fx["grad_params"] = {k: floats(g.reshape(-1))
                             for k, g in zip(params, grads[1:])}
        phi, delta = integrated_gradients(net, x, IG_STEPS)
        fx["ig"] = {"steps": IG_STEPS, "method": "gausslegendre",
                    "baseline": "zeros", "attributions": floats(phi),
                    "delta": delta}
    with open(os.path.join(outdir, f"{name}.json"), "w",
              encoding="utf-8") as f:
        json.dump(fx, f, separators=(",", ":"))
        f.write("\n")
    return name


def C(F, H, L, T, pool, *, D=0, O=1, bn=False, act="none"):
    return {"F": F, "H": H, "L": L, "T": T, "pool": pool, "D": D, "O": O,
            "bn": bn, "act": act}


def foval(F, H, L, T, pool, act="elu", bn=True):
    return C(F, H, L, T, pool, D=32, O=1, bn=bn, act=act)


# Covering F ∈ {3, 40}, H ∈ {8, 64, 1435}, 1–2 layers, T ∈ {1, 10, 50}, both
# layouts, every pooling and activation; not the full cross product.
CASES = [
    foval(3, 8, 1, 10, "max"),
    foval(40, 64, 1, 10, "max"),
    foval(3, 64, 2, 50, "max"),
    foval(3, 8, 2, 1, "mean"),
    foval(3, 64, 1, 50, "last", act="relu"),
    foval(40, 8, 1, 10, "mean", act="tanh"),
    foval(3, 8, 1, 10, "max", act="none", bn=False),
    foval(40, 64, 1, 1, "last", act="relu", bn=False),
    C(3, 8, 1, 10, "max", O=1),
    C(3, 8, 2, 50, "last", O=3),
    C(40, 64, 1, 10, "mean", O=3),
    C(40, 8, 2, 1, "max", O=1),
    C(40, 8, 2, 10, "last", O=1, bn=True),
    foval(40, 1435, 1, 10, "max"),
    C(3, 1435, 1, 1, "last", O=3),
    C(40, 1435, 1, 10, "mean", O=1),
]
for _i, _c in enumerate(CASES):
    _c["seed"] = 1000 + _i


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--out", default=os.path.join(here, "..", "tests",
                                                 "fixtures", "lstm"))
    args = p.parse_args()
    torch.set_num_threads(1)  # a fixed reduction order, reproducible digits
    check_prng()
    os.makedirs(args.out, exist_ok=True)
    for c in CASES:
        name = make_case(c, args.out)
        print(name, file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
