#!/usr/bin/python3
"""Small torch.save files for model/convert's reader tests, beside the
shared ones in testdata/pth (written by tools/golden/gen.py).

Run from the repository root with Debian's torch (not the pyenv python):

    /usr/bin/python3 model/convert/testdata/gen.py

It reads testdata/pth/tiny_basic_10.pth, so run tools/golden first. It
also writes:

  layouts/*.pth     training checkpoints as the ImageNet example, the
                    checkpoint tutorial, torchvision's references,
                    pytorch-cifar and Lightning save them, around
                    tools/golden/gen.py's micro_basic_10 (values =
                    golden.Fill(net, 1)); the bare state dict re-zipped
                    with deflate; two small ones for FuzzPth's seeds; and
                    tiny-width MobileNetV2, VGG-11 and DenseNet-121 state
                    dicts (subsets of their keys).
  keysets.json.gz   the full state-dict names and shapes of torchvision's
                    classifiers (no weights), for the family detection.

Reruns rewrite the same bytes except module.pth and script.pt (their
pickles name objects by memory address): restore those with git.
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

# ---------------------------------------------------------------- layouts
# Training checkpoints as the scripts people use save them, around the
# micro ResNet of tools/golden/gen.py (values = golden.Fill(net, 1)), in
# testdata/layouts/.
import argparse
import copy
import gzip
import json
import re
import sys
import zipfile

sys.path.insert(0, os.path.join(ROOT, "tools", "golden"))
import gen as golden  # noqa: E402

import torchvision  # noqa: E402

torch.set_num_threads(1)
torch.manual_seed(0)  # the tiny non-ResNets keep torch's random init
LAYOUTS = os.path.join(HERE, "layouts")
os.makedirs(LAYOUTS, exist_ok=True)


def save_layout(name, obj):
    path = os.path.join(LAYOUTS, name)
    torch.save(obj, path)
    print("%-34s %7d bytes" % ("layouts/" + name, os.path.getsize(path)))
    return path


def micro():
    model, _, _ = golden.build("micro_basic_10")
    golden.fill(model, 1)
    return model


def prefixed(sd, prefix):
    return collections.OrderedDict((prefix + k, v) for k, v in sd.items())


def stepped_sgd(model, **kw):
    """An SGD optimizer's state dict after one step on a copy of the model
    (fixed gradients: reruns write the same bytes), as a checkpoint saved
    after training holds it (momentum buffers); the model is untouched."""
    m = copy.deepcopy(model)
    opt = torch.optim.SGD(m.parameters(), **kw)
    for p in m.parameters():
        p.grad = torch.full_like(p, 0.01)
    opt.step()
    return opt, opt.state_dict()


def rezip(src, dst):
    """Re-writes a torch.save zip with every entry deflated (entry dates
    kept, so reruns write the same bytes)."""
    with zipfile.ZipFile(src) as zi, zipfile.ZipFile(dst, "w", zipfile.ZIP_DEFLATED) as zo:
        for info in zi.infolist():
            out = zipfile.ZipInfo(info.filename, info.date_time)
            out.compress_type = zipfile.ZIP_DEFLATED
            zo.writestr(out, zi.read(info.filename))


net = micro()
sd = net.state_dict()

# The PyTorch ImageNet example (examples/imagenet/main.py save_checkpoint):
# the model is DataParallel ("module."), best_acc1 a tensor.
opt, opt_sd = stepped_sgd(net, lr=0.1, momentum=0.9, weight_decay=1e-4)
sched = torch.optim.lr_scheduler.StepLR(opt, step_size=30, gamma=0.1)
save_layout("imagenet_example.pth", {"epoch": 3, "arch": "micro_basic_10", "state_dict": prefixed(sd, "module."),
                                     "best_acc1": torch.tensor(37.5), "optimizer": opt_sd,
                                     "scheduler": sched.state_dict()})

# PyTorch's "saving and loading a general checkpoint" tutorial, with a
# torch.compile'd model ("_orig_mod.", written by hand: torch 1.13 has no
# compile) and the loss tensor of the last batch.
# (Without momentum, to keep the file small: the state holds
# momentum_buffer None per parameter; the ImageNet example has buffers.)
_, opt_sd = stepped_sgd(net, lr=0.001)
x = torch.ones(2, requires_grad=True)
save_layout("tutorial.pth", {"epoch": 5, "model_state_dict": prefixed(sd, "_orig_mod."),
                             "optimizer_state_dict": opt_sd, "loss": (x * 0.125).sum()})

# torchvision's references/classification/train.py: model_without_ddp's
# state dict, and the argparse Namespace of the run.
opt, opt_sd = stepped_sgd(net, lr=0.5, weight_decay=2e-5)
sched = torch.optim.lr_scheduler.StepLR(opt, step_size=30, gamma=0.1)
args = argparse.Namespace(model="micro_basic_10", lr=0.5, epochs=600, batch_size=128, data_path="/datasets01/imagenet",
                          output_dir=".", label_smoothing=0.1, mixup_alpha=0.2, model_ema=False)
save_layout("references.pth", {"model": sd, "optimizer": opt_sd, "lr_scheduler": sched.state_dict(), "epoch": 2,
                               "args": args})

# pytorch-cifar (kuangliu): {'net', 'acc', 'epoch'}, the net compiled and
# then wrapped by DistributedDataParallel ("module._orig_mod.").
save_layout("cifar_net.pth", {"net": prefixed(sd, "module._orig_mod."), "acc": 93.25, "epoch": 10})

# PyTorch Lightning: the LightningModule keeps the ResNet as self.model.
save_layout("lightning.pth", {"epoch": 1, "global_step": 40, "pytorch-lightning_version": "2.1.0",
                              "state_dict": prefixed(sd, "model."), "loops": {}, "callbacks": {},
                              "optimizer_states": [], "lr_schedulers": [], "hparams_name": "kwargs",
                              "hyper_parameters": {"lr": 0.1, "num_classes": 10}})

# The bare state dict re-zipped with deflate, as zipfile (or zip -r)
# re-writes a torch.save file.
bare = save_layout("bare.pth", sd)
rezip(bare, os.path.join(LAYOUTS, "deflated.pth"))
os.remove(bare)
print("%-34s %7d bytes" % ("layouts/deflated.pth", os.path.getsize(os.path.join(LAYOUTS, "deflated.pth"))))

# A small wrapper for FuzzPth's seed corpus (under 16 KB): every layout
# feature at once, and its deflated copy.
small = collections.OrderedDict()
small["module._orig_mod.conv1.weight"] = torch.from_numpy(golden.values("conv1.weight", 1, (2, 3, 1, 1), 1.0, 0.0))
small["module._orig_mod.bn1.num_batches_tracked"] = torch.tensor(4)
small["module._orig_mod.fc.bias"] = torch.from_numpy(golden.values("fc.bias", 1, (3,), 1.0, 0.0)).half()
lin = torch.nn.Linear(1, 1)
opt, opt_sd = stepped_sgd(lin, lr=0.1, momentum=0.9)
seed = save_layout("seed_wrapper.pth", {"epoch": 1, "arch": "resnet18", "state_dict": small,
                                        "best_acc1": torch.tensor(1.5), "optimizer": opt_sd,
                                        "args": argparse.Namespace(lr=0.1)})
rezip(seed, os.path.join(LAYOUTS, "seed_deflated.pth"))
print("%-34s %7d bytes" % ("layouts/seed_deflated.pth", os.path.getsize(os.path.join(LAYOUTS, "seed_deflated.pth"))))

# ---------------------------------------------------------------- not ResNets
# Real torchvision models at tiny widths, some with tiny heads, saved whole
# or as a subset of their keys (enough to tell the family).
from torchvision.models.densenet import DenseNet  # noqa: E402
from torchvision.models.vgg import VGG, make_layers  # noqa: E402
from torchvision.ops.misc import Conv2dNormActivation  # noqa: E402

mb = torchvision.models.mobilenet_v2(num_classes=10, width_mult=0.1)
mb.features[18] = Conv2dNormActivation(mb.features[17].out_channels, 8, kernel_size=1, activation_layer=torch.nn.ReLU6)
mb.classifier[1] = torch.nn.Linear(8, 10)
keep = re.compile(r"^(features\.(0|1|18)\.|classifier\.)")
save_layout("mobilenet_v2.pth", collections.OrderedDict((k, v) for k, v in mb.state_dict().items() if keep.match(k)))

vgg = VGG(make_layers([1, "M", 2, "M", 2, 2, "M", 4, 4, "M", 4, 4, "M"]), num_classes=10)
vgg.classifier = torch.nn.Sequential(torch.nn.Linear(4 * 7 * 7, 8), torch.nn.ReLU(True), torch.nn.Dropout(),
                                     torch.nn.Linear(8, 8), torch.nn.ReLU(True), torch.nn.Dropout(),
                                     torch.nn.Linear(8, 10))
save_layout("vgg11.pth", vgg.state_dict())

dn = DenseNet(growth_rate=2, block_config=(6, 12, 24, 16), num_init_features=4, bn_size=1, num_classes=10)
keep = re.compile(r"^features\.(conv0|norm0|denseblock1\.denselayer1\.|transition1\.|denseblock4\.denselayer16\.|norm5)"
                  r"|^classifier\.")
save_layout("densenet121.pth", collections.OrderedDict((k, v) for k, v in dn.state_dict().items() if keep.match(k)))

# ---------------------------------------------------------------- key sets
# The full state-dict names and shapes of torchvision's classifiers, for
# the family detection on real key sets (weights are not kept).
for fn in ("uniform_", "normal_", "kaiming_uniform_", "kaiming_normal_", "xavier_uniform_", "trunc_normal_",
           "constant_", "zeros_", "ones_"):
    setattr(torch.nn.init, fn, lambda t, *a, **k: t)  # skip the costly init: only shapes are kept
KEYSETS = ["resnet18", "resnet34", "resnet50", "resnet101", "resnet152", "resnext50_32x4d", "resnext101_32x8d",
           "resnext101_64x4d", "wide_resnet50_2", "wide_resnet101_2",
           "alexnet", "vgg11", "vgg11_bn", "vgg13", "vgg16", "vgg19_bn", "densenet121", "densenet161", "densenet169",
           "densenet201", "mobilenet_v2", "mobilenet_v3_small", "mobilenet_v3_large", "efficientnet_b0",
           "efficientnet_v2_s", "squeezenet1_0", "squeezenet1_1", "googlenet", "inception_v3", "shufflenet_v2_x1_0",
           "mnasnet1_0", "regnet_x_400mf", "regnet_y_400mf", "convnext_tiny", "vit_b_16", "swin_t", "swin_v2_t",
           "maxvit_t"]
sets = []
for name in KEYSETS:
    m = getattr(torchvision.models, name)(weights=None)
    sets.append({"name": name, "tensors": [[k, list(v.shape)] for k, v in m.state_dict().items()]})
    if name == "densenet121":
        # the names of torchvision's published densenet weights, which it
        # renames on load ("norm.1" for "norm1")
        old = re.compile(r"^(.*denselayer\d+\.(?:norm|relu|conv))([12])\.(weight|bias|running_mean|running_var)$")
        sets.append({"name": "densenet121_published_names",
                     "tensors": [[old.sub(r"\1.\2.\3", k), list(v.shape)] for k, v in m.state_dict().items()]})
    del m
path = os.path.join(HERE, "keysets.json.gz")
with gzip.GzipFile(path, "wb", mtime=0) as f:
    f.write(json.dumps({"torchvision": torchvision.__version__, "models": sets}, separators=(",", ":")).encode())
print("%-34s %7d bytes" % ("keysets.json.gz", os.path.getsize(path)))
