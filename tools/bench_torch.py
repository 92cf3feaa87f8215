#!/usr/bin/python3
"""PyTorch CPU latency of torchvision ResNets, for `make bench` to print
beside ours. Run with Debian's /usr/bin/python3 (python3-torch,
python3-torchvision). Prints one JSON object: {"resnet18": ms, ...}.

usage: /usr/bin/python3 tools/bench_torch.py [runs] [size] [batch] [arch ...]
TORCH_DEVICE=cuda times the GPU instead (synchronized, fp32, eval mode).
"""
import json, os, statistics, sys, time

import torch
import torchvision

runs = int(sys.argv[1]) if len(sys.argv) > 1 else 5
size = int(sys.argv[2]) if len(sys.argv) > 2 else 224
batch = int(sys.argv[3]) if len(sys.argv) > 3 else 1
archs = sys.argv[4:] or ["resnet18", "resnet50"]
torch.set_num_threads(os.cpu_count() or 1)
dev = os.environ.get("TORCH_DEVICE", "cpu")
out = {"threads": torch.get_num_threads(), "torch": torch.__version__, "device": dev}
if dev == "cuda":
    out["gpu"] = torch.cuda.get_device_name(0)
sync = torch.cuda.synchronize if dev == "cuda" else (lambda: None)
for name in archs:
    m = getattr(torchvision.models, name)().eval().to(dev)
    x = torch.randn(batch, 3, size, size, device=dev)
    with torch.inference_mode():
        m(x)  # warm-up
        sync()
        times = []
        for _ in range(runs):
            t = time.perf_counter()
            m(x).cpu()
            sync()
            times.append((time.perf_counter() - t) * 1e3)
    out[name] = statistics.median(times)
print(json.dumps(out))
