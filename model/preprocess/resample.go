package preprocess

import (
	"image"
	"math"
)

// This file is PIL's ImagingResample (libImaging/Resample.c) for 8-bit RGB
// with the BILINEAR filter, which is what torchvision's Resize does to PIL
// images: two separable passes (horizontal first, then vertical), a
// triangle filter whose support widens with the downscale factor (that is
// the antialiasing), weights normalised per output pixel and rounded to
// 22-bit fixed point, and a uint8 round/clamp between the passes. Every
// step is reproduced so results are bit-identical to PIL's.

// precisionBits is PIL's PRECISION_BITS (32 - 8 - 2).
const precisionBits = 22

// axis is one pass's precomputed filter: output pixel i reads count[i]
// input pixels from first[i] with weights k[i*ksize:].
type axis struct {
	ksize        int
	first, count []int
	k            []int32
}

// bilinear is PIL's bilinear_filter: a triangle of support 1.
func bilinear(x float64) float64 {
	if x < 0 {
		x = -x
	}
	if x < 1 {
		return 1 - x
	}
	return 0
}

// newAxis is PIL's precompute_coeffs + normalize_coeffs_8bpc for
// resizing inSize pixels to outSize, restricted to outputs [lo, hi).
// The float64 arithmetic follows the C expression by expression (explicit
// conversions stop Go from fusing a multiply-add), so the rounded weights
// are the same bits.
func newAxis(inSize, outSize, lo, hi int) axis {
	scale := float64(inSize) / float64(outSize)
	filterscale := max(scale, 1)
	support := 1.0 * filterscale
	a := axis{ksize: int(math.Ceil(support))*2 + 1}
	n := hi - lo
	a.first, a.count = make([]int, n), make([]int, n)
	a.k = make([]int32, n*a.ksize)
	w := make([]float64, a.ksize)
	for i := range n {
		xx := lo + i
		center := 0 + float64((float64(xx)+0.5)*scale)
		ss := 1.0 / filterscale
		xmin := int(center - support + 0.5)
		xmin = max(xmin, 0)
		xmax := int(center + support + 0.5)
		xmax = min(xmax, inSize) - xmin
		ww := 0.0
		for x := range xmax {
			w[x] = bilinear((float64(x+xmin) - center + 0.5) * ss)
			ww += w[x]
		}
		k := a.k[i*a.ksize : (i+1)*a.ksize]
		for x := range xmax {
			v := w[x]
			if ww != 0 {
				v /= ww
			}
			if v < 0 {
				k[x] = int32(-0.5 + float64(v*(1<<precisionBits)))
			} else {
				k[x] = int32(0.5 + float64(v*(1<<precisionBits)))
			}
		}
		a.first[i], a.count[i] = xmin, xmax
	}
	return a
}

// clip8 is PIL's clip8: drop the fixed-point fraction, clamp to 0–255.
func clip8(v int32) byte {
	v >>= precisionBits
	if v < 0 {
		return 0
	}
	if v > 255 {
		return 255
	}
	return byte(v)
}

// Resize resizes img to w×h exactly as PIL's
// img.convert("RGB").resize((w, h), Image.BILINEAR) does, returning an
// opaque image.
func Resize(img image.Image, w, h int) *image.RGBA {
	return resampleRegion(newRGBRows(img), w, h, image.Rect(0, 0, w, h))
}

// resampleRegion computes the pixels in region r of src resized to
// outW×outH (PIL's algorithm; each output pixel depends only on its own
// weights, so computing a window gives the same values as resizing all and
// cropping). Parts of r outside the resized image are black, as
// torchvision's CenterCrop pads. The result is r.Dx()×r.Dy() at the origin.
func resampleRegion(src rgbRows, outW, outH int, r image.Rectangle) *image.RGBA {
	out := image.NewRGBA(image.Rect(0, 0, r.Dx(), r.Dy()))
	for i := 3; i < len(out.Pix); i += 4 {
		out.Pix[i] = 0xFF
	}
	in := r.Intersect(image.Rect(0, 0, outW, outH))
	if in.Empty() || src.w == 0 || src.h == 0 {
		return out
	}
	x0, x1, y0, y1 := in.Min.X, in.Max.X, in.Min.Y, in.Max.Y
	cw := x1 - x0
	// PIL skips a pass whose size does not change (need_horizontal /
	// need_vertical); the identity filter would give the same bytes anyway.
	needH, needV := outW != src.w, outH != src.h
	var h, v axis
	if needH {
		h = newAxis(src.w, outW, x0, x1)
	}
	// Source rows the vertical pass reads.
	sy0, sy1 := y0, y1
	if needV {
		v = newAxis(src.h, outH, y0, y1)
		sy0, sy1 = v.first[0], 0
		for i := range v.first {
			sy0 = min(sy0, v.first[i])
			sy1 = max(sy1, v.first[i]+v.count[i])
		}
	}
	// Source columns the horizontal pass reads.
	sx0, sx1 := x0, x1
	if needH {
		sx0, sx1 = h.first[0], 0
		for i := range h.first {
			sx0 = min(sx0, h.first[i])
			sx1 = max(sx1, h.first[i]+h.count[i])
		}
	}
	// Horizontal pass into tmp: rows sy0..sy1, columns x0..x1.
	tmp := make([]byte, (sy1-sy0)*cw*3)
	row := make([]byte, (sx1-sx0)*3)
	for sy := sy0; sy < sy1; sy++ {
		src.row(sy, sx0, sx1, row)
		t := tmp[(sy-sy0)*cw*3 : (sy-sy0+1)*cw*3]
		if !needH {
			copy(t, row)
			continue
		}
		for i := range cw {
			k := h.k[i*h.ksize : i*h.ksize+h.count[i]]
			p := row[(h.first[i]-sx0)*3:]
			s0, s1, s2 := int32(1<<(precisionBits-1)), int32(1<<(precisionBits-1)), int32(1<<(precisionBits-1))
			for x, kx := range k {
				s0 += int32(p[3*x]) * kx
				s1 += int32(p[3*x+1]) * kx
				s2 += int32(p[3*x+2]) * kx
			}
			t[3*i], t[3*i+1], t[3*i+2] = clip8(s0), clip8(s1), clip8(s2)
		}
	}
	// Vertical pass into the output window.
	dx, dy := x0-r.Min.X, y0-r.Min.Y
	for j := range y1 - y0 {
		o := out.Pix[(dy+j)*out.Stride+dx*4:]
		if !needV {
			t := tmp[j*cw*3:]
			for i := range cw {
				o[4*i], o[4*i+1], o[4*i+2] = t[3*i], t[3*i+1], t[3*i+2]
			}
			continue
		}
		k := v.k[j*v.ksize : j*v.ksize+v.count[j]]
		base := (v.first[j] - sy0) * cw * 3
		for i := range cw {
			s0, s1, s2 := int32(1<<(precisionBits-1)), int32(1<<(precisionBits-1)), int32(1<<(precisionBits-1))
			p := tmp[base+3*i:]
			for y, ky := range k {
				q := p[y*cw*3:]
				s0 += int32(q[0]) * ky
				s1 += int32(q[1]) * ky
				s2 += int32(q[2]) * ky
			}
			o[4*i], o[4*i+1], o[4*i+2] = clip8(s0), clip8(s1), clip8(s2)
		}
	}
	return out
}
