#!/usr/bin/python3
"""Makes the test images under testdata/: small copies of the sample photos
(testdata/photos/) and tiny decoder fixtures (testdata/images/).

Regenerate (needs Debian's PIL with WebP, i.e. python3-pil; the originals in
../shared/photos or wherever PHOTOS points):

    /usr/bin/python3 tools/make_testimages.py [PHOTOS]

Photos: shorter side resized to 256 with LANCZOS; chelsea and coffee stay
PNG like the originals, the others become JPEG quality 95 without EXIF.

Fixtures (all made from one 64x48 picture of four flat quadrants, so that
lossy formats still decode to recognisable colours and a wrong rotation is
obvious):
  pic.png pic.jpg pic.gif pic.bmp pic.webp (lossy) pic_lossless.webp
  pic_alpha.png (RGBA, alpha varies), pic_gray.png, pic_gray.jpg,
  pic_cmyk.jpg, pic_progressive.jpg, pic16.png (16 bits per channel),
  pic_png_named.jpg (a PNG under a JPEG name: detection is by content),
  orient_N.jpg for N in 1..8: the picture stored transformed so that
  honouring EXIF orientation N shows it upright (checked with
  PIL.ImageOps.exif_transpose), orient_6.png (eXIf chunk), orient_6.webp
  (EXIF chunk), truncated.png, truncated.jpg, chelsea.txt (text),
  empty.jpg (0 bytes), huge.png (IHDR claims 60000x40000, valid CRC,
  no pixel data).
"""
import io, os, struct, sys, zlib

from PIL import Image, ImageOps, features

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
PHOTOS = sys.argv[1] if len(sys.argv) > 1 else os.path.join(ROOT, "..", "shared", "photos")
OUT_PHOTOS = os.path.join(ROOT, "testdata", "photos")
OUT_IMAGES = os.path.join(ROOT, "testdata", "images")

# The quadrant colours, also asserted by the Go tests.
TL, TR, BL, BR = (220, 30, 30), (30, 200, 60), (40, 60, 210), (245, 245, 245)
W, H = 64, 48


def photos():
    os.makedirs(OUT_PHOTOS, exist_ok=True)
    for name in sorted(os.listdir(PHOTOS)):
        im = Image.open(os.path.join(PHOTOS, name)).convert("RGB")
        w, h = im.size
        s = 256 / min(w, h)
        im = im.resize((round(w * s), round(h * s)), Image.LANCZOS)
        base, ext = os.path.splitext(name)
        if base in ("chelsea", "coffee"):
            im.save(os.path.join(OUT_PHOTOS, base + ".png"), optimize=True)
        else:
            im.save(os.path.join(OUT_PHOTOS, base + ".jpg"), quality=95)


def picture():
    im = Image.new("RGB", (W, H))
    px = im.load()
    for y in range(H):
        for x in range(W):
            left, top = x < W // 2, y < H // 2
            px[x, y] = TL if top and left else TR if top else BL if left else BR
    return im


def exif(orientation):
    e = Image.Exif()
    e[0x0112] = orientation
    return e.tobytes()


# For each EXIF orientation, the transpose that turns the upright picture
# into what a camera stores, i.e. the inverse of what a viewer applies.
STORE = {
    1: None,
    2: Image.FLIP_LEFT_RIGHT,
    3: Image.ROTATE_180,
    4: Image.FLIP_TOP_BOTTOM,
    5: Image.TRANSPOSE,
    6: Image.ROTATE_90,   # viewer rotates 90° clockwise (PIL ROTATE_270)
    7: Image.TRANSVERSE,
    8: Image.ROTATE_270,  # viewer rotates 90° counter-clockwise
}


def stored(im, n):
    return im if STORE[n] is None else im.transpose(STORE[n])


def huge_png(w, h):
    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    ihdr = struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0)
    # One tiny IDAT (a few rows' worth of zeros) so the file looks
    # plausible; a decoder that trusted the header would allocate 7.2 GB.
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\0" * 1000)) + chunk(b"IEND", b"")


def images():
    assert features.check("webp"), "this PIL has no WebP support"
    os.makedirs(OUT_IMAGES, exist_ok=True)
    p = lambda name: os.path.join(OUT_IMAGES, name)
    im = picture()
    im.save(p("pic.png"))
    im.save(p("pic.jpg"), quality=95)
    im.save(p("pic_progressive.jpg"), quality=90, progressive=True)
    im.save(p("pic.gif"))
    im.save(p("pic.bmp"))
    im.save(p("pic.webp"), quality=90)
    im.save(p("pic_lossless.webp"), lossless=True)
    alpha = im.convert("RGBA")
    alpha.putalpha(Image.linear_gradient("L").resize((W, H)))
    alpha.save(p("pic_alpha.png"))
    im.convert("L").save(p("pic_gray.png"))
    im.convert("L").save(p("pic_gray.jpg"), quality=95)
    im.convert("CMYK").save(p("pic_cmyk.jpg"), quality=95)
    # 16 bits per channel: PIL cannot write RGB;16, so write it by hand.
    raw = b"".join(b"\0" + b"".join(struct.pack(">HHH", *(v * 257 for v in im.getpixel((x, y)))) for x in range(W)) for y in range(H))
    ihdr = struct.pack(">IIBBBBB", W, H, 16, 2, 0, 0, 0)
    chunk = lambda kind, data: struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    with open(p("pic16.png"), "wb") as f:
        f.write(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(raw, 9)) + chunk(b"IEND", b""))
    assert Image.open(p("pic16.png")).convert("RGB").tobytes() == im.tobytes()
    with open(p("pic.png"), "rb") as f:
        png = f.read()
    with open(p("pic_png_named.jpg"), "wb") as f:
        f.write(png)

    for n in range(1, 9):
        s = stored(im, n)
        s.save(p(f"orient_{n}.jpg"), quality=95, exif=exif(n))
        back = ImageOps.exif_transpose(Image.open(p(f"orient_{n}.jpg")))
        assert back.size == im.size, (n, back.size)
        for (x, y), want in (((8, 8), TL), ((W - 8, 8), TR), ((8, H - 8), BL), ((W - 8, H - 8), BR)):
            got = back.convert("RGB").getpixel((x, y))
            assert all(abs(a - b) <= 12 for a, b in zip(got, want)), (n, x, y, got, want)
    stored(im, 6).save(p("orient_6.png"), exif=exif(6))
    stored(im, 6).save(p("orient_6.webp"), lossless=True, exif=exif(6))
    for name in ("orient_6.png", "orient_6.webp"):
        assert ImageOps.exif_transpose(Image.open(p(name))).convert("RGB").tobytes() == im.tobytes(), name

    with open(p("truncated.png"), "wb") as f:
        f.write(png[: len(png) * 2 // 3])
    with open(p("pic.jpg"), "rb") as f:
        jpg = f.read()
    with open(p("truncated.jpg"), "wb") as f:
        f.write(jpg[: len(jpg) // 2])
    with open(p("chelsea.txt"), "w") as f:
        f.write("Chelsea is a cat, not an image file.\n")
    open(p("empty.jpg"), "wb").close()
    with open(p("huge.png"), "wb") as f:
        f.write(huge_png(60000, 40000))
    # PIL parses the header (and refuses it as a decompression bomb).
    try:
        Image.open(p("huge.png"))
        raise AssertionError("PIL opened huge.png")
    except Image.DecompressionBombError as e:
        assert "2400000000 pixels" in str(e), e


if __name__ == "__main__":
    photos()
    images()
