package preprocess

import (
	"bytes"
	"encoding/binary"
	"errors"
	"hash/crc32"
	"image"
	"image/color"
	"image/gif"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/residual-webgpu/residual/model/weights"
)

// The fixture picture of tools/make_testimages.py: 64×48, four flat
// quadrants.
var (
	quadTL = [3]int{220, 30, 30}
	quadTR = [3]int{30, 200, 60}
	quadBL = [3]int{40, 60, 210}
	quadBR = [3]int{245, 245, 245}
)

const picW, picH = 64, 48

func fixture(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(testdata, "images", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func decodeFixture(t *testing.T, name string) image.Image {
	t.Helper()
	img, err := Decode(name, fixture(t, name))
	if err != nil {
		t.Fatalf("Decode: %v", err)
	}
	return img
}

// checkQuadrants asserts the picture is upright: each quadrant's centre
// region has its colour within tol.
func checkQuadrants(t *testing.T, img image.Image, tol int) {
	t.Helper()
	if s := img.Bounds().Size(); s != (image.Point{picW, picH}) {
		t.Fatalf("size %v, want %dx%d", s, picW, picH)
	}
	rgb := rgbBytes(img)
	for _, q := range []struct {
		x, y int
		want [3]int
	}{{8, 8, quadTL}, {picW - 9, 8, quadTR}, {8, picH - 9, quadBL}, {picW - 9, picH - 9, quadBR}} {
		for dy := -4; dy <= 4; dy++ {
			for dx := -4; dx <= 4; dx++ {
				p := rgb[3*((q.y+dy)*picW+q.x+dx):]
				for c := range 3 {
					if d := int(p[c]) - q.want[c]; d > tol || d < -tol {
						t.Fatalf("pixel (%d,%d) = %v, want %v ±%d", q.x+dx, q.y+dy, p[:3], q.want, tol)
					}
				}
			}
		}
	}
}

func TestDecodeFormats(t *testing.T) {
	want := rgbBytes(decodeFixture(t, "pic.png"))
	checkQuadrants(t, decodeFixture(t, "pic.png"), 0)
	for _, c := range []struct {
		name   string
		exact  bool
		tol    int
		format Format
	}{
		{"pic.gif", true, 0, GIF},
		{"pic.bmp", true, 0, BMP},
		{"pic_lossless.webp", true, 0, WebP},
		{"pic16.png", true, 0, PNG},
		{"pic_alpha.png", true, 0, PNG}, // alpha dropped, stored colour kept even where alpha is 0
		{"pic_png_named.jpg", true, 0, PNG},
		{"pic.jpg", false, 6, JPEG},
		{"pic_progressive.jpg", false, 8, JPEG},
		{"pic_cmyk.jpg", false, 8, JPEG},
		{"pic.webp", false, 8, WebP},
	} {
		t.Run(c.name, func(t *testing.T) {
			data := fixture(t, c.name)
			if f := Sniff(data); f != c.format {
				t.Errorf("Sniff = %q, want %q", f, c.format)
			}
			img := decodeFixture(t, c.name)
			if c.exact {
				if got := rgbBytes(img); !bytes.Equal(got, want) {
					t.Errorf("%T pixels differ from pic.png", img)
				}
			}
			checkQuadrants(t, img, c.tol)
		})
	}
}

func TestDecodeGray(t *testing.T) {
	// PIL's L = (19595 R + 38470 G + 7471 B + 0x8000) >> 16, replicated to RGB.
	luma := func(c [3]int) int { return (19595*c[0] + 38470*c[1] + 7471*c[2] + 0x8000) >> 16 }
	for name, tol := range map[string]int{"pic_gray.png": 0, "pic_gray.jpg": 4} {
		img := decodeFixture(t, name)
		rgb := rgbBytes(img)
		for i := 0; i < len(rgb); i += 3 {
			if rgb[i] != rgb[i+1] || rgb[i] != rgb[i+2] {
				t.Fatalf("%s: pixel %d is not grey: %v", name, i/3, rgb[i:i+3])
			}
		}
		for _, q := range []struct {
			x, y int
			c    [3]int
		}{{8, 8, quadTL}, {picW - 9, 8, quadTR}, {8, picH - 9, quadBL}, {picW - 9, picH - 9, quadBR}} {
			got, want := int(rgb[3*(q.y*picW+q.x)]), luma(q.c)
			if d := got - want; d > tol || d < -tol {
				t.Errorf("%s: (%d,%d) = %d, want %d ±%d", name, q.x, q.y, got, want, tol)
			}
		}
	}
}

// TestDecodeOrientation decodes the picture stored in each of the 8 EXIF
// orientations: every one must come out upright (64×48, quadrants in
// place).
func TestDecodeOrientation(t *testing.T) {
	for o := 1; o <= 8; o++ {
		name := "orient_" + string(rune('0'+o)) + ".jpg"
		t.Run(name, func(t *testing.T) {
			data := fixture(t, name)
			if got := orientation(JPEG, data); got != o {
				t.Errorf("orientation = %d, want %d", got, o)
			}
			checkQuadrants(t, decodeFixture(t, name), 8)
		})
	}
	want := rgbBytes(decodeFixture(t, "pic.png"))
	for _, name := range []string{"orient_6.png", "orient_6.webp"} {
		t.Run(name, func(t *testing.T) {
			if got := orientation(Sniff(fixture(t, name)), fixture(t, name)); got != 6 {
				t.Errorf("orientation = %d, want 6", got)
			}
			if got := rgbBytes(decodeFixture(t, name)); !bytes.Equal(got, want) {
				t.Errorf("not the upright picture")
			}
		})
	}
}

func TestDecodeErrors(t *testing.T) {
	for _, c := range []struct {
		name string
		data []byte
		kind error
		msg  string // the whole message, or a prefix ending in "…"
	}{
		{"chelsea.txt", nil, ErrNotImage, "chelsea.txt: not an image (no JPEG/PNG/GIF/BMP/WebP signature)"},
		{"empty.jpg", nil, ErrEmpty, "empty.jpg: empty file"},
		{"huge.png", nil, ErrTooLarge, "huge.png: 60000×40000 is 2400.0 megapixels, over the 50 megapixel limit"},
		{"truncated.png", nil, ErrCorrupt, "truncated.png: corrupt or truncated PNG: …"},
		{"truncated.jpg", nil, ErrCorrupt, "truncated.jpg: corrupt or truncated JPEG: …"},
		{"photo.heic", []byte("\x00\x00\x00\x18ftypheic\x00\x00\x00\x00mif1heic"), ErrUnsupported, "photo.heic: HEIC/HEIF images are not supported (use JPEG, PNG, GIF, BMP or WebP)"},
		{"scan.tif", []byte("II*\x00\x08\x00\x00\x00"), ErrUnsupported, "scan.tif: TIFF images are not supported …"},
		{"x.png", []byte("\x89PNG\r\n\x1a\n"), ErrCorrupt, "x.png: corrupt PNG header: …"},
	} {
		t.Run(c.name, func(t *testing.T) {
			data := c.data
			if data == nil {
				data = fixture(t, c.name)
			}
			img, err := Decode(c.name, data)
			if err == nil {
				t.Fatalf("decoded %v, want an error", img.Bounds())
			}
			t.Logf("%v", err)
			if !errors.Is(err, c.kind) {
				t.Errorf("error %q is not %v", err, c.kind)
			}
			if p, ok := strings.CutSuffix(c.msg, "…"); ok {
				if !strings.HasPrefix(err.Error(), p) {
					t.Errorf("error %q, want prefix %q", err, p)
				}
			} else if err.Error() != c.msg {
				t.Errorf("error %q, want %q", err, c.msg)
			}
		})
	}
}

// withSize rewrites a fixture's header to claim w×h, fixing the CRC or
// length fields a decoder would check first.
func withSize(t *testing.T, f Format, data []byte, w, h int) []byte {
	t.Helper()
	d := append([]byte(nil), data...)
	switch f {
	case PNG:
		binary.BigEndian.PutUint32(d[16:], uint32(w))
		binary.BigEndian.PutUint32(d[20:], uint32(h))
		binary.BigEndian.PutUint32(d[29:], crc32.ChecksumIEEE(d[12:29]))
	case JPEG:
		for i := 2; i+9 < len(d); {
			m := d[i+1]
			if m == 0xC0 || m == 0xC2 {
				binary.BigEndian.PutUint16(d[i+5:], uint16(h))
				binary.BigEndian.PutUint16(d[i+7:], uint16(w))
				return d
			}
			i += 2 + int(binary.BigEndian.Uint16(d[i+2:]))
		}
		t.Fatal("no SOF")
	case GIF:
		binary.LittleEndian.PutUint16(d[6:], uint16(w))
		binary.LittleEndian.PutUint16(d[8:], uint16(h))
	case BMP:
		binary.LittleEndian.PutUint32(d[18:], uint32(w))
		binary.LittleEndian.PutUint32(d[22:], uint32(h))
	case WebP: // lossless VP8L: 14-bit width-1, height-1 after the signature byte
		if string(d[12:16]) != "VP8L" {
			t.Fatal("want a simple VP8L file")
		}
		v := binary.LittleEndian.Uint32(d[21:])
		v = v&^(1<<28-1) | uint32(w-1) | uint32(h-1)<<14
		binary.LittleEndian.PutUint32(d[21:], v)
	}
	return d
}

// TestDecodeLyingHeaders: every format's header claiming too many pixels
// is refused before decoding, with little memory taken.
func TestDecodeLyingHeaders(t *testing.T) {
	for _, c := range []struct {
		file string
		w, h int
	}{
		{"pic.png", 60000, 40000},
		{"pic.jpg", 65000, 65000},
		{"pic.gif", 65535, 65535},
		{"pic.bmp", 100000, 100000},
		{"pic_lossless.webp", 16384, 16384},
		{"pic.png", 10000, 5001}, // just over
	} {
		f := Sniff(fixture(t, c.file))
		data := withSize(t, f, fixture(t, c.file), c.w, c.h)
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		_, err := Decode(c.file, data)
		runtime.ReadMemStats(&after)
		if !errors.Is(err, ErrTooLarge) {
			t.Errorf("%s claiming %d×%d: error %v, want ErrTooLarge", c.file, c.w, c.h, err)
			continue
		}
		if a := after.TotalAlloc - before.TotalAlloc; a > 1<<20 {
			t.Errorf("%s claiming %d×%d: allocated %d bytes before refusing", c.file, c.w, c.h, a)
		}
	}
	// Exactly at the limit passes the size check; PNG and BMP files far
	// too short for their size are then refused before decoding too.
	for _, f := range []string{"pic.png", "pic.bmp"} {
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		_, err := Decode("limit-"+f, withSize(t, Sniff(fixture(t, f)), fixture(t, f), 10000, 5000))
		runtime.ReadMemStats(&after)
		t.Logf("%v", err)
		if errors.Is(err, ErrTooLarge) || !errors.Is(err, ErrCorrupt) {
			t.Errorf("50 megapixel %s without its data: %v, want ErrCorrupt", f, err)
		}
		if a := after.TotalAlloc - before.TotalAlloc; a > 1<<20 {
			t.Errorf("50 megapixel %s without its data: allocated %d bytes", f, a)
		}
	}
}

// TestDecodeNeverPanics feeds every prefix of each small fixture, and
// copies with bytes overwritten, to Decode: each must give an image or an
// error naming the file, never a panic.
func TestDecodeNeverPanics(t *testing.T) {
	files, err := filepath.Glob(filepath.Join(testdata, "images", "*"))
	if err != nil || len(files) < 20 {
		t.Fatalf("fixtures: %v, %d files", err, len(files))
	}
	try := func(name string, d []byte) {
		defer func() {
			if r := recover(); r != nil {
				t.Fatalf("%s (%d bytes): panic %v", name, len(d), r)
			}
		}()
		img, err := Decode(name, d)
		if err != nil && !strings.HasPrefix(err.Error(), name+": ") {
			t.Errorf("error %q does not name %s", err, name)
		}
		if err == nil && img.Bounds().Empty() {
			t.Errorf("%s: no error and an empty image", name)
		}
	}
	n := 0
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		name := filepath.Base(f)
		for i := 0; i <= len(data) && i <= 4096; i++ {
			try(name, data[:i])
			n++
		}
		for i := 0; i < len(data) && i < 256; i++ {
			for _, v := range []byte{0x00, 0xFF, data[i] ^ 0x55} {
				d := append([]byte(nil), data...)
				d[i] = v
				try(name, d)
				n++
			}
		}
	}
	t.Logf("%d decodes of %d fixtures, none panicked", n, len(files))
}

// FuzzDecode: Decode on any input returns an image or a named error; a
// returned image can always be prepared. Seeds are the fixtures.
func FuzzDecode(f *testing.F) {
	files, _ := filepath.Glob(filepath.Join(testdata, "images", "*"))
	for _, p := range files {
		if b, err := os.ReadFile(p); err == nil && len(b) < 4096 {
			f.Add(b)
		}
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		img, err := Decode("f", data)
		if err != nil {
			if !strings.HasPrefix(err.Error(), "f: ") {
				t.Fatalf("error %q does not name the file", err)
			}
			return
		}
		if _, _, err := Prepare(img, weights.TorchvisionPreprocess, 32); err != nil {
			t.Fatalf("decoded %T %v but Prepare failed: %v", img, img.Bounds(), err)
		}
	})
}

