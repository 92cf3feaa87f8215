#!/usr/bin/python3
"""Small torch.save files for model/convert's reader tests, beside the
shared ones in testdata/pth (written by tools/golden/gen.py).

Run from the repository root with Debian's torch (not the pyenv python):

    /usr/bin/python3 model/convert/testdata/gen.py

It reads testdata/pth/tiny_basic_10.pth, so run tools/golden first.
"""
import collections
import os

import torch

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(HERE)))


def save(name, obj):
    path = os.path.join(HERE, name)
    torch.save(obj, path)
    print("%-22s %7d bytes" % (name, os.path.getsize(path)))


sd = torch.load(os.path.join(ROOT, "testdata", "pth", "tiny_basic_10.pth"))

# DataParallel keys inside a {"model": …} wrapper with an "arch" entry and
# training state beside it.
wrapped = collections.OrderedDict(("module." + k, v) for k, v in sd.items())
save("dataparallel.pth", {"epoch": 7, "arch": "tiny_basic_10", "model": wrapped, "best_acc1": 0.5})

# Not state dicts.
save("tensor.pth", torch.arange(6, dtype=torch.float32))
save("list.pth", [torch.zeros(2), torch.ones(2)])
save("nodict.pth", {"epoch": 3, "optimizer": {"lr": 0.1}})
save("mixed.pth", {"conv1.weight": torch.zeros(2, 3, 1, 1), "note": "hello"})
save("module.pth", torch.nn.Linear(2, 3))

# A TorchScript archive.
torch.jit.save(torch.jit.script(torch.nn.Linear(2, 3)), os.path.join(HERE, "script.pt"))
print("%-22s %7d bytes" % ("script.pt", os.path.getsize(os.path.join(HERE, "script.pt"))))
