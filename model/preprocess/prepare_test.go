package preprocess

import (
	"image"
	"image/color"
	"strings"
	"testing"

	"github.com/residual-webgpu/residual/model"
	"github.com/residual-webgpu/residual/model/weights"
)

func TestSizes(t *testing.T) {
	p := weights.TorchvisionPreprocess
	for _, c := range []struct{ size, resize, crop int }{
		{0, 256, 224}, {224, 256, 224}, {160, 182, 160}, {288, 329, 288}, {320, 365, 320},
	} {
		r, cr, err := Sizes(p, c.size)
		if err != nil || r != c.resize || cr != c.crop {
			t.Errorf("Sizes(torchvision, %d) = %d, %d, %v; want %d, %d", c.size, r, cr, err, c.resize, c.crop)
		}
	}
	for _, bad := range []struct {
		p    weights.Preprocess
		size int
	}{
		{weights.Preprocess{Resize: 0, Crop: 224}, 0},
		{weights.Preprocess{Resize: 256, Crop: 0}, 0},
		{p, -1},
		{p, 5000},
	} {
		if _, _, err := Sizes(bad.p, bad.size); err == nil {
			t.Errorf("Sizes(%+v, %d): no error", bad.p, bad.size)
		}
	}
}

// TestResizedSize checks torchvision's int(size * long / short) rule,
// values worked out with Python.
func TestResizedSize(t *testing.T) {
	for _, c := range []struct{ w, h, r, ww, wh int }{
		{451, 300, 256, 384, 256}, // 384.85 → 384
		{300, 451, 256, 256, 384},
		{500, 500, 256, 256, 256},
		{1000, 3, 256, 85333, 256},
		{600, 400, 182, 273, 182},
		{385, 256, 256, 385, 256}, // already the size: unchanged
	} {
		if w, h := ResizedSize(c.w, c.h, c.r); w != c.ww || h != c.wh {
			t.Errorf("ResizedSize(%d, %d, %d) = %d×%d, want %d×%d", c.w, c.h, c.r, w, h, c.ww, c.wh)
		}
	}
}

// TestCenterCrop checks torchvision's offsets: Python's round() rounds
// halves to even, and a crop larger than the image pads it.
func TestCenterCrop(t *testing.T) {
	for _, c := range []struct {
		w, h, crop int
		want       image.Rectangle
	}{
		{256, 256, 224, image.Rect(16, 16, 240, 240)},
		{150, 100, 89, image.Rect(30, 6, 119, 95)},    // 30.5 → 30, 5.5 → 6
		{385, 256, 224, image.Rect(80, 16, 304, 240)}, // 80.5 → 80
		{387, 256, 224, image.Rect(82, 16, 306, 240)}, // 81.5 → 82
		{96, 64, 80, image.Rect(8, -8, 88, 72)},       // padded 8 above, 8 below
		{64, 63, 80, image.Rect(-8, -8, 72, 72)},      // pad 8 left/8 right, 8 above/9 below
	} {
		if got := CenterCrop(c.w, c.h, c.crop); got != c.want {
			t.Errorf("CenterCrop(%d, %d, %d) = %v, want %v", c.w, c.h, c.crop, got, c.want)
		}
	}
}

func testImage() image.Image { return synthetic(300, 200) }

// TestPrepareSize: a size other than the metadata's crop means the scaled
// resize, and gives the same input as metadata saying so directly.
func TestPrepareSize(t *testing.T) {
	p := weights.TorchvisionPreprocess
	x, shown, err := Prepare(testImage(), p, 160)
	if err != nil {
		t.Fatal(err)
	}
	if got := x.Shape; len(got) != 4 || got[0] != 1 || got[1] != 3 || got[2] != 160 || got[3] != 160 {
		t.Fatalf("shape %v", got)
	}
	if shown.Bounds() != image.Rect(0, 0, 160, 160) {
		t.Fatalf("shown %v", shown.Bounds())
	}
	q := p
	q.Resize, q.Crop = 182, 160
	y, _, err := Prepare(testImage(), q, 0)
	if err != nil {
		t.Fatal(err)
	}
	for i := range x.Data {
		if x.Data[i] != y.Data[i] {
			t.Fatalf("value %d: size 160 gives %v, resize 182/crop 160 gives %v", i, x.Data[i], y.Data[i])
		}
	}
}

// TestPrepareChannels: BGR order puts blue first, InputScale 255 keeps
// 0–255 values, and the tensor matches the shown crop.
func TestPrepareChannels(t *testing.T) {
	img := testImage()
	rgb, shown, err := Prepare(img, weights.Preprocess{Resize: 100, Crop: 96, ChannelOrder: "RGB", InputScale: 255, Std: [3]float32{1, 1, 1}}, 0)
	if err != nil {
		t.Fatal(err)
	}
	plane := 96 * 96
	for i := range plane {
		for c := range 3 {
			if got, want := rgb.Data[c*plane+i], float32(shown.Pix[4*i+c]); got != want {
				t.Fatalf("pixel %d channel %d = %v, shown %v", i, c, got, want)
			}
		}
	}
	caffe := weights.CaffePreprocess
	caffe.Resize = 100
	caffe.Crop = 96
	bgr, _, err := Prepare(img, caffe, 0)
	if err != nil {
		t.Fatal(err)
	}
	for i := range plane {
		for c := range 3 {
			want := float32(shown.Pix[4*i+2-c]) - caffe.Mean[c]
			if got := bgr.Data[c*plane+i]; got != want {
				t.Fatalf("BGR pixel %d channel %d = %v, want %v", i, c, got, want)
			}
		}
	}
}

