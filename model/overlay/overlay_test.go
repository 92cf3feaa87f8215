package overlay

import (
	"image"
	"image/color"
	"math"
	"strings"
	"testing"

	"github.com/residual-webgpu/residual/model"
)

func TestUpsample(t *testing.T) {
	// PyTorch: F.interpolate(torch.tensor([[[[0.,1.],[2.,3.]]]]), size=(4,4),
	// mode="bilinear", align_corners=False).
	want := []float32{
		0, 0.25, 0.75, 1,
		0.5, 0.75, 1.25, 1.5,
		1.5, 1.75, 2.25, 2.5,
		2, 2.25, 2.75, 3,
	}
	got := Upsample([]float32{0, 1, 2, 3}, 2, 2, 4, 4)
	for i := range want {
		if math.Abs(float64(got[i]-want[i])) > 1e-6 {
			t.Fatalf("upsampled %v, want %v", got, want)
		}
	}
	// A 7×7 map's peak cell stays the peak at 224×224, around the cell's centre.
	m := make([]float32, 49)
	m[2*7+5] = 1
	up := Upsample(m, 7, 7, 224, 224)
	best := 0
	for i, v := range up {
		if v > up[best] {
			best = i
		}
	}
	if x, y := best%224, best/224; x/32 != 5 || y/32 != 2 {
		t.Errorf("peak at (%d,%d), want in cell (5,2)", x, y)
	}
}

func TestJet(t *testing.T) {
	lo, mid, hi := Jet(0), Jet(0.5), Jet(1)
	if !(lo.B > lo.R && lo.B > lo.G) || !(hi.R > hi.G && hi.R > hi.B) || !(mid.G > mid.B) {
		t.Errorf("jet 0 %v, 0.5 %v, 1 %v: want blue, green-ish, red", lo, mid, hi)
	}
	if Jet(float32(math.NaN())) != lo || Jet(-3) != lo || Jet(7) != hi {
		t.Error("out of range values are not clamped")
	}
	if g := CSSGradient(3); !strings.HasPrefix(g, "linear-gradient(to right, rgb(") || strings.Count(g, "rgb(") != 3 {
		t.Errorf("gradient %q", g)
	}
}

func TestCAM(t *testing.T) {
	img := image.NewRGBA(image.Rect(10, 20, 42, 36)) // offset bounds
	for i := range img.Pix {
		img.Pix[i] = 200
	}
	m := &model.CAM{W: 2, H: 1, Values: []float32{-5, 3}}
	for _, op := range []float64{0, 0.5, 1} {
		out, err := CAM(img, m, op)
		if err != nil {
			t.Fatal(err)
		}
		if out.Rect != image.Rect(0, 0, 32, 16) {
			t.Fatalf("bounds %v", out.Rect)
		}
		left, right := out.RGBAAt(0, 8), out.RGBAAt(31, 8)
		want := func(c color.RGBA) color.RGBA {
			f := func(a uint8) uint8 { return uint8(200*(1-op) + float64(a)*op + 0.5) }
			return color.RGBA{f(c.R), f(c.G), f(c.B), 255}
		}
		if left != want(Jet(0)) || right != want(Jet(1)) {
			t.Errorf("opacity %g: left %v right %v, want %v %v", op, left, right, want(Jet(0)), want(Jet(1)))
		}
	}
	if _, err := CAM(img, &model.CAM{W: 2, H: 2, Values: []float32{1}}, 1); err == nil {
		t.Error("inconsistent map accepted")
	}
	if _, err := CAM(nil, m, 1); err == nil {
		t.Error("nil image accepted")
	}
}
