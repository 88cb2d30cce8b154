#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Export a PyTorch LSTM gaze model to a deepactif model file.

The file is safetensors (see deepactif-model(5)): an 8-byte little-endian
header length, a JSON header padded with spaces to a multiple of 8, then the
raw little-endian float32 tensors under PyTorch's own names.  The
"__metadata__" entry "deepactif" holds a JSON document with the architecture,
window, task, feature names, robust-scaler parameters and input scaling
(global, or per-user with a warm-up).

Two module layouts are understood, by attribute name:

  FOVAL: lstm (nn.LSTM, batch_first), optional batchnorm (nn.BatchNorm1d over
         the hidden units), fc1 (nn.Linear), optional activation (nn.ELU,
         nn.ReLU, nn.Tanh; absent or nn.Identity = none), fc5 (nn.Linear)
  plain: lstm, optional batchnorm, fc (nn.Linear)

The forward pass deepactif implements is the one of FovalNet and PlainNet
below: LSTM from zero state, eval-mode batchnorm per hidden unit, pooling over
time (max, last or mean), then the dense head.

Use as a module:

    from deepactif_export import export_model
    export_model(model, "gaze.safetensors", features=names, window=10,
                 pooling="max", scaler={"median": med, "iqr": iqr},
                 task="regression", unit="m")

