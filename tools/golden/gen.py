#!/usr/bin/python3
"""Golden fixtures for Residual, computed by the real torchvision.

README
======

What it writes
--------------
testdata/golden/<net>_<size>.json
                         one fixture per (network, input): the architecture
                         (model.Arch's JSON fields) plus bn_eps, the seed,
                         torch's parameter count, the digest of every
                         generated state-dict tensor (see digest), the
                         per-stage output shapes and checksums (forward
                         hooks; sum and sum of |x| in float64) and the logits
                         (base64 little-endian float32, logits_shape [B,K]).
                         torchvision nets: resnet18, resnet34, resnet50,
                         resnet101, resnet152, resnext50_32x4d,
                         wide_resnet50_2 at 2x3x64x64 (resnet18 and resnet50
                         also 1x3x224x224), and resnet50_v1 (stride on the
                         bottleneck's conv1, conv biases, BN eps 1e-3).
                         Tiny nets (TinyResNet: base width 8 or 4, see TINY)
                         at 3x3x32x32 for fast tests.
testdata/golden/generator.json
                         the first values of a few generator streams, so the
                         Go port (model/golden) is checked bit for bit.
testdata/pth/*.pth       small real torch.save files for the .pth reader, each
                         with a .json sidecar (names, dtypes, shapes, strides,
                         storage offsets, sums, first values): the tiny nets'
                         state dicts (values = golden.Fill), a training
                         checkpoint, views/shared storage, a legacy
                         (non-zip) file, assorted dtypes, and a whole tiny
                         ResNet in float16 and in bfloat16 with planted
                         subnormals (sidecar digests: torch's float32).

How to regenerate
-----------------
From the repository root, with Debian's python3-torch 1.13 and
python3-torchvision 0.14 (they live in /usr/bin/python3, NOT in the pyenv
python3 that may come first on PATH):

    /usr/bin/python3 tools/golden/gen.py            # everything, ~15 s
    /usr/bin/python3 tools/golden/gen.py --only tiny_basic,generator,pth

then run `go test ./model/golden`. Nothing is random: every value comes from
the generator below, and reruns rewrite identical files (torch is pinned to
one thread so its reductions keep their order) -- except legacy.pth, whose
pickle names storages by memory address; its sidecar does not change.
Measured on the 2-core dev machine: 10.9 s for everything (the biggest,
wide_resnet50_2: 2.7 s to generate 69 M values, 0.4 s forward).

The generator (implemented bit for bit by model/golden in Go)
-------------------------------------------------------------
    key(name, seed) = FNV-1a-64(utf-8 bytes of name) XOR seed
    raw_i           = SplitMix64 output i for state key:
                      z = key + (i+1)*0x9E3779B97F4A7C15           (mod 2^64)
                      z = (z ^ (z>>30)) * 0xBF58476D1CE4E5B9
                      z = (z ^ (z>>27)) * 0x94D049BB133111EB
                      raw_i = z ^ (z>>31)
    u_i             = float32(raw_i >> 40) * 2^-24 * 2 - 1          in [-1, 1), exact
    value_i         = float32(u_i * scale) + offset                  (float32 ops)

scale and offset are float32, chosen per tensor kind (see DISTS and
conv_scale); a scale computed from a formula is evaluated in float64 and
rounded once to float32, identically in both languages. Tensors are filled
in row-major order of their torchvision shape; the input batch is the stream
named "input". Kinds (decided from the owning torch module):

    conv weight           scale sqrt(6/fan_in), fan_in = Cin/groups*k*k, times
                          0.25 for the last conv of a block's main branch
    fc weight             scale sqrt(3/in_features)
    BN weight, running_var        0.5*u + 1   in [0.5, 1.5)
    BN bias, running_mean,
    conv bias, fc bias            0.125*u
    input                         u

digest(tensor) = sum over i of mix(bits(v[i]) | i<<32) mod 2^64, mix being
SplitMix64's output function, i the row-major index.
"""

import argparse
import base64
import json
import math
import os
import sys
import time

import numpy as np
import torch
import torch.nn as nn
import torchvision
from torchvision.models.resnet import BasicBlock, Bottleneck, ResNet

