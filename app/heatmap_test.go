package app

import (
	"bytes"
	"encoding/base64"
	"image/png"
	"math"
	"strings"
	"testing"

	"github.com/residual-webgpu/residual/model"
)

func TestHeatColorEnds(t *testing.T) {
	lo, hi := heatColor(0), heatColor(1)
	if lo.R != 68 || lo.G != 1 || lo.B != 84 || hi.R != 253 || hi.G != 231 || hi.B != 37 {
		t.Errorf("ends %v %v", lo, hi)
	}
	if heatColor(float32(math.NaN())) != lo || heatColor(-3) != lo || heatColor(7) != hi {
		t.Error("out-of-range values not clamped")
	}
	// Brightness grows with the value, so the map reads in grey too.
	prev := -1.0
	for i := 0; i <= 20; i++ {
		c := heatColor(float32(i) / 20)
		l := 0.2126*float64(c.R) + 0.7152*float64(c.G) + 0.0722*float64(c.B)
		if l < prev {
			t.Fatalf("luminance falls at %d/20", i)
		}
		prev = l
	}
}

func TestHeatmapDataURL(t *testing.T) {
	data := make([]float32, 2*6*9)
	for i := range data {
		data[i] = float32(i % 9) // brighter to the right
	}
	h := model.MakeHeatmap(data, 2, 6, 9)
	url := heatmapDataURL(h)
	b64, ok := strings.CutPrefix(url, "data:image/png;base64,")
	if !ok {
		t.Fatalf("not a PNG data URL: %.40s", url)
	}
	raw, err := base64.StdEncoding.DecodeString(b64)
	if err != nil {
		t.Fatal(err)
	}
	img, err := png.Decode(bytes.NewReader(raw))
	if err != nil {
		t.Fatal(err)
	}
	if img.Bounds().Dx() != h.W || img.Bounds().Dy() != h.H {
		t.Fatalf("image %v, heatmap %dx%d", img.Bounds(), h.W, h.H)
	}
	l, _, _, _ := img.At(0, 0).RGBA()
	r, _, _, _ := img.At(h.W-1, 0).RGBA()
	if r <= l {
		t.Error("the right (high) side is not brighter")
	}
	for _, bad := range []*model.Heatmap{nil, {W: 0, H: 3}, {W: 3, H: 3, Values: []float32{1}}} {
		if heatmapDataURL(bad) != "" {
			t.Errorf("heatmap %+v gave an image", bad)
		}
	}
}
