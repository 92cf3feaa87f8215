#!/usr/bin/python3
"""Small JPEGs and libjpeg's own reduced-size decodes of them, for the Go
tests of model/preprocess/jpegscale (scaled_test.go in model/preprocess)
to match.

Regenerate (Debian's /usr/bin/python3 with python3-pil; jpegtran from
libjpeg-turbo-progs for the restart-marker files):

    /usr/bin/python3 tools/jpegscale_golden.py

It writes testdata/jpegscale/: NAME.jpg, and NAME_sS.png for S in 2, 4, 8:
PIL's decode of NAME.jpg in draft mode at 1/S (libjpeg-turbo's scaled
IDCT), converted to RGB, plus versions.txt naming the libraries; and
tiny/*.jpg, 16×16 and smaller files of each kind, the fuzzer's seeds
(small seeds keep its minimisation quick).
"""
import os, subprocess

import PIL
from PIL import Image, features

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
OUT = os.path.join(ROOT, "testdata", "jpegscale")
W, H = 131, 93  # not whole MCUs, so the padding blocks are exercised

src = Image.open(os.path.join(ROOT, "testdata", "photos", "chelsea.png")).convert("RGB")
src = src.resize((W, H), Image.BICUBIC)

cases = {
    "base444": dict(img=src, subsampling=0),
    "base422": dict(img=src, subsampling=1),
    "base420": dict(img=src, subsampling=2),
    "basegray": dict(img=src.convert("L")),
    "prog420": dict(img=src, subsampling=2, progressive=True),
    "prog444": dict(img=src, subsampling=0, progressive=True),
    "proggray": dict(img=src.convert("L"), progressive=True),
}
os.makedirs(OUT, exist_ok=True)
for name, c in cases.items():
    img = c.pop("img")
    img.save(os.path.join(OUT, name + ".jpg"), quality=90, **c)
# Restart markers every MCU, baseline and progressive (libjpeg's default
# script, with successive approximation), via jpegtran.
for name, extra in [("rst420", []), ("rstprog420", ["-progressive"])]:
    data = subprocess.run(["jpegtran", "-restart", "1B", *extra, os.path.join(OUT, "base420.jpg")],
                          check=True, capture_output=True).stdout
    open(os.path.join(OUT, name + ".jpg"), "wb").write(data)

for f in sorted(os.listdir(OUT)):
    if not f.endswith(".jpg"):
        continue
    for s in (2, 4, 8):
        im = Image.open(os.path.join(OUT, f))
        w, h = im.size
        im.draft(im.mode, (w // s, h // s))
        assert im.size == ((w + s - 1) // s, (h + s - 1) // s), (f, s, im.size)
        im.convert("RGB").save(os.path.join(OUT, f"{f[:-4]}_s{s}.png"))

TINY = os.path.join(OUT, "tiny")
os.makedirs(TINY, exist_ok=True)
small = src.resize((16, 16), Image.BICUBIC)
for name, c in {
    "base420": dict(img=small, subsampling=2),
    "base422": dict(img=small.crop((0, 0, 13, 9)), subsampling=1),
    "prog420": dict(img=small, subsampling=2, progressive=True),
    "prog444": dict(img=small.crop((0, 0, 11, 7)), subsampling=0, progressive=True),
    "proggray": dict(img=small.convert("L"), progressive=True),
}.items():
    img = c.pop("img")
    img.save(os.path.join(TINY, name + ".jpg"), quality=75, optimize=True, **c)
data = subprocess.run(["jpegtran", "-restart", "1B", "-progressive", "-optimize", os.path.join(TINY, "base420.jpg")],
                      check=True, capture_output=True).stdout
open(os.path.join(TINY, "rstprog420.jpg"), "wb").write(data)

jt = subprocess.run(["jpegtran", "-version"], capture_output=True, text=True)
with open(os.path.join(OUT, "versions.txt"), "w") as v:
    v.write(f"Pillow {PIL.__version__}, libjpeg-turbo {features.version('libjpeg_turbo')}\n")
    v.write((jt.stderr or jt.stdout).strip().splitlines()[0] + "\n")
