#!/usr/bin/python3
"""Reference outputs of PIL and torchvision preprocessing, for the Go tests
of model/preprocess (golden_test.go) to match.

Regenerate (Debian's /usr/bin/python3 with python3-pil, python3-torch and
python3-torchvision; reads testdata/photos, so run tools/make_testimages.py
first if those changed):

    /usr/bin/python3 tools/preprocess_golden.py

It writes testdata/preprocess/:
  golden.json  the cases below with their expected results and the
               library versions that produced them;
  *.png        small exact expected images (PIL's uint8 output);
  inputs       a few small inputs made here (noise.png, portrait.png, and
               JPEG/WebP files whose PIL decodes are stored beside them).

Cases:
  "pipeline": torchvision's Compose([Resize(r), CenterCrop(c), ToTensor(),
      Normalize(mean, std)]) on Image.open(f).convert("RGB"), checked by
      the sha256 of the uint8 crop (HWC RGB bytes) and of the float32
      tensor [1,3,c,c] (little-endian), plus sampled tensor values; small
      crops are also stored as PNG. "caffe" cases apply the Caffe/Keras
      normalisation instead (BGR, 0-255, mean subtracted) to the same crop.
      Inputs decoded by libjpeg (JPEG files) are marked exact=false: Go's
      JPEG decoder uses a different IDCT, so only closeness is expected.
  "resize": Image.resize((w, h), Image.BILINEAR) alone, including sizes
      torchvision never asks for (one axis up, the other down; 1x1), on a
      noise image and on a synthetic 1234x987 image computed from a formula
      the Go test repeats (nothing stored but hashes).
  "decode": PIL's decode (convert("RGB")) of small JPEG (4:4:4, 4:2:2,
      4:2:0, progressive, odd sizes) and WebP (lossy, lossy with alpha,
      lossless) files, to check the Go decoders' colour conversion.
"""
import hashlib, json, os

import numpy as np
import PIL
import torch
import torchvision
from PIL import Image
from torchvision import transforms

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
TD = os.path.join(ROOT, "testdata")
OUT = os.path.join(TD, "preprocess")
TV_MEAN, TV_STD = [0.485, 0.456, 0.406], [0.229, 0.224, 0.225]
CAFFE_MEAN = [103.939, 116.779, 123.68]  # BGR
PNG_MAX = 100  # crops up to this side are stored as PNG too (JPEG inputs always)


def sha(b):
    return hashlib.sha256(b).hexdigest()


def synthetic(w, h):
    """Must match synthetic() in golden_test.go."""
    y, x = np.mgrid[0:h, 0:w].astype(np.int64)
    chans = [(x * x * 7 + y * y * 3 + x * y * 5 + c * 101 + (x >> 3) * (y >> 2) * 13) % 256 for c in range(3)]
    return Image.fromarray(np.stack(chans, axis=-1).astype(np.uint8), "RGB")


def load(rel):
    if rel.startswith("synthetic:"):
        w, h = map(int, rel.split(":")[1].split("x"))
        return synthetic(w, h)
    return Image.open(os.path.join(TD, rel)).convert("RGB")


def samples(t, n=64):
    flat = t.reshape(-1)
    idx = np.random.RandomState(0).choice(flat.size, min(n, flat.size), replace=False)
    idx.sort()
    return [[int(i), float(flat[i])] for i in idx]


def pipeline(name, rel, resize, crop, caffe=False):
    img = load(rel)
    resized = transforms.Resize(resize)(img)  # InterpolationMode.BILINEAR on PIL
    cropped = transforms.CenterCrop(crop)(resized)
    if caffe:
        x = np.asarray(cropped, dtype=np.float32)[:, :, ::-1] - np.array(CAFFE_MEAN, dtype=np.float32)
        t = np.ascontiguousarray(x.transpose(2, 0, 1)[None])
        mean, std, order, scale = CAFFE_MEAN, [1, 1, 1], "BGR", 255
    else:
        t = transforms.Normalize(TV_MEAN, TV_STD)(transforms.ToTensor()(cropped)).unsqueeze(0).numpy()
        mean, std, order, scale = TV_MEAN, TV_STD, "RGB", 1
    assert t.dtype == np.float32 and t.shape == (1, 3, crop, crop)
    case = {
        "name": name, "input": rel, "resize": resize, "crop": crop,
        "channel_order": order, "input_scale": scale, "mean": mean, "std": std,
        "resized": list(resized.size), "exact": not rel.endswith(".jpg"),
        "crop_sha256": sha(cropped.tobytes()),
        "tensor_sha256": sha(t.astype("<f4").tobytes()),
        "samples": samples(t),
    }
    if crop <= PNG_MAX or not case["exact"]:
        case["png"] = f"preprocess/{name}.png"
        cropped.save(os.path.join(TD, case["png"]))
    return case