or from the command line (see --help).  The script needs torch and numpy but
not the safetensors package.
"""

import argparse
import json
import math
import struct
import sys

import numpy as np
import torch
from torch import nn

FORMAT_VERSION = 1
POOLINGS = ("max", "last", "mean")
ACTIVATIONS = ("elu", "relu", "tanh", "none")
TASKS = ("regression", "classification")
# The loader's bounds (lib/model.c, lib/model-file.c); a file outside them
# would be refused, so refuse to write it.
LIMITS = {"input_size": 4096, "hidden_size": 8192, "num_layers": 16,
          "dense": 8192, "outputs": 4096}
MAX_WINDOW = 100000
MAX_HEADER = 64 * 1024 * 1024

__all__ = ["export_model", "read_model_file", "FovalNet", "PlainNet",
           "FORMAT_VERSION"]


class ExportError(ValueError):
    """The module or the options cannot be expressed as a deepactif model."""


def _activation_module(name):
    if name == "elu":
        return nn.ELU()
    if name == "relu":
        return nn.ReLU()
    if name == "tanh":
        return nn.Tanh()
    if name == "none":
        return None
    raise ExportError(f"unknown activation {name!r}, expected one of {ACTIVATIONS}")


def _pool(out, pooling):
    if pooling == "max":
        return out.max(dim=1).values
    if pooling == "last":
        return out[:, -1, :]
    if pooling == "mean":
        return out.mean(dim=1)
    raise ExportError(f"unknown pooling {pooling!r}, expected one of {POOLINGS}")


class _Net(nn.Module):
    def _trunk(self, x):
        out, _ = self.lstm(x)
        if self.batchnorm is not None:
            # BatchNorm1d normalises dim 1, so the hidden units go there.
            out = self.batchnorm(out.permute(0, 2, 1)).permute(0, 2, 1)
        return _pool(out, self.pooling)


class FovalNet(_Net):
    """Reference FOVAL layout: lstm → batchnorm → pool → fc1 → act → fc5.

    Input is (batch, T, input_size); output (batch, outputs)."""

    def __init__(self, input_size, hidden_size, num_layers=1, dense=32,
                 outputs=1, activation="elu", pooling="max", batchnorm=True):
        super().__init__()
        if pooling not in POOLINGS:
            raise ExportError(f"unknown pooling {pooling!r}")
        self.lstm = nn.LSTM(input_size, hidden_size, num_layers=num_layers,
                            batch_first=True)
        self.batchnorm = nn.BatchNorm1d(hidden_size) if batchnorm else None
        self.fc1 = nn.Linear(hidden_size, dense)
        self.activation = _activation_module(activation)
        self.fc5 = nn.Linear(dense, outputs)
        self.pooling = pooling

    def forward(self, x):
        y = self.fc1(self._trunk(x))
        if self.activation is not None:
            y = self.activation(y)
        return self.fc5(y)


class PlainNet(_Net):
    """Reference plain layout: lstm → (batchnorm) → pool → fc."""

    def __init__(self, input_size, hidden_size, num_layers=1, outputs=1,
                 pooling="max", batchnorm=False):
        super().__init__()
        if pooling not in POOLINGS:
            raise ExportError(f"unknown pooling {pooling!r}")
        self.lstm = nn.LSTM(input_size, hidden_size, num_layers=num_layers,
                            batch_first=True)
        self.batchnorm = nn.BatchNorm1d(hidden_size) if batchnorm else None
        self.fc = nn.Linear(hidden_size, outputs)
        self.pooling = pooling

    def forward(self, x):
        return self.fc(self._trunk(x))


def _f32(t):
    """A tensor as a contiguous little-endian float32 numpy array."""
    a = t.detach().to(device="cpu", dtype=torch.float32).contiguous().numpy()
    return np.ascontiguousarray(a, dtype="<f4")


def _linear(module, name, in_features):
    lin = getattr(module, name, None)
    if not isinstance(lin, nn.Linear):
        raise ExportError(f"module.{name} must be an nn.Linear, "
                          f"got {type(lin).__name__}")
    if lin.in_features != in_features:
        raise ExportError(f"module.{name} takes {lin.in_features} inputs, "
                          f"expected {in_features}")
    w = _f32(lin.weight)
    b = (_f32(lin.bias) if lin.bias is not None
         else np.zeros(lin.out_features, dtype="<f4"))
    return lin.out_features, w, b


def _activation_name(act):
    if act is None or isinstance(act, nn.Identity):
        return "none"
    if isinstance(act, nn.ELU):
        if act.alpha != 1.0:
            raise ExportError(f"nn.ELU with alpha={act.alpha} is not "
                              "supported, only alpha=1")
        return "elu"
    if isinstance(act, nn.ReLU):
        return "relu"
    if isinstance(act, nn.Tanh):
        return "tanh"
    raise ExportError(f"module.activation {type(act).__name__} is not "
                      "supported (nn.ELU, nn.ReLU, nn.Tanh or none)")


def _model_tensors(module):
    """Validate the module and return (architecture dict, [(name, array)])."""
    lstm = getattr(module, "lstm", None)
    if not isinstance(lstm, nn.LSTM):
        raise ExportError(f"module.lstm must be an nn.LSTM, "
                          f"got {type(lstm).__name__}")
    if not lstm.batch_first:
        raise ExportError("module.lstm must be built with batch_first=True")
    if lstm.bidirectional:
        raise ExportError("bidirectional LSTMs are not supported")
    if getattr(lstm, "proj_size", 0):
        raise ExportError("LSTMs with proj_size > 0 are not supported")
    if lstm.num_layers < 1:
        raise ExportError("module.lstm has no layers")

    F, H, L = lstm.input_size, lstm.hidden_size, lstm.num_layers
    tensors = []
    for k in range(L):
        ins = F if k == 0 else H
        w_ih = _f32(getattr(lstm, f"weight_ih_l{k}"))
        w_hh = _f32(getattr(lstm, f"weight_hh_l{k}"))
        if w_ih.shape != (4 * H, ins) or w_hh.shape != (4 * H, H):
            raise ExportError(f"module.lstm layer {k} has unexpected weight "
                              f"shapes {w_ih.shape}, {w_hh.shape}")
        if lstm.bias:
            b_ih = _f32(getattr(lstm, f"bias_ih_l{k}"))
            b_hh = _f32(getattr(lstm, f"bias_hh_l{k}"))
        else:
            # bias=False is the same model with zero biases.
            b_ih = np.zeros(4 * H, dtype="<f4")
            b_hh = np.zeros(4 * H, dtype="<f4")
        tensors += [(f"lstm.weight_ih_l{k}", w_ih),
                    (f"lstm.weight_hh_l{k}", w_hh),
                    (f"lstm.bias_ih_l{k}", b_ih),
                    (f"lstm.bias_hh_l{k}", b_hh)]

    bn = getattr(module, "batchnorm", None)
    eps = 1e-05
    if bn is not None:
        if not isinstance(bn, nn.BatchNorm1d):
            raise ExportError(f"module.batchnorm must be an nn.BatchNorm1d, "
                              f"got {type(bn).__name__}")
        if bn.num_features != H:
            raise ExportError(f"module.batchnorm has {bn.num_features} "
                              f"features, expected hidden_size {H}")
        if bn.running_mean is None or bn.running_var is None:
            raise ExportError("module.batchnorm has no running statistics "
                              "(track_running_stats=False)")
        eps = float(bn.eps)
        ones, zeros = np.ones(H, dtype="<f4"), np.zeros(H, dtype="<f4")
        tensors += [
            ("batchnorm.weight", _f32(bn.weight) if bn.weight is not None else ones),
            ("batchnorm.bias", _f32(bn.bias) if bn.bias is not None else zeros),
            ("batchnorm.running_mean", _f32(bn.running_mean)),
            ("batchnorm.running_var", _f32(bn.running_var)),
        ]
        if np.any(tensors[-1][1] < 0):
            raise ExportError("batchnorm.running_var has negative entries")

    foval = hasattr(module, "fc1") or hasattr(module, "fc5")
    if foval and hasattr(module, "fc"):
        raise ExportError("module has both fc and fc1/fc5; cannot tell the "
                          "FOVAL layout from the plain one")
    if foval:
        D, w1, b1 = _linear(module, "fc1", H)
        O, w5, b5 = _linear(module, "fc5", D)
        activation = _activation_name(getattr(module, "activation", None))
        tensors += [("fc1.weight", w1), ("fc1.bias", b1),
                    ("fc5.weight", w5), ("fc5.bias", b5)]
    elif hasattr(module, "fc"):
        D, activation = 0, "none"
        O, w, b = _linear(module, "fc", H)
        tensors += [("fc.weight", w), ("fc.bias", b)]
    else:
        raise ExportError("module has neither fc1+fc5 (FOVAL layout) nor fc "
                          "(plain layout)")

    for name, a in tensors:
        if not np.all(np.isfinite(a)):
            raise ExportError(f"tensor {name} holds NaN or Inf values")

    arch = {"input_size": F, "hidden_size": H, "num_layers": L,
            "batchnorm": bn is not None, "batchnorm_eps": eps,
            "pooling": None, "dense": D, "activation": activation,
            "outputs": O}
    for key, hi in LIMITS.items():
        if arch[key] > hi:
            raise ExportError(f"{key} {arch[key]} exceeds the limit of {hi}")
    if not 0 < eps < 1:
        raise ExportError(f"batchnorm eps {eps} must be in (0, 1)")
    return arch, tensors


def _float_list(values, what, n):
    a = np.asarray(values, dtype=np.float64).reshape(-1)
    if a.size != n:
        raise ExportError(f"{what} has {a.size} entries, expected {n}")
    if not np.all(np.isfinite(a)):
        raise ExportError(f"{what} holds NaN or Inf values")
    # The C side keeps float32; write the exact float32 values.
    return [float(v) for v in a.astype(np.float32)]


def _scaler_dict(scaler, F):
    if scaler is None:
        return None
    if hasattr(scaler, "center_") and hasattr(scaler, "scale_"):
        # sklearn.preprocessing.RobustScaler: scale_ is the IQR only with the
        # default quantile range and without unit_variance.
        qr = tuple(getattr(scaler, "quantile_range", (25.0, 75.0)))
        if qr != (25.0, 75.0) or getattr(scaler, "unit_variance", False):
            raise ExportError("RobustScaler must use quantile_range=(25, 75) "
                              "and unit_variance=False")
        median, iqr = scaler.center_, scaler.scale_
    elif isinstance(scaler, dict):
        try:
            median, iqr = scaler["median"], scaler["iqr"]
        except KeyError as e:
            raise ExportError(f"scaler lacks {e.args[0]!r}") from None
    else:
        raise ExportError("scaler must be None, a dict with 'median' and "
                          "'iqr', or a fitted RobustScaler")
    median = _float_list(median, "scaler median", F)
    iqr = _float_list(iqr, "scaler iqr", F)
    if any(v <= 0 for v in iqr):
        raise ExportError("scaler iqr entries must be > 0")
    return {"type": "robust", "median": median, "iqr": iqr}


SCALINGS = ("global", "per-user")
MAX_WARMUP = 100000


def _scaling_dict(scaling, warmup):
    if scaling not in SCALINGS:
        raise ExportError(f"scaling must be one of {SCALINGS}, got {scaling!r}")
    if scaling == "global":
        if warmup is not None:
            raise ExportError("warmup is only for per-user scaling")
        return {"type": "global"}
    if (isinstance(warmup, bool) or not isinstance(warmup, int)
            or not 4 <= warmup <= MAX_WARMUP):
        raise ExportError(f"per-user scaling needs warmup, an integer in "
                          f"4..{MAX_WARMUP} frames, got {warmup!r}")
    return {"type": "per-user", "warmup": warmup}


def _metadata(arch, *, features, window, hop, pooling, scaler, task, unit,
              classes, scaling="global", warmup=None):
    F, O = arch["input_size"], arch["outputs"]
    if pooling not in POOLINGS:
        raise ExportError(f"pooling must be one of {POOLINGS}, got {pooling!r}")
    arch = dict(arch, pooling=pooling)
    for what, v in (("window", window), ("hop", hop)):
        if (isinstance(v, bool) or not isinstance(v, int)
                or not 1 <= v <= MAX_WINDOW):
            raise ExportError(f"{what} must be an integer in 1..{MAX_WINDOW}, "
                              f"got {v!r}")

    features = list(features)
    if len(features) != F:
        raise ExportError(f"{len(features)} feature names for a model with "
                          f"input_size {F}")
    for f in features:
        if not isinstance(f, str) or not f or "\0" in f:
            raise ExportError(f"bad feature name {f!r}")
    if len(set(features)) != F:
        raise ExportError("feature names are not unique")

    if task == "regression":
        if classes is not None:
            raise ExportError("classes given for a regression model")
        t = {"type": "regression"}
        if unit is not None:
            if not isinstance(unit, str) or not unit:
                raise ExportError(f"bad unit {unit!r}")
            t["unit"] = unit
    elif task == "classification":
        if unit is not None:
            raise ExportError("unit given for a classification model")
        classes = list(classes or [])
        if len(classes) != O:
            raise ExportError(f"{len(classes)} class names for a model with "
                              f"{O} outputs")
        if not all(isinstance(c, str) and c for c in classes):
            raise ExportError("class names must be non-empty strings")
        if len(set(classes)) != O:
            raise ExportError("class names are not unique")
        t = {"type": "classification", "classes": classes}
    else:
        raise ExportError(f"task must be one of {TASKS}, got {task!r}")

    return {"format_version": FORMAT_VERSION,
            "architecture": arch,
            "window": {"length": window, "hop": hop},
            "task": t,
            "features": features,
            "scaler": _scaler_dict(scaler, F),
            "scaling": _scaling_dict(scaling, warmup)}


def _write_safetensors(path, tensors, metadata):
    header = {"__metadata__": metadata}
    offset = 0
    for name, a in tensors:
        header[name] = {"dtype": "F32", "shape": list(a.shape),
                        "data_offsets": [offset, offset + a.nbytes]}
        offset += a.nbytes
    h = json.dumps(header, separators=(",", ":"), ensure_ascii=False)
    h = h.encode("utf-8")
    h += b" " * (-len(h) % 8)
    if len(h) > MAX_HEADER:
        raise ExportError(f"the header would be {len(h)} bytes, over the "
                          f"limit of {MAX_HEADER}")
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)))
        f.write(h)
        for _, a in tensors:
            f.write(a.astype("<f4", copy=False).tobytes(order="C"))


def export_model(module, path, *, features, window, pooling="max",
                 scaler=None, task="regression", unit=None, hop=1,
                 classes=None, scaling="global", warmup=None):
    """Write module as a deepactif model file at path.

    features: the F input feature names, in input order.
    window:   the window length T the model was trained on; hop: frames
              between consecutive windows.
    pooling:  "max", "last" or "mean" over time (must match the module's
              own pooling attribute when it has one).
    scaler:   None, {"median": [F], "iqr": [F]} or a fitted
              sklearn RobustScaler; inputs are scaled as (x - median) / iqr.
    scaling:  "global" (with the scaler above) or "per-user": each device's
              own online median/IQR after warmup valid frames, during which
              no window is evaluated; the model must have been trained on
              inputs scaled that way, each subject causally.
    task:     "regression" (with an optional unit such as "m") or
              "classification" (with classes, one name per output).

    Raises ExportError (a ValueError) naming the problem when the module or
    an option cannot be represented.  Returns the metadata document."""
    own = getattr(module, "pooling", None)
    if isinstance(own, str) and own != pooling:
        raise ExportError(f"module pools with {own!r} but pooling={pooling!r} "
                          "was asked for")
    arch, tensors = _model_tensors(module)
    doc = _metadata(arch, features=features, window=window, hop=hop,
                    pooling=pooling, scaler=scaler, task=task, unit=unit,
                    classes=classes, scaling=scaling, warmup=warmup)
    _write_safetensors(path, tensors,
                       {"deepactif": json.dumps(doc, separators=(",", ":"))})
    return doc


def read_model_file(path):
    """Parse a deepactif model file: returns ({name: float32 array}, doc).

    Strict about the safetensors framing; used to check exports."""
    with open(path, "rb") as f:
        data = f.read()
    if len(data) < 8:
        raise ValueError(f"{path}: shorter than the 8-byte header length")
    (n,) = struct.unpack_from("<Q", data, 0)
    if n > len(data) - 8:
        raise ValueError(f"{path}: header length {n} runs past the end")
    header = json.loads(data[8:8 + n].decode("utf-8"))
    body = memoryview(data)[8 + n:]
    meta = header.pop("__metadata__", None) or {}
    if "deepactif" not in meta:
        raise ValueError(f"{path}: no deepactif metadata")
    doc = json.loads(meta["deepactif"])
    tensors, spans = {}, []
    for name, info in header.items():
        if info.get("dtype") != "F32":
            raise ValueError(f"{path}: tensor {name} is not F32")
        shape = tuple(info["shape"])
        begin, end = info["data_offsets"]
        if end - begin != 4 * math.prod(shape) or end > len(body):
            raise ValueError(f"{path}: tensor {name} has bad data_offsets")
        spans.append((begin, end))
        tensors[name] = np.frombuffer(body[begin:end], dtype="<f4").reshape(shape)
    covered = 0
    for begin, end in sorted(spans):
        if begin != covered:
            raise ValueError(f"{path}: tensor data has gaps or overlaps")
        covered = end
    if covered != len(body):
        raise ValueError(f"{path}: trailing bytes after the tensor data")
    return tensors, doc


def _unwrap_state_dict(obj):
    for key in ("state_dict", "model_state_dict", "model"):
        if isinstance(obj, dict) and isinstance(obj.get(key), dict):
            obj = obj[key]
    # nn.DataParallel saves "module."-prefixed names.
    if obj and all(k.startswith("module.") for k in obj):
        obj = {k[len("module."):]: v for k, v in obj.items()}
    return obj


def _module_from_state_dict(sd, args):
    """Rebuild a reference net from a state_dict, sizes taken from shapes."""
    if "lstm.weight_ih_l0" not in sd:
        raise ExportError("state_dict has no lstm.weight_ih_l0")
    H4, F = sd["lstm.weight_ih_l0"].shape
    H = H4 // 4
    L = 0
    while f"lstm.weight_ih_l{L}" in sd:
        L += 1
    if any(k.startswith("lstm.") and k.endswith("_reverse") for k in sd):
        raise ExportError("bidirectional LSTMs are not supported")
    bn = "batchnorm.running_mean" in sd
    if "fc1.weight" in sd:
        D = sd["fc1.weight"].shape[0]
        O = sd["fc5.weight"].shape[0]
        net = FovalNet(F, H, L, dense=D, outputs=O,
                       activation=args.activation, pooling=args.pooling,
                       batchnorm=bn)
    elif "fc.weight" in sd:
        O = sd["fc.weight"].shape[0]
        net = PlainNet(F, H, L, outputs=O, pooling=args.pooling, batchnorm=bn)
    else:
        raise ExportError("state_dict has neither fc1/fc5 nor fc weights")
    if not any(k.startswith("lstm.bias") for k in sd):
        net.lstm = nn.LSTM(F, H, num_layers=L, batch_first=True, bias=False)
    # Extra entries are ignored; num_batches_tracked is not exported, so old
    # checkpoints without it are fine.
    wanted = [k for k in net.state_dict()
              if not k.endswith("num_batches_tracked")]
    missing = [k for k in wanted if k not in sd]
    if missing:
        raise ExportError(f"state_dict lacks {', '.join(missing)}")
    net.load_state_dict({k: sd[k] for k in wanted}, strict=False)
    return net


def _read_list(spec):
    if spec.startswith("@"):
        with open(spec[1:], encoding="utf-8") as f:
            return [ln.strip() for ln in f if ln.strip()]
    return [s.strip() for s in spec.split(",") if s.strip()]


def main(argv=None):
    p = argparse.ArgumentParser(
        description="Export a PyTorch LSTM gaze model (torch.save'd module "
                    "or state_dict) to a deepactif model file (safetensors).",
        epilog="A state_dict is rebuilt as FovalNet (when it has fc1/fc5) or "
               "PlainNet (when it has fc); sizes come from the tensor shapes, "
               "the activation from --activation. See deepactif-model(5).")
    p.add_argument("input", help="file written by torch.save(): an nn.Module "
                   "or a state_dict (also {'state_dict': ...} checkpoints)")
    p.add_argument("-o", "--output", required=True,
                   help="model file to write (.safetensors)")
    p.add_argument("--features", required=True,
                   help="comma-separated input feature names in input order, "
                        "or @FILE with one name per line")
    p.add_argument("--window", type=int, required=True,
                   help="window length T in frames")
    p.add_argument("--hop", type=int, default=1,
                   help="frames between consecutive windows (default 1)")
    p.add_argument("--pooling", choices=POOLINGS, default="max",
                   help="pooling over time (default max)")
    p.add_argument("--activation", choices=ACTIVATIONS, default="elu",
                   help="activation between fc1 and fc5 when rebuilding a "
                        "FOVAL state_dict (default elu)")
    p.add_argument("--scaler", metavar="JSON",
                   help='robust scaler as a JSON file {"median": [..], '
                        '"iqr": [..]}')
    p.add_argument("--scaling", choices=SCALINGS, default="global",
                   help="global (the --scaler) or per-user (each device's own "
                        "online median/IQR after --warmup frames)")
    p.add_argument("--warmup", type=int,
                   help="per-user warm-up in valid frames")
    p.add_argument("--task", choices=TASKS, default="regression")
    p.add_argument("--unit", help="unit of a regression output, e.g. m")
    p.add_argument("--classes", help="comma-separated class names, or @FILE "
                   "(classification)")
    args = p.parse_args(argv)

    try:
        obj = torch.load(args.input, map_location="cpu")
        if isinstance(obj, nn.Module):
            module = obj
        elif isinstance(obj, dict):
            module = _module_from_state_dict(_unwrap_state_dict(obj), args)
        else:
            raise ExportError(f"{args.input} holds a {type(obj).__name__}, "
                              "not a module or a state_dict")
        scaler = None
        if args.scaler:
            with open(args.scaler, encoding="utf-8") as f:
                scaler = json.load(f)
        doc = export_model(
            module, args.output, features=_read_list(args.features),
            window=args.window, hop=args.hop, pooling=args.pooling,
            scaler=scaler, task=args.task, unit=args.unit,
            classes=_read_list(args.classes) if args.classes else None,
            scaling=args.scaling, warmup=args.warmup)
    except (ExportError, OSError, json.JSONDecodeError) as e:
        print(f"deepactif_export: {e}", file=sys.stderr)
        return 1
    a = doc["architecture"]
    print(f"{args.output}: {a['num_layers']}×LSTM({a['input_size']}→"
          f"{a['hidden_size']}), pooling {a['pooling']}, "
          f"{'dense ' + str(a['dense']) if a['dense'] else 'plain head'}, "
          f"{a['outputs']} output(s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