// TestDecodeGIFFrame: a first frame smaller than the GIF's logical screen
// is placed on a screen-sized image.
func TestDecodeGIFFrame(t *testing.T) {
	pal := color.Palette{color.RGBA{0, 0, 0, 255}, color.RGBA{200, 10, 20, 255}}
	frame := image.NewPaletted(image.Rect(5, 4, 9, 7), pal)
	for i := range frame.Pix {
		frame.Pix[i] = 1
	}
	var buf bytes.Buffer
	err := gif.EncodeAll(&buf, &gif.GIF{Image: []*image.Paletted{frame}, Delay: []int{0},
		Config: image.Config{ColorModel: pal, Width: 12, Height: 10}})
	if err != nil {
		t.Fatal(err)
	}
	img, err := Decode("frame.gif", buf.Bytes())
	if err != nil {
		t.Fatal(err)
	}
	if img.Bounds() != image.Rect(0, 0, 12, 10) {
		t.Fatalf("bounds %v, want the 12×10 screen", img.Bounds())
	}
	rgb := rgbBytes(img)
	for y := range 10 {
		for x := range 12 {
			want := byte(0)
			if (image.Point{x, y}).In(frame.Rect) {
				want = 200
			}
			if got := rgb[3*(y*12+x)]; got != want {
				t.Fatalf("(%d,%d) red = %d, want %d", x, y, got, want)
			}
		}
	}
}