def resize_case(name, rel, w, h):
    out = load(rel).resize((w, h), Image.BILINEAR)
    case = {"name": name, "input": rel, "size": [w, h], "sha256": sha(out.tobytes())}
    if w * h <= PNG_MAX * PNG_MAX:
        case["png"] = f"preprocess/{name}.png"
        out.save(os.path.join(TD, case["png"]))
    return case


def decode_case(name, im, ext, **save):
    rel = f"preprocess/{name}.{ext}"
    im.save(os.path.join(TD, rel), **save)
    back = Image.open(os.path.join(TD, rel))
    back.load()
    png = f"preprocess/{name}.png"
    back.convert("RGB").save(os.path.join(TD, png))
    return {"name": name, "input": rel, "png": png, "pil_mode": back.mode, "exact": ext != "jpg"}


def main():
    os.makedirs(OUT, exist_ok=True)
    rng = np.random.RandomState(1)
    Image.fromarray(rng.randint(0, 256, (47, 61, 3), dtype=np.uint8), "RGB").save(os.path.join(OUT, "noise.png"))
    coffee = Image.open(os.path.join(TD, "photos", "coffee.png")).convert("RGB")
    coffee.crop((150, 40, 247, 183)).save(os.path.join(OUT, "portrait.png"))  # 97x143, portrait

    pipelines = [
        pipeline("chelsea_256_224", "photos/chelsea.png", 256, 224),
        pipeline("coffee_256_224", "photos/coffee.png", 256, 224),
        pipeline("chelsea_182_160", "photos/chelsea.png", 182, 160),  # the app's 160 input
        pipeline("coffee_365_320", "photos/coffee.png", 365, 320),    # the app's 320: upscaling
        pipeline("coffee_100_89", "photos/coffee.png", 100, 89),      # half-pixel crop offsets: round-half-even
        pipeline("chelsea_64_80", "photos/chelsea.png", 64, 80),      # crop larger than the image: padding
        pipeline("portrait_64_56", "preprocess/portrait.png", 64, 56),
        pipeline("portrait_256_224", "preprocess/portrait.png", 256, 224),
        pipeline("synthetic_256_224", "synthetic:1234x987", 256, 224),
        pipeline("giraffe_128_112", "photos/giraffe.jpg", 128, 112),   # libjpeg decode: not exact
        pipeline("chelsea_caffe_256_224", "photos/chelsea.png", 256, 224, caffe=True),
    ]
    resizes = [resize_case(f"noise_{w}x{h}", "preprocess/noise.png", w, h)
               for w, h in [(23, 17), (30, 47), (61, 20), (120, 80), (7, 5), (200, 11), (3, 2), (1, 1), (61, 47), (13, 90)]]
    resizes += [resize_case(f"synthetic_{w}x{h}", "synthetic:1234x987", w, h)
                for w, h in [(320, 256), (97, 1200), (5, 3), (1234, 500), (2000, 1600)]]

    crop = coffee.crop((100, 60, 197, 127))  # 97x67: odd sizes exercise the chroma edges
    decodes = [
        decode_case("jpeg444", crop, "jpg", quality=90, subsampling=0),
        decode_case("jpeg422", crop, "jpg", quality=90, subsampling=1),
        decode_case("jpeg420", crop, "jpg", quality=90, subsampling=2),
        decode_case("jpeg420_progressive", crop, "jpg", quality=85, subsampling=2, progressive=True),
        decode_case("jpeg_gray", crop.convert("L"), "jpg", quality=90),
        decode_case("webp_lossy", crop, "webp", quality=80),
        decode_case("webp_lossless", crop, "webp", lossless=True),
    ]
    alpha = crop.convert("RGBA")
    alpha.putalpha(Image.linear_gradient("L").resize(crop.size).point(lambda a: max(a, 1)))  # no alpha 0: keep colours defined
    decodes.append(decode_case("webp_alpha", alpha, "webp", quality=80))

    golden = {
        "generator": "tools/preprocess_golden.py",
        "versions": {"PIL": PIL.__version__, "torch": torch.__version__, "torchvision": torchvision.__version__},
        "pipeline": pipelines, "resize": resizes, "decode": decodes,
    }
    with open(os.path.join(OUT, "golden.json"), "w") as f:
        json.dump(golden, f, separators=(",", ":"))
        f.write("\n")


if __name__ == "__main__":
    main()
