#!/usr/bin/python3
"""PyTorch CPU latency of torchvision ResNets, for `make bench` to print
beside ours. Run with Debian's /usr/bin/python3 (python3-torch,
python3-torchvision). Prints one JSON object: {"resnet18": ms, ...}.

usage: /usr/bin/python3 tools/bench_torch.py [runs] [size] [batch] [arch ...]
"""
import json, os, statistics, sys, time

import torch
import torchvision

runs = int(sys.argv[1]) if len(sys.argv) > 1 else 5
size = int(sys.argv[2]) if len(sys.argv) > 2 else 224
batch = int(sys.argv[3]) if len(sys.argv) > 3 else 1
archs = sys.argv[4:] or ["resnet18", "resnet50"]
torch.set_num_threads(os.cpu_count() or 1)
out = {"threads": torch.get_num_threads(), "torch": torch.__version__}
for name in archs:
    m = getattr(torchvision.models, name)().eval()
    x = torch.randn(batch, 3, size, size)
    with torch.inference_mode():
        m(x)  # warm-up
        times = []
        for _ in range(runs):
            t = time.perf_counter()
            m(x)
            times.append((time.perf_counter() - t) * 1e3)
    out[name] = statistics.median(times)
print(json.dumps(out))
