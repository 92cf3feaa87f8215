package preprocess

import "image"

// libjpeg's YCbCr→RGB tables (jdcolor.c, 16-bit fixed point), so JPEG
// colours match PIL's decoder rather than Go's color.YCbCrToRGB (which
// rounds differently and is off by one here and there).
var jpegCrR, jpegCbB, jpegCrG, jpegCbG [256]int32

func init() {
	for i := range 256 {
		x := int32(i - 128)
		jpegCrR[i] = (91881*x + 1<<15) >> 16  // FIX(1.40200)
		jpegCbB[i] = (116130*x + 1<<15) >> 16 // FIX(1.77200)
		jpegCrG[i] = -46802 * x               // FIX(0.71414)
		jpegCbG[i] = -22554*x + 1<<15         // FIX(0.34414)
	}
}

func clamp8(v int32) byte {
	return byte(min(max(v, 0), 255))
}

func jpegRGB(y, cb, cr byte, dst []byte) {
	yy := int32(y)
	dst[0] = clamp8(yy + jpegCrR[cr])
	dst[1] = clamp8(yy + (jpegCbG[cb]+jpegCrG[cr])>>16)
	dst[2] = clamp8(yy + jpegCbB[cb])
}

// subsampling is how many luma samples share one chroma sample across and
// down.
func subsampling(r image.YCbCrSubsampleRatio) (h, v int) {
	switch r {
	case image.YCbCrSubsampleRatio422:
		return 2, 1
	case image.YCbCrSubsampleRatio420:
		return 2, 2
	case image.YCbCrSubsampleRatio440:
		return 1, 2
	case image.YCbCrSubsampleRatio411:
		return 4, 1
	case image.YCbCrSubsampleRatio410:
		return 4, 2
	}
	return 1, 1
}

// jpegYCbCrRows converts a decoded JPEG's planes row by row the way
// libjpeg(-turbo) does with its default "fancy" upsampling: 4:2:2, 4:2:0
// and 4:4:0 chroma is interpolated with a triangle filter (3/4 nearer
// sample, 1/4 farther, edges replicated, libjpeg's rounding biases); other
// ratios are replicated. Go's own YCbCr.At always replicates.
func jpegYCbCrRows(m *image.YCbCr) func(y, x0, x1 int, dst []byte) {
	b := m.Rect
	hs, vs := subsampling(m.SubsampleRatio)
	// Chroma samples in absolute chroma coordinates, as COffset counts.
	cj0, ci0 := b.Min.X/hs, b.Min.Y/vs
	cj1, ci1 := (b.Max.X-1)/hs, (b.Max.Y-1)/vs
	if hs > 2 || hs*vs == 1 {
		return func(y, x0, x1 int, dst []byte) {
			ay := b.Min.Y + y
			for i := range x1 - x0 {
				ax := b.Min.X + x0 + i
				c := m.COffset(ax, ay)
				jpegRGB(m.Y[m.YOffset(ax, ay)], m.Cb[c], m.Cr[c], dst[3*i:])
			}
		}
	}
	// Per row: the vertically filtered chroma (×4 for 4:2:0 and 4:4:0)
	// over the chroma columns the requested pixels touch, one extra each
	// side for the horizontal filter.
	n := cj1 - cj0 + 1
	cbs, crs := make([]int32, n), make([]int32, n)
	return func(y, x0, x1 int, dst []byte) {
		ay := b.Min.Y + y
		ax0, ax1 := b.Min.X+x0, b.Min.X+x1
		j0, j1 := max(ax0/hs-1, cj0), min((ax1-1)/hs+1, cj1)
		i := ay / vs
		cb, cr := m.Cb[(i-ci0)*m.CStride:], m.Cr[(i-ci0)*m.CStride:]
		if vs == 2 { // 3×this row + the nearer neighbour row
			nb := i + 1
			if ay%2 == 0 {
				nb = i - 1
			}
			nb = min(max(nb, ci0), ci1)
			ncb, ncr := m.Cb[(nb-ci0)*m.CStride:], m.Cr[(nb-ci0)*m.CStride:]
			for j := j0 - cj0; j <= j1-cj0; j++ {
				cbs[j] = 3*int32(cb[j]) + int32(ncb[j])
				crs[j] = 3*int32(cr[j]) + int32(ncr[j])
			}
		} else {
			for j := j0 - cj0; j <= j1-cj0; j++ {
				cbs[j], crs[j] = int32(cb[j]), int32(cr[j])
			}
		}
		yrow := m.Y[m.YOffset(ax0, ay):]
		switch {
		case hs == 2: // h2v2_fancy_upsample (÷16) or h2v1_fancy_upsample (÷4)
			shift, even, odd := int32(2), int32(1), int32(2)
			if vs == 2 {
				shift, even, odd = 4, 8, 7
			}
			for i := range x1 - x0 {
				ax := ax0 + i
				j := ax/hs - cj0
				var k int
				var bias int32
				if ax%2 == 0 {
					k, bias = max(j-1, 0), even
				} else {
					k, bias = min(j+1, n-1), odd
				}
				jpegRGB(yrow[i], byte((3*cbs[j]+cbs[k]+bias)>>shift), byte((3*crs[j]+crs[k]+bias)>>shift), dst[3*i:])
			}
		default: // h1v2_fancy_upsample
			bias := int32(2)
			if ay%2 == 0 {
				bias = 1
			}
			for i := range x1 - x0 {
				j := ax0 + i - cj0
				jpegRGB(yrow[i], byte((cbs[j]+bias)>>2), byte((crs[j]+bias)>>2), dst[3*i:])
			}
		}
	}
}
