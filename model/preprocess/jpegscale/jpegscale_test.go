package jpegscale

import (
	"bytes"
	"errors"
	"image"
	"image/jpeg"
	"os"
	"path/filepath"
	"runtime"
	"testing"
)

const testdata = "../../../testdata"

func fixtures(t testing.TB) map[string][]byte {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(testdata, "jpegscale", "*.jpg"))
	if err != nil || len(files) < 9 {
		t.Fatalf("fixtures: %v, %d files", err, len(files))
	}
	m := map[string][]byte{}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		m[filepath.Base(f)] = b
	}
	return m
}

// planes returns an image's sample planes: Y, Cb, Cr or grey.
func planes(m image.Image) [][]byte {
	b := m.Bounds()
	var out [][]byte
	switch m := m.(type) {
	case *image.Gray:
		p := make([]byte, 0, b.Dx()*b.Dy())
		for y := range b.Dy() {
			p = append(p, m.Pix[y*m.Stride:y*m.Stride+b.Dx()]...)
		}
		out = append(out, p)
	case *image.YCbCr:
		var yp, cb, cr []byte
		for y := range b.Dy() {
			for x := range b.Dx() {
				c := m.COffset(x, y)
				yp, cb, cr = append(yp, m.Y[m.YOffset(x, y)]), append(cb, m.Cb[c]), append(cr, m.Cr[c])
			}
		}
		out = append(out, yp, cb, cr)
	}
	return out
}

// TestFullScaleMatchesImageJPEG: at scale 1 every sample is within 1 of
// Go's own decoder (which uses a different integer IDCT): the Huffman,
// progressive refinement and restart handling are right.
func TestFullScaleMatchesImageJPEG(t *testing.T) {
	for name, data := range fixtures(t) {
		want, err := jpeg.Decode(bytes.NewReader(data))
		if err != nil {
			t.Logf("%s: image/jpeg: %v", name, err)
			continue
		}
		got, err := Decode(data, 1)
		if err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		if got.Bounds() != want.Bounds() {
			t.Errorf("%s: bounds %v, want %v", name, got.Bounds(), want.Bounds())
			continue
		}
		g, w := planes(got), planes(want)
		if len(g) != len(w) || len(g) == 0 {
			t.Errorf("%s: %T, want %T", name, got, want)
			continue
		}
		worst := 0
		for i := range g {
			for j := range g[i] {
				worst = max(worst, abs(int(g[i][j])-int(w[i][j])))
			}
		}
		t.Logf("%s %T: max |diff| %d", name, got, worst)
		if worst > 1 {
			t.Errorf("%s: differs from image/jpeg by up to %d", name, worst)
		}
	}
}

func abs(a int) int {
	if a < 0 {
		return -a
	}
	return a
}

// TestSameCoefficientsSamePicture: files holding the same coefficients,
// coded baseline, progressive (libjpeg's script, with successive
// approximation) or with a restart marker after every MCU, decode to
// identical pictures at every scale. (image/jpeg cannot read the
// progressive file with restart markers: "missing 0xff00 sequence".)
func TestSameCoefficientsSamePicture(t *testing.T) {
	fx := fixtures(t)
	for base, same := range map[string][]string{
		"base420.jpg":  {"prog420.jpg", "rst420.jpg", "rstprog420.jpg"},
		"base444.jpg":  {"prog444.jpg"},
		"basegray.jpg": {"proggray.jpg"},
	} {
		for _, s := range Scales {
			want, err := Decode(fx[base], s)
			if err != nil {
				t.Fatalf("%s 1:%d: %v", base, s, err)
			}
			for _, f := range same {
				got, err := Decode(fx[f], s)
				if err != nil {
					t.Errorf("%s 1:%d: %v", f, s, err)
					continue
				}
				g, w := planes(got), planes(want)
				for i := range w {
					if !bytes.Equal(g[i], w[i]) {
						t.Errorf("%s 1:%d: plane %d differs from %s's", f, s, i, base)
					}
				}
			}
		}
	}
}

// TestAllocatesWhatBytesSays: Decode allocates what Info.Bytes promised
// (plus a few KB of tables), for every fixture and scale, so a caller can
// bound a decode's memory from the header alone.
func TestAllocatesWhatBytesSays(t *testing.T) {
	for name, data := range fixtures(t) {
		info, err := ReadInfo(data)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		for _, s := range Scales {
			var before, after runtime.MemStats
			runtime.ReadMemStats(&before)
			_, err := Decode(data, s)
			runtime.ReadMemStats(&after)
			if err != nil {
				t.Fatalf("%s 1:%d: %v", name, s, err)
			}
			got, want := int64(after.TotalAlloc-before.TotalAlloc), info.Bytes(s)
			if got > want+32<<10 || got < want {
				t.Errorf("%s 1:%d: allocated %d bytes, Bytes says %d", name, s, got, want)
			}
		}
	}
}

// FuzzDecode: any input gives a picture of the size its header says, or
// an error; never a panic. Inputs whose header asks for over 8 MB are
// skipped (Decode would allocate it, as it may, and the fuzzer slows).
func FuzzDecode(f *testing.F) {
	seeds, _ := filepath.Glob(filepath.Join(testdata, "jpegscale", "tiny", "*.jpg"))
	if len(seeds) < 6 {
		f.Fatalf("%d seeds in testdata/jpegscale/tiny", len(seeds))
	}
	for i, p := range seeds {
		b, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b, uint8(i))
	}
	f.Fuzz(func(t *testing.T, data []byte, s uint8) {
		scale := Scales[int(s)%len(Scales)]
		if info, err := ReadInfo(data); err == nil && info.Bytes(scale) > 8<<20 {
			return
		}
		img, err := Decode(data, scale)
		if err != nil {
			if !errors.Is(err, ErrCorrupt) && !errors.Is(err, ErrUnsupported) {
				t.Fatalf("error %v is neither ErrCorrupt nor ErrUnsupported", err)
			}
			return
		}
		info, _ := ReadInfo(data)
		if w, h := info.Size(scale); img.Bounds() != image.Rect(0, 0, w, h) {
			t.Fatalf("decoded %v, header says %d×%d at 1:%d", img.Bounds(), w, h, scale)
		}
	})
}
