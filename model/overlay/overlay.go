// Package overlay draws a class activation map (model.CAM) over the image
// the network saw, in a colour scale: the one drawing that cmd/classify's
// -cam PNGs and the app's "where it looked" view both show.
package overlay

import (
	"fmt"
	"image"
	"image/color"
	"image/draw"
	"math"

	"github.com/residual-webgpu/residual/model"
)

// CAM returns img with the map m upsampled to its size (bilinear) and
// blended over it in the jet colour scale: each pixel is
// (1−opacity)·img + opacity·Jet(v), v being the map normalised to [0,1]
// (model.CAM.Normalized: blue where the class's evidence is weakest, red
// where it is strongest). opacity is clamped to [0,1]. img should be the
// crop the network was given (the map covers exactly that).
func CAM(img image.Image, m *model.CAM, opacity float64) (*image.RGBA, error) {
	if img == nil || m == nil {
		return nil, fmt.Errorf("overlay: no image or no map")
	}
	if m.W < 1 || m.H < 1 || len(m.Values) != m.W*m.H {
		return nil, fmt.Errorf("overlay: map of %dx%d has %d values", m.W, m.H, len(m.Values))
	}
	b := img.Bounds()
	if b.Empty() {
		return nil, fmt.Errorf("overlay: empty image")
	}
	if !(opacity >= 0) { // NaN too
		opacity = 0
	}
	opacity = min(opacity, 1)
	up := Upsample(m.Normalized(), m.W, m.H, b.Dx(), b.Dy())
	out := image.NewRGBA(image.Rect(0, 0, b.Dx(), b.Dy()))
	draw.Draw(out, out.Rect, img, b.Min, draw.Src)
	a := float32(opacity)
	for y := range b.Dy() {
		row := out.Pix[y*out.Stride : y*out.Stride+4*b.Dx()]
		for x := range b.Dx() {
			c := Jet(up[y*b.Dx()+x])
			p := row[4*x : 4*x+4]
			p[0] = blend(p[0], c.R, a)
			p[1] = blend(p[1], c.G, a)
			p[2] = blend(p[2], c.B, a)
			p[3] = 255
		}
	}
	return out, nil
}

func blend(under, over uint8, a float32) uint8 {
	return uint8(float32(under)*(1-a) + float32(over)*a + 0.5)
}

// Upsample resizes a w×h map (row-major) to W×H by bilinear
// interpolation with PyTorch's align_corners=False sampling (pixel
// centres line up; the border is extended), as torch's
// F.interpolate(mode="bilinear") does.
func Upsample(v []float32, w, h, W, H int) []float32 {
	out := make([]float32, W*H)
	if w < 1 || h < 1 || len(v) < w*h {
		return out
	}
	type tap struct {
		i0, i1 int
		f      float32
	}
	taps := func(in, n int) []tap {
		t := make([]tap, n)
		scale := float64(in) / float64(n)
		for o := range t {
			s := max((float64(o)+0.5)*scale-0.5, 0)
			i0 := min(int(s), in-1)
			t[o] = tap{i0, min(i0+1, in-1), float32(s - float64(i0))}
		}
		return t
	}
	xs, ys := taps(w, W), taps(h, H)
	for y, ty := range ys {
		r0, r1 := v[ty.i0*w:(ty.i0+1)*w], v[ty.i1*w:(ty.i1+1)*w]
		for x, tx := range xs {
			top := r0[tx.i0] + (r0[tx.i1]-r0[tx.i0])*tx.f
			bot := r1[tx.i0] + (r1[tx.i1]-r1[tx.i0])*tx.f
			out[y*W+x] = top + (bot-top)*ty.f
		}
	}
	return out
}

// Jet maps v in [0,1] (clamped; NaN as 0) to the jet colour scale of
// the CAM paper's figures: dark blue, blue, cyan, yellow, red, dark red.
func Jet(v float32) color.RGBA {
	x := float64(v)
	if !(x >= 0) {
		x = 0
	}
	x = min(x, 1)
	ch := func(centre float64) uint8 {
		return uint8(math.Round(255 * min(max(1.5-math.Abs(4*x-centre), 0), 1)))
	}
	return color.RGBA{ch(3), ch(2), ch(1), 255}
}

// CSSGradient is the Jet scale as a CSS linear-gradient to the right,
// from 0 (left) to 1 (right) in n stops, for a colour-scale legend.
func CSSGradient(n int) string {
	n = max(n, 2)
	s := "linear-gradient(to right"
	for i := range n {
		c := Jet(float32(i) / float32(n-1))
		s += fmt.Sprintf(", rgb(%d,%d,%d)", c.R, c.G, c.B)
	}
	return s + ")"
}
