package jpegscale

import "math"

// idctBasis[n][x*n+u] is C(u)/2·cos((2x+1)uπ/2n), C(0) = 1/√2: the
// n-point inverse DCT of an 8-point block's lowest n frequencies. With it
// f(x,y) = Σu Σv basis[x][u]·basis[y][v]·F(v,u) keeps a block's mean (its
// DC term / 8) at every size, as libjpeg's reduced-size IDCTs do.
var idctBasis [9][]float32

func init() {
	for _, n := range []int{1, 2, 4, 8} {
		b := make([]float32, n*n)
		for x := range n {
			for u := range n {
				cu := 1.0
				if u == 0 {
					cu = 1 / math.Sqrt2
				}
				b[x*n+u] = float32(cu / 2 * math.Cos(float64(2*x+1)*float64(u)*math.Pi/float64(2*n)))
			}
		}
		idctBasis[n] = b
	}
}

// idct writes the n×n pixels of block (bx, by) from its dequantised
// coefficients w (natural order within n×n), level-shifted by 128 and
// clamped to 0–255.
func (c *component) idct(bx, by int, w *[64]int32) {
	n := c.n
	stride := c.bw * n
	dst := c.plane[by*n*stride+bx*n:]
	if n == 1 { // libjpeg's jpeg_idct_1x1: DESCALE(dc, 3)
		dst[0] = clampPixel((w[0]+4)>>3 + 128)
		return
	}
	basis := idctBasis[n]
	var tmp [64]float32 // tmp[v*n+x]: each row of frequencies, inverted across
	for v := range n {
		row := w[v*n : v*n+n]
		zero := true
		for _, x := range row {
			if x != 0 {
				zero = false
				break
			}
		}
		if zero {
			continue
		}
		for x := range n {
			var s float32
			bx := basis[x*n : x*n+n]
			for u, f := range row {
				s += bx[u] * float32(f)
			}
			tmp[v*n+x] = s
		}
	}
	for y := range n {
		by := basis[y*n : y*n+n]
		out := dst[y*stride : y*stride+n]
		for x := range n {
			var s float32
			for v := range n {
				s += by[v] * tmp[v*n+x]
			}
			out[x] = clampFloat(s + 128.5)
		}
	}
}

func clampPixel(v int32) byte { return byte(min(max(v, 0), 255)) }

// clampFloat rounds (v already holds the +0.5) and clamps to a byte.
func clampFloat(v float32) byte {
	switch {
	case v <= 0:
		return 0
	case v >= 255:
		return 255
	}
	return byte(v)
}
