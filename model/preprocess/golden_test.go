package preprocess

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"image"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/residual-webgpu/residual/model/weights"
)

// golden is testdata/preprocess/golden.json, written by
// tools/preprocess_golden.py from real PIL and torchvision.
type golden struct {
	Versions map[string]string `json:"versions"`
	Pipeline []struct {
		Name         string       `json:"name"`
		Input        string       `json:"input"`
		Resize       int          `json:"resize"`
		Crop         int          `json:"crop"`
		ChannelOrder string       `json:"channel_order"`
		InputScale   float32      `json:"input_scale"`
		Mean         [3]float32   `json:"mean"`
		Std          [3]float32   `json:"std"`
		Resized      [2]int       `json:"resized"`
		Exact        bool         `json:"exact"`
		CropSHA      string       `json:"crop_sha256"`
		TensorSHA    string       `json:"tensor_sha256"`
		Samples      [][2]float64 `json:"samples"`
		PNG          string       `json:"png"`
	} `json:"pipeline"`
	Resize []struct {
		Name   string `json:"name"`
		Input  string `json:"input"`
		Size   [2]int `json:"size"`
		SHA256 string `json:"sha256"`
		PNG    string `json:"png"`
	} `json:"resize"`
	Decode []struct {
		Name  string `json:"name"`
		Input string `json:"input"`
		PNG   string `json:"png"`
		Exact bool   `json:"exact"`
	} `json:"decode"`
}

const testdata = "../../testdata"

func loadGolden(t *testing.T) golden {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(testdata, "preprocess", "golden.json"))
	if err != nil {
		t.Fatal(err)
	}
	var g golden
	if err := json.Unmarshal(b, &g); err != nil {
		t.Fatalf("golden.json: %v", err)
	}
	if len(g.Pipeline) == 0 || len(g.Resize) == 0 || len(g.Decode) == 0 {
		t.Fatalf("golden.json has no cases")
	}
	return g
}

// synthetic is the formula image of tools/preprocess_golden.py.
func synthetic(w, h int) *image.NRGBA {
	m := image.NewNRGBA(image.Rect(0, 0, w, h))
	for y := range h {
		for x := range w {
			p := m.Pix[m.PixOffset(x, y):]
			for c := range 3 {
				p[c] = byte((x*x*7 + y*y*3 + x*y*5 + c*101 + (x>>3)*(y>>2)*13) % 256)
			}
			p[3] = 0xFF
		}
	}
	return m
}

// input loads a golden input: a file under testdata (decoded by Decode) or
// "synthetic:WxH".
func input(t *testing.T, rel string) image.Image {
	t.Helper()
	if s, ok := strings.CutPrefix(rel, "synthetic:"); ok {
		var w, h int
		if _, err := fmt.Sscanf(s, "%dx%d", &w, &h); err != nil {
			t.Fatalf("%s: %v", rel, err)
		}
		return synthetic(w, h)
	}
	return decodeFile(t, filepath.Join(testdata, rel))
}

func decodeFile(t *testing.T, path string) image.Image {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	img, err := Decode(filepath.Base(path), b)
	if err != nil {
		t.Fatal(err)
	}
	return img
}

// rgbBytes is an image's pixels as packed RGB rows (PIL's tobytes()).
func rgbBytes(img image.Image) []byte {
	r := newRGBRows(img)
	out := make([]byte, 3*r.w*r.h)
	for y := range r.h {
		r.row(y, 0, r.w, out[3*r.w*y:])
	}
	return out
}