GAMMA = 0x9E3779B97F4A7C15
MIX1 = 0xBF58476D1CE4E5B9
MIX2 = 0x94D049BB133111EB
MASK64 = (1 << 64) - 1

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
GOLDEN_DIR = os.path.join(ROOT, "testdata", "golden")
PTH_DIR = os.path.join(ROOT, "testdata", "pth")

# Residual-closing convs (the last conv of a block's main branch) get this
# extra factor so that 50 additive blocks do not blow activations up.
CLOSING_FACTOR = 0.25

# Distributions of the tensor kinds: value = float32(u*scale) + offset.
# conv and fc weights get a fan-in scale (conv_scale, fc_scale).
DISTS = {
    "input": (1.0, 0.0),
    "bn_weight": (0.5, 1.0),  # [0.5, 1.5)
    "bn_bias": (0.125, 0.0),
    "running_mean": (0.125, 0.0),
    "running_var": (0.5, 1.0),  # [0.5, 1.5), positive
    "conv_bias": (0.125, 0.0),
    "fc_bias": (0.125, 0.0),
}


def conv_scale(fan_in, closing):
    """He-uniform bound sqrt(6/fan_in) (variance 2/fan_in), float64 then float32."""
    s = math.sqrt(6.0 / fan_in)
    if closing:
        s *= CLOSING_FACTOR
    return np.float32(s)


def fc_scale(fan_in):
    """LeCun-uniform bound sqrt(3/fan_in) (variance 1/fan_in)."""
    return np.float32(math.sqrt(3.0 / fan_in))


def fnv1a64(name):
    h = 0xCBF29CE484222325
    for b in name.encode("utf-8"):
        h ^= b
        h = (h * 0x100000001B3) & MASK64
    return h


def key(name, seed):
    return fnv1a64(name) ^ (seed & MASK64)


def raw(name, seed, n):
    """The first n SplitMix64 outputs of the stream (name, seed), uint64."""
    i = np.arange(1, n + 1, dtype=np.uint64)
    return mix64(np.uint64(key(name, seed)) + i * np.uint64(GAMMA))


def uniform(name, seed, n):
    """float32 in [-1, 1) from the top 24 bits; every step is exact."""
    top = (raw(name, seed, n) >> np.uint64(40)).astype(np.float32)
    return (top * np.float32(2.0 ** -24)) * np.float32(2.0) - np.float32(1.0)


def values(name, seed, shape, scale, offset):
    n = int(np.prod(shape)) if len(shape) else 1
    u = uniform(name, seed, n)
    v = u * np.float32(scale)
    if offset != 0:
        v = v + np.float32(offset)
    assert v.dtype == np.float32
    return v.reshape(shape)


def mix64(z):
    """SplitMix64's finaliser on a uint64 array."""
    z = (z ^ (z >> np.uint64(30))) * np.uint64(MIX1)
    z = (z ^ (z >> np.uint64(27))) * np.uint64(MIX2)
    return z ^ (z >> np.uint64(31))


def digest(a):
    """Digest of a float32 tensor, as 16 hex digits:
    sum over i of mix64(float32 bits of a[i] | i<<32), mod 2^64 (row-major i).
    Position-sensitive, and a vectorised sum in both languages."""
    bits = np.ascontiguousarray(a, dtype=np.float32).reshape(-1).view(np.uint32).astype(np.uint64)
    i = np.arange(bits.size, dtype=np.uint64)
    return "%016x" % int(mix64(bits | (i << np.uint64(32))).sum(dtype=np.uint64))