// TestPrepareColourModels: grey, 16-bit, paletted and premultiplied
// images give the same input as the equivalent RGB image.
func TestPrepareColourModels(t *testing.T) {
	const w, h = 40, 30
	gray := image.NewGray(image.Rect(0, 0, w, h))
	gray16 := image.NewGray16(gray.Rect)
	pal := image.NewPaletted(gray.Rect, nil)
	for i := range 256 {
		pal.Palette = append(pal.Palette, color.NRGBA{uint8(i), uint8(i), uint8(i), uint8(255 - i)}) // alpha ignored
	}
	rgb := image.NewNRGBA(gray.Rect)
	premul := image.NewRGBA(gray.Rect)
	for y := range h {
		for x := range w {
			v := uint8(x*7 + y*3)
			gray.SetGray(x, y, color.Gray{v})
			gray16.SetGray16(x, y, color.Gray16{uint16(v)<<8 | 0x7F})
			pal.SetColorIndex(x, y, v)
			rgb.SetNRGBA(x, y, color.NRGBA{v, v, v, 255})
			premul.SetRGBA(x, y, color.RGBA{v, v, v, 255})
		}
	}
	p := weights.Preprocess{Resize: 32, Crop: 24, ChannelOrder: "RGB", InputScale: 1, Std: [3]float32{1, 1, 1}}
	want, _, err := Prepare(rgb, p, 0)
	if err != nil {
		t.Fatal(err)
	}
	for _, img := range []image.Image{gray, gray16, pal, premul} {
		got, _, err := Prepare(img, p, 0)
		if err != nil {
			t.Fatal(err)
		}
		for i := range got.Data {
			if got.Data[i] != want.Data[i] {
				t.Fatalf("%T: value %d = %v, want %v", img, i, got.Data[i], want.Data[i])
			}
		}
	}
	// A premultiplied half-transparent pixel is un-premultiplied, like
	// PIL's stored RGBA colour.
	half := image.NewRGBA(image.Rect(0, 0, 1, 1))
	half.SetRGBA(0, 0, color.RGBA{50, 100, 0, 128})
	if got := rgbBytes(half); got[0] != 100 || got[1] != 199 || got[2] != 0 {
		t.Errorf("premultiplied (50,100,0,128) → %v, want [100 199 0]", got)
	}
}

func TestPrepareErrors(t *testing.T) {
	good := weights.TorchvisionPreprocess
	for _, c := range []struct {
		name string
		img  image.Image
		p    func(p *weights.Preprocess)
		size int
		msg  string
	}{
		{"order", testImage(), func(p *weights.Preprocess) { p.ChannelOrder = "GBR" }, 0, "channel order"},
		{"std", testImage(), func(p *weights.Preprocess) { p.Std[1] = 0 }, 0, "std[1]"},
		{"scale", testImage(), func(p *weights.Preprocess) { p.InputScale = 0 }, 0, "input_scale"},
		{"size", testImage(), func(p *weights.Preprocess) {}, 10000, "input size"},
		{"empty", image.NewRGBA(image.Rect(0, 0, 0, 5)), func(p *weights.Preprocess) {}, 0, "empty image"},
		{"tiny resize", testImage(), func(p *weights.Preprocess) { p.Resize = 100 }, 2, "resize"},
		{"unbounded", image.NewUniform(color.White), func(p *weights.Preprocess) {}, 0, "megapixel limit"},
		{"thin", image.NewRGBA(image.Rect(0, 0, 1, 100000)), func(p *weights.Preprocess) {}, 1, ""},
		{"wide", image.NewRGBA(image.Rect(0, 0, 1000000, 1)), func(p *weights.Preprocess) {}, 0, ""},
	} {
		p := good
		c.p(&p)
		_, _, err := Prepare(c.img, p, c.size)
		if c.msg == "" {
			if err != nil {
				t.Errorf("%s: %v", c.name, err)
			}
			continue
		}
		if err == nil || !strings.Contains(err.Error(), c.msg) {
			t.Errorf("%s: error %v, want one mentioning %q", c.name, err, c.msg)
		}
	}
}

func TestBatch(t *testing.T) {
	a, _, err := Prepare(testImage(), weights.TorchvisionPreprocess, 160)
	if err != nil {
		t.Fatal(err)
	}
	b, _, err := Prepare(synthetic(200, 300), weights.TorchvisionPreprocess, 160)
	if err != nil {
		t.Fatal(err)
	}
	x, err := Batch(a, b, a)
	if err != nil {
		t.Fatal(err)
	}
	if s := x.Shape; len(s) != 4 || s[0] != 3 || s[1] != 3 || s[2] != 160 || s[3] != 160 {
		t.Fatalf("shape %v", s)
	}
	n := len(a.Data)
	for i, want := range []*model.Tensor{a, b, a} {
		for j := range n {
			if x.Data[i*n+j] != want.Data[j] {
				t.Fatalf("item %d value %d = %v, want %v", i, j, x.Data[i*n+j], want.Data[j])
			}
		}
	}
	c, _, err := Prepare(testImage(), weights.TorchvisionPreprocess, 224)
	if err != nil {
		t.Fatal(err)
	}
	for name, ts := range map[string][]*model.Tensor{
		"none":       nil,
		"mixed size": {a, c},
		"nil":        {a, nil},
		"batched":    {x},
		"short data": {{Shape: []int{1, 3, 160, 160}, Data: make([]float32, 10)}},
	} {
		if _, err := Batch(ts...); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
}