func sha(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

// diff compares two same-sized images channel by channel.
type diff struct {
	max       int
	mean      float64
	differing float64 // fraction of channel values that differ
}

func compare(t *testing.T, got, want image.Image) diff {
	t.Helper()
	if got.Bounds().Size() != want.Bounds().Size() {
		t.Fatalf("size %v, want %v", got.Bounds().Size(), want.Bounds().Size())
	}
	g, w := rgbBytes(got), rgbBytes(want)
	var d diff
	var sum, n int
	for i := range g {
		a := int(g[i]) - int(w[i])
		if a < 0 {
			a = -a
		}
		d.max = max(d.max, a)
		sum += a
		if a != 0 {
			n++
		}
	}
	d.mean = float64(sum) / float64(len(g))
	d.differing = float64(n) / float64(len(g))
	return d
}

// TestGoldenPipeline checks Prepare against torchvision's Resize,
// CenterCrop, ToTensor and Normalize (and the Caffe normalisation): the
// crop and the whole float32 tensor must be bit-identical for losslessly
// decoded inputs.
func TestGoldenPipeline(t *testing.T) {
	g := loadGolden(t)
	t.Logf("golden from %v", g.Versions)
	for _, c := range g.Pipeline {
		t.Run(c.Name, func(t *testing.T) {
			img := input(t, c.Input)
			b := img.Bounds()
			if w, h := ResizedSize(b.Dx(), b.Dy(), c.Resize); w != c.Resized[0] || h != c.Resized[1] {
				t.Errorf("ResizedSize(%d, %d, %d) = %d×%d, torchvision %d×%d", b.Dx(), b.Dy(), c.Resize, w, h, c.Resized[0], c.Resized[1])
			}
			p := weights.Preprocess{Resize: c.Resize, Crop: c.Crop, ChannelOrder: c.ChannelOrder, InputScale: c.InputScale, Mean: c.Mean, Std: c.Std}
			x, shown, err := Prepare(img, p, 0)
			if err != nil {
				t.Fatal(err)
			}
			if want := []int{1, 3, c.Crop, c.Crop}; fmt.Sprint(x.Shape) != fmt.Sprint(want) {
				t.Fatalf("shape %v, want %v", x.Shape, want)
			}
			if c.PNG != "" {
				d := compare(t, shown, decodeFile(t, filepath.Join(testdata, c.PNG)))
				t.Logf("crop vs PIL: max |diff| %d, mean %.4f, %.2f%% of values differ", d.max, d.mean, 100*d.differing)
				if !c.Exact {
					// Go's JPEG IDCT is not libjpeg's: a few levels here and there.
					if d.max > 5 || d.mean > 0.15 {
						t.Errorf("JPEG-decoded crop too far from PIL's: %+v", d)
					}
					return
				}
				if d.max != 0 {
					t.Errorf("crop differs from PIL's: %+v", d)
				}
			}
			if !c.Exact {
				return
			}
			if got := sha(rgbBytes(shown)); got != c.CropSHA {
				t.Errorf("crop sha256 %s, torchvision %s", got, c.CropSHA)
			}
			for _, s := range c.Samples {
				i, want := int(s[0]), float32(s[1])
				if x.Data[i] != want {
					t.Errorf("tensor[%d] = %v (%08x), torchvision %v (%08x)", i, x.Data[i], math.Float32bits(x.Data[i]), want, math.Float32bits(want))
				}
			}
			raw := make([]byte, 4*len(x.Data))
			for i, v := range x.Data {
				binary.LittleEndian.PutUint32(raw[4*i:], math.Float32bits(v))
			}
			if got := sha(raw); got != c.TensorSHA {
				t.Errorf("tensor sha256 %s, torchvision %s", got, c.TensorSHA)
			}
		})
	}
}

// TestGoldenResize checks Resize against PIL's Image.resize(BILINEAR) at
// sizes that go up, down, both at once, and to 1×1.
func TestGoldenResize(t *testing.T) {
	g := loadGolden(t)
	for _, c := range g.Resize {
		t.Run(c.Name, func(t *testing.T) {
			out := Resize(input(t, c.Input), c.Size[0], c.Size[1])
			if c.PNG != "" {
				if d := compare(t, out, decodeFile(t, filepath.Join(testdata, c.PNG))); d.max != 0 {
					t.Errorf("differs from PIL: %+v", d)
				}
			}
			if got := sha(rgbBytes(out)); got != c.SHA256 {
				t.Errorf("sha256 %s, PIL %s", got, c.SHA256)
			}
		})
	}
}

// TestGoldenDecode compares Decode with PIL's decoders: WebP (lossy too:
// VP8 decoding is exact, and the colour conversion is libwebp's) must be
// identical; JPEG differs only by Go's IDCT, slightly.
func TestGoldenDecode(t *testing.T) {
	g := loadGolden(t)
	for _, c := range g.Decode {
		t.Run(c.Name, func(t *testing.T) {
			got := decodeFile(t, filepath.Join(testdata, c.Input))
			d := compare(t, got, decodeFile(t, filepath.Join(testdata, c.PNG)))
			t.Logf("%T vs PIL: max |diff| %d, mean %.4f, %.2f%% of values differ", got, d.max, d.mean, 100*d.differing)
			if c.Exact && d.max != 0 {
				t.Errorf("differs from PIL: %+v", d)
			}
			if !c.Exact && (d.max > 5 || d.mean > 0.15) {
				t.Errorf("too far from PIL (libjpeg): %+v", d)
			}
		})
	}
}