def tensor_dists(model):
    """(scale, offset) for every float state-dict tensor of a torchvision ResNet,
    decided from the module that owns it."""
    closing = set()
    for name, m in model.named_modules():
        if isinstance(m, Bottleneck):
            closing.add(name + ".conv3")
        elif isinstance(m, BasicBlock):
            closing.add(name + ".conv2")
    d = {}
    for name, m in model.named_modules():
        p = name + "." if name else ""
        if isinstance(m, nn.Conv2d):
            kh, kw = m.kernel_size
            fan_in = (m.in_channels // m.groups) * kh * kw
            d[p + "weight"] = (conv_scale(fan_in, name in closing), 0.0)
            if m.bias is not None:
                d[p + "bias"] = DISTS["conv_bias"]
        elif isinstance(m, nn.BatchNorm2d):
            d[p + "weight"] = DISTS["bn_weight"]
            d[p + "bias"] = DISTS["bn_bias"]
            d[p + "running_mean"] = DISTS["running_mean"]
            d[p + "running_var"] = DISTS["running_var"]
        elif isinstance(m, nn.Linear):
            d[p + "weight"] = (fc_scale(m.in_features), 0.0)
            d[p + "bias"] = DISTS["fc_bias"]
    return d


def fill(model, seed):
    """Overwrite every parameter and BN buffer from the generator; returns
    [(name, np.ndarray)] in state-dict order (num_batches_tracked skipped)."""
    dists = tensor_dists(model)
    sd = model.state_dict()
    out = []
    for name, t in sd.items():
        if name.endswith("num_batches_tracked"):
            continue
        if name not in dists:
            raise SystemExit("no distribution for state-dict tensor %s" % name)
        scale, offset = dists[name]
        v = values(name, seed, tuple(t.shape), scale, offset)
        with torch.no_grad():
            t.copy_(torch.from_numpy(v))
        out.append((name, v))
    if len(out) != len(dists):
        raise SystemExit("filled %d tensors, expected %d" % (len(out), len(dists)))
    return out


# ---------------------------------------------------------------- networks


class TinyResNet(ResNet):
    """torchvision's ResNet with a stem width (and layer1 planes) of base
    instead of 64, built by torchvision's own _make_layer and blocks; this
    is model.Arch{BaseChannels: base}."""

    def __init__(self, block, layers, base, num_classes=1000, groups=1, width_per_group=64):
        nn.Module.__init__(self)
        self._norm_layer = nn.BatchNorm2d
        self.inplanes = base
        self.dilation = 1
        self.groups = groups
        self.base_width = width_per_group
        self.conv1 = nn.Conv2d(3, base, kernel_size=7, stride=2, padding=3, bias=False)
        self.bn1 = nn.BatchNorm2d(base)
        self.relu = nn.ReLU(inplace=True)
        self.maxpool = nn.MaxPool2d(kernel_size=3, stride=2, padding=1)
        self.layer1 = self._make_layer(block, base, layers[0])
        self.layer2 = self._make_layer(block, base * 2, layers[1], stride=2)
        self.layer3 = self._make_layer(block, base * 4, layers[2], stride=2)
        self.layer4 = self._make_layer(block, base * 8, layers[3], stride=2)
        self.avgpool = nn.AdaptiveAvgPool2d((1, 1))
        self.fc = nn.Linear(base * 8 * block.expansion, num_classes)


def arch_json(name, block, layers, groups, wpg, classes, variant, base, conv_bias):
    a = {
        "name": name,
        "block": block,
        "layers": list(layers),
        "groups": groups,
        "width_per_group": wpg,
        "num_classes": classes,
        "variant": variant,
        "base_channels": base,
    }
    if conv_bias:
        a["conv_bias"] = True
    return a


def to_v1(model):
    """Move the stride of every layer's first bottleneck from conv2 to conv1
    (the paper's v1, as in the Caffe/Keras weights)."""
    for layer in (model.layer2, model.layer3, model.layer4):
        b = layer[0]
        b.conv1.stride = (2, 2)
        b.conv2.stride = (1, 1)


def add_conv_bias(model):
    for m in model.modules():
        if isinstance(m, nn.Conv2d) and m.bias is None:
            m.bias = nn.Parameter(torch.zeros(m.out_channels))


def set_bn_eps(model, eps):
    for m in model.modules():
        if isinstance(m, nn.BatchNorm2d):
            m.eps = eps


TV = {
    "resnet18": ("basic", (2, 2, 2, 2), 1, 64),
    "resnet34": ("basic", (3, 4, 6, 3), 1, 64),
    "resnet50": ("bottleneck", (3, 4, 6, 3), 1, 64),
    "resnet101": ("bottleneck", (3, 4, 23, 3), 1, 64),
    "resnet152": ("bottleneck", (3, 8, 36, 3), 1, 64),
    "resnext50_32x4d": ("bottleneck", (3, 4, 6, 3), 32, 4),
    "wide_resnet50_2": ("bottleneck", (3, 4, 6, 3), 1, 128),
}

TINY = {
    # name: block, layers, base, groups, width_per_group, classes, v1+bias+eps1e-3
    "tiny_basic": ("basic", (1, 1, 1, 1), 8, 1, 64, 1000, False),
    "tiny_bottleneck": ("bottleneck", (1, 2, 1, 1), 8, 2, 32, 10, False),
    "tiny_bottleneck_v1": ("bottleneck", (2, 1, 1, 1), 8, 1, 64, 1000, True),
    "tiny_basic_10": ("basic", (1, 1, 1, 1), 4, 1, 64, 10, False),
    # only for .pth files (no golden fixture): small enough that a whole
    # checkpoint is a few tens of KB
    "micro_basic_10": ("basic", (1, 1, 1, 1), 2, 1, 64, 10, False),
}


def build(fixture):
    """Returns (model, arch dict, bn eps) for a fixture network name."""
    if fixture in TINY:
        block, layers, base, groups, wpg, classes, v1 = TINY[fixture]
        cls = BasicBlock if block == "basic" else Bottleneck
        m = TinyResNet(cls, layers, base, classes, groups, wpg)
        a = arch_json(fixture, block, layers, groups, wpg, classes, "v1.5", base, False)
    else:
        tv = "resnet50" if fixture == "resnet50_v1" else fixture
        block, layers, groups, wpg = TV[tv]
        m = getattr(torchvision.models, tv)(weights=None)
        a = arch_json(tv, block, layers, groups, wpg, 1000, "v1.5", 64, False)
        v1 = fixture == "resnet50_v1"
    eps = 1e-5
    if v1:
        to_v1(m)
        add_conv_bias(m)
        set_bn_eps(m, 1e-3)
        eps = 1e-3
        a["variant"] = "v1"
        a["conv_bias"] = True
    return m.eval(), a, eps


# ---------------------------------------------------------------- fixtures


def checksum(t):
    d = t.detach().double()
    return {"shape": list(t.shape), "sum": d.sum().item(), "abs_sum": d.abs().sum().item()}


def run_stages(model, x):
    """Forward with hooks; returns (logits, stages) where stages follow
    model.Net.Stages: input, conv1, bn1+relu, maxpool, layer1..4 (with
    blocks), avgpool, flatten, fc."""
    rec = {}
    hooks = []

    def hook(name):
        def f(mod, inp, out):
            rec[name] = checksum(out)  # now: later inplace ops must not leak in

        return f

    named = [("conv1", model.conv1), ("bn1+relu", model.relu), ("maxpool", model.maxpool)]
    for li in range(1, 5):
        layer = getattr(model, "layer%d" % li)
        named.append(("layer%d" % li, layer))
        for bi, blk in enumerate(layer):
            named.append(("layer%d.%d" % (li, bi), blk))
    named += [("avgpool", model.avgpool), ("fc", model.fc)]
    for n, m in named:
        hooks.append(m.register_forward_hook(hook(n)))
    with torch.no_grad():
        logits = model(x)
    for h in hooks:
        h.remove()
    stages = [dict(name="input", **checksum(x))]
    for n in ["conv1", "bn1+relu", "maxpool"]:
        stages.append(dict(name=n, **rec[n]))
    for li in range(1, 5):
        ln = "layer%d" % li
        s = dict(name=ln, **rec[ln])
        s["blocks"] = [dict(name="%s.%d" % (ln, bi), **rec["%s.%d" % (ln, bi)]) for bi in range(len(getattr(model, ln)))]
        stages.append(s)
    av = rec["avgpool"]
    stages.append(dict(name="avgpool", **av))
    stages.append(dict(name="flatten", shape=av["shape"][:2], sum=av["sum"], abs_sum=av["abs_sum"]))
    stages.append(dict(name="fc", **rec["fc"]))
    return logits, stages


def write_json(path, obj):
    with open(path, "w") as f:
        json.dump(obj, f, separators=(",", ":"))
        f.write("\n")


def make_fixture(fixture, inputs, seed):
    t0 = time.time()
    model, arch, eps = build(fixture)
    sd = fill(model, seed)
    tensors = [[n, list(v.shape), digest(v)] for n, v in sd]
    params = sum(p.numel() for p in model.parameters())
    t_fill = time.time() - t0
    for shape in inputs:
        t1 = time.time()
        x = torch.from_numpy(values("input", seed, tuple(shape), *DISTS["input"]))
        logits, stages = run_stages(model, x)
        lg = logits.numpy().astype("<f4")
        fx = {
            "fixture": fixture,
            "arch": arch,
            "bn_eps": eps,
            "seed": seed,
            "input_shape": list(shape),
            "params": params,
            "torch": torch.__version__,
            "torchvision": torchvision.__version__,
            "tensors": tensors,
            "stages": stages,
            "logits_shape": list(lg.shape),
            "logits_b64": base64.b64encode(lg.tobytes()).decode("ascii"),
        }
        fn = "%s_%d.json" % (fixture, shape[2])
        write_json(os.path.join(GOLDEN_DIR, fn), fx)
        print("%-28s fill+digest %6.2fs forward %6.2fs  max|logit| %.4g  layer4 mean|x| %.4g"
              % (fn, t_fill, time.time() - t1, float(np.abs(lg).max()),
                 stages[7]["abs_sum"] / np.prod(stages[7]["shape"])), flush=True)


def make_generator(seed_list):
    """First values of a few streams: raw uint64, uniform and scaled float32."""
    entries = []
    for seed in seed_list:
        for name, kind, arg in [
            ("input", "input", None),
            ("conv1.weight", "conv", 147),
            ("layer1.0.conv2.weight", "conv_closing", 576),
            ("layer1.0.bn1.weight", "bn_weight", None),
            ("layer1.0.bn1.running_var", "running_var", None),
            ("fc.weight", "fc", 512),
            ("fc.bias", "fc_bias", None),
        ]:
            if kind == "conv":
                scale, offset = conv_scale(arg, False), 0.0
            elif kind == "conv_closing":
                scale, offset = conv_scale(arg, True), 0.0
            elif kind == "fc":
                scale, offset = fc_scale(arg), 0.0
            else:
                scale, offset = DISTS[kind]
            n = 8
            r = raw(name, seed, n)
            u = uniform(name, seed, n)
            v = values(name, seed, (n,), scale, offset)
            entries.append({
                "name": name,
                "seed": seed,
                "kind": kind,
                "fan_in": arg or 0,
                "key": "%016x" % key(name, seed),
                "scale_bits": "%08x" % np.float32(scale).view(np.uint32),
                "offset": offset,
                "raw": ["%016x" % int(x) for x in r],
                "uniform_bits": ["%08x" % int(x) for x in u.view(np.uint32)],
                "values": [float(x) for x in v],
                "values_bits": ["%08x" % int(x) for x in v.view(np.uint32)],
            })
    write_json(os.path.join(GOLDEN_DIR, "generator.json"), {"closing_factor": CLOSING_FACTOR, "entries": entries})
    for e in entries[:3]:
        print("generator %s seed %d: %s" % (e["name"], e["seed"], e["values"][:4]))


# ---------------------------------------------------------------- .pth files


def short(x):
    """x (a float32 value) as the float64 whose repr is the shortest decimal
    that reads back as the same float32 (keeps the sidecars small)."""
    return float(str(np.float32(x)))


def describe(sd, digests=False):
    """Sidecar entries: what a reader must reconstruct for each tensor, in
    logical row-major order. With digests, float tensors also get the
    digest of torch's own float32 conversion (every value, bit for bit)
    and their count of subnormal values."""
    out = []
    for name, t in sd.items():
        d = t.detach().double().contiguous().reshape(-1)
        idx = torch.arange(d.numel(), dtype=torch.float64)
        e = {
            "name": name,
            "dtype": str(t.dtype).replace("torch.", ""),
            "shape": list(t.shape),
            "stride": list(t.stride()),
            "storage_offset": t.storage_offset(),
            "storage_numel": t.storage().size(),
            "sum": d.sum().item(),
            "abs_sum": d.abs().sum().item(),
            # position-weighted: catches a reader that ignores strides
            "weighted_sum": (d * (idx % 17 + 1)).sum().item(),
        }
        if digests and t.is_floating_point():
            f = t.detach().float().contiguous()
            e["digest"] = digest(f.numpy())
            e["subnormals"] = int(((f != 0) & (f.abs() < torch.finfo(t.dtype).tiny)).sum().item())
        if d.numel() <= 64:
            e["values"] = [short(x) for x in d.tolist()]
        else:
            e["head"] = [short(x) for x in d[:4].tolist()]
        out.append(e)
    return out


def save_pth(fn, obj, sd, extra, legacy=False, digests=False):
    path = os.path.join(PTH_DIR, fn)
    if legacy:
        torch.save(obj, path, _use_new_zipfile_serialization=False)
    else:
        torch.save(obj, path)
    side = dict(extra)
    side.update({"file": fn, "format": "legacy" if legacy else "zip", "torch": torch.__version__,
                 "tensors": describe(sd, digests)})
    write_json(os.path.join(PTH_DIR, fn[:-4] + ".json"), side)
    print("%-32s %8d bytes" % (fn, os.path.getsize(path)))


def make_pth(seed):
    os.makedirs(PTH_DIR, exist_ok=True)
    # (a), (b), (f): generated tiny networks, values equal golden.Fill(net, seed).
    for fn, fixture, what in [
        ("tiny_basic.pth", "tiny_basic", "state dict of the tiny basic ResNet"),
        ("tiny_bottleneck.pth", "tiny_bottleneck", "state dict of the tiny grouped bottleneck ResNet (10 classes)"),
        ("tiny_basic_10.pth", "tiny_basic_10", "state dict of the tiny basic ResNet with a 10-class head"),
    ]:
        model, arch, eps = build(fixture)
        fill(model, seed)
        sd = model.state_dict()
        save_pth(fn, sd, sd, {"what": what, "arch": arch, "bn_eps": eps, "seed": seed, "generated": True})

    # (d) a training checkpoint around the 10-class net.
    model, arch, eps = build("tiny_basic_10")
    fill(model, seed)
    sd = model.state_dict()
    save_pth("checkpoint.pth", {"state_dict": sd, "epoch": 3}, sd,
             {"what": "training checkpoint {'state_dict': sd, 'epoch': 3}", "arch": arch, "bn_eps": eps,
              "seed": seed, "generated": True, "state_dict_key": "state_dict", "epoch": 3})

    # (c) views: non-contiguous tensors, shared storage, storage offsets, int64.
    base = torch.from_numpy(values("views.base", seed, (6, 10), 1.0, 0.0))
    conv = torch.from_numpy(values("views.conv", seed, (4, 3, 2, 2), 1.0, 0.0))
    views = {
        "base": base,  # whole storage, shared with the three below
        "transposed": base.t(),  # [10,6], stride (1,10)
        "rows": base[2:5],  # storage offset 20
        "cols": base[:, 3:7],  # offset 3, stride (10,1), non-contiguous
        "strided": base[1::2, ::3],  # offset 10, stride (20,3)
        "channels_last": conv.contiguous(memory_format=torch.channels_last),
        "expanded": torch.from_numpy(values("views.bias", seed, (5,), 1.0, 0.0)).unsqueeze(0).expand(3, 5),  # stride (0,1)
        "scalar": torch.tensor(2.5),
        "bn.num_batches_tracked": torch.tensor(7, dtype=torch.int64),
        "long_vec": torch.arange(-3, 5, dtype=torch.int64)[1::2],
    }
    save_pth("views.pth", views, views, {"what": "views, shared storage, storage offsets, strides, int64", "seed": seed,
                                         "generated": False})

    # (e) legacy (pre-1.6, non-zip) serialization of a small dict.
    legacy = {"conv.weight": conv.clone(), "fc.bias": torch.from_numpy(values("legacy.bias", seed, (10,), 1.0, 0.0)),
              "bn.num_batches_tracked": torch.tensor(0, dtype=torch.int64)}
    save_pth("legacy.pth", legacy, legacy, {"what": "legacy non-zip torch.save (_use_new_zipfile_serialization=False)",
                                           "seed": seed, "generated": False}, legacy=True)

    # (g) other dtypes real checkpoints carry.
    h = torch.from_numpy(values("dtypes.x", seed, (3, 4), 1.0, 0.0))
    dt = {"f16": h.half(), "bf16": h.bfloat16(), "f64": h.double(), "i32": torch.arange(6, dtype=torch.int32),
          "u8": torch.arange(250, 256, dtype=torch.uint8), "bool": torch.tensor([True, False, True])}
    save_pth("dtypes.pth", dt, dt, {"what": "float16, bfloat16, float64, int32, uint8, bool tensors", "seed": seed,
                                     "generated": False})

    # (h) a whole ResNet saved in float16 and in bfloat16 (model.half(),
    # model.bfloat16()), with subnormal values planted in every tensor:
    # the sidecars hold the digest of torch's own float32 conversion.
    for fn, dtype, ulp, kinds in [("micro_f16.pth", torch.float16, 2.0 ** -24, 1023),
                                  ("micro_bf16.pth", torch.bfloat16, 2.0 ** -133, 127)]:
        model, arch, eps = build("micro_basic_10")
        fill(model, seed)
        plant_subnormals(model, ulp, kinds)
        model = model.to(dtype)
        sd = model.state_dict()
        save_pth(fn, sd, sd, {"what": "state dict of a tiny basic ResNet saved as %s, subnormals planted (every 5th "
                                      "value of every float tensor is ±k·%g)" % (str(dtype)[6:], ulp),
                              "arch": arch, "bn_eps": eps, "seed": seed, "generated": False}, digests=True)


def plant_subnormals(model, ulp, kinds):
    """Sets every 5th value of every float tensor to ±k·ulp, k in 1..kinds
    (the subnormals of a format whose smallest subnormal is ulp), signs
    alternating (running variances stay positive), so that a reader's conversion of them is checked on a
    real file; in float16, fc.weight[0,0] is 0x0099, which gopickle v0.3.0
    decodes as 7.0e-5 instead of 9.1e-6."""
    with torch.no_grad():
        for name, t in model.state_dict().items():
            if not t.is_floating_point():
                continue
            flat = t.view(-1)
            for n, j in enumerate(range(0, flat.numel(), 5)):
                k = 1 + (j * 131) % kinds
                negative = n % 2 and not name.endswith("running_var")  # a variance stays positive
                flat[j] = (-1.0 if negative else 1.0) * k * ulp
        if kinds == 1023:
            model.fc.weight[0, 0] = 153 * ulp


# ---------------------------------------------------------------- main

ALL = ["generator", "tiny_basic", "tiny_basic_10", "tiny_bottleneck", "tiny_bottleneck_v1", "resnet18",
       "resnet34", "resnet50", "resnet50_v1", "resnet101", "resnet152", "resnext50_32x4d", "wide_resnet50_2", "pth"]

SEED = 1


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--only", default="", help="comma-separated subset of: " + ",".join(ALL))
    args = ap.parse_args()
    todo = args.only.split(",") if args.only else ALL
    for t in todo:
        if t not in ALL:
            sys.exit("unknown target %r (known: %s)" % (t, ", ".join(ALL)))
    torch.set_num_threads(1)  # deterministic reductions, and the machine is shared
    os.makedirs(GOLDEN_DIR, exist_ok=True)
    start = time.time()
    for t in todo:
        if t == "generator":
            make_generator([SEED, 0xDEADBEEFCAFEF00D])
        elif t == "pth":
            make_pth(SEED)
        elif t.startswith("tiny"):
            make_fixture(t, [(3, 3, 32, 32)], SEED)
        elif t in ("resnet18", "resnet50"):
            make_fixture(t, [(2, 3, 64, 64), (1, 3, 224, 224)], SEED)
        else:
            make_fixture(t, [(2, 3, 64, 64)], SEED)
    print("total %.1fs" % (time.time() - start))


if __name__ == "__main__":
    main()
