package preprocess

import "image"

// webpToRGBA converts a lossy WebP frame (x/image/webp returns its raw
// 4:2:0 planes as *image.YCbCr or *image.NYCbCrA) to RGB the way libwebp
// (PIL's decoder) does: "fancy" chroma upsampling (9-3-3-1 weights) and
// BT.601 limited-range YUV→RGB. Go's YCbCr colour model would read the same
// planes as full-range JFIF and wash the colours out. Other images are
// returned unchanged.
func webpToRGBA(img image.Image) image.Image {
	var m *image.YCbCr
	var alpha *image.NYCbCrA
	switch v := img.(type) {
	case *image.YCbCr:
		m = v
	case *image.NYCbCrA:
		m, alpha = &v.YCbCr, v
	default:
		return img
	}
	if m.SubsampleRatio != image.YCbCrSubsampleRatio420 || m.Rect.Min != (image.Point{}) {
		return img
	}
	w, h := m.Rect.Dx(), m.Rect.Dy()
	cw, ch := (w+1)/2, (h+1)/2
	var pix []byte
	var stride int
	var out image.Image
	if alpha != nil {
		o := image.NewNRGBA(m.Rect)
		pix, stride, out = o.Pix, o.Stride, o
	} else {
		o := image.NewRGBA(m.Rect)
		pix, stride, out = o.Pix, o.Stride, o
	}
	us, vs := make([]byte, w), make([]byte, w)
	for y := range h {
		// Row y's nearer chroma row is y/2; the farther one is above for
		// even rows and below for odd ones (libwebp pairs rows 2k-1, 2k).
		n := y / 2
		f := n + 1
		if y%2 == 0 {
			f = n - 1
		}
		f = min(max(f, 0), ch-1)
		upsampleWebP(m.Cb[n*m.CStride:][:cw], m.Cb[f*m.CStride:][:cw], us)
		upsampleWebP(m.Cr[n*m.CStride:][:cw], m.Cr[f*m.CStride:][:cw], vs)
		yrow := m.Y[y*m.YStride:][:w]
		row := pix[y*stride:]
		for x := range w {
			webpRGB(int32(yrow[x]), int32(us[x]), int32(vs[x]), row[4*x:])
			row[4*x+3] = 0xFF
			if alpha != nil {
				row[4*x+3] = alpha.A[alpha.AOffset(x, y)]
			}
		}
	}
	return out
}

// upsampleWebP interpolates one row of chroma to len(out) samples from
// the nearer chroma row n and the farther row f, as libwebp's
// UpsampleRgbLinePair does (its rounding, its edge handling).
func upsampleWebP(n, f []byte, out []byte) {
	w := len(out)
	out[0] = byte((3*int32(n[0]) + int32(f[0]) + 2) >> 2)
	for x := 1; x <= (w-1)/2; x++ {
		tl, t, l, c := int32(n[x-1]), int32(n[x]), int32(f[x-1]), int32(f[x])
		avg := tl + t + l + c + 8
		d12 := (avg + 2*(t+l)) >> 3
		d03 := (avg + 2*(tl+c)) >> 3
		out[2*x-1] = byte((d12 + tl) >> 1)
		out[2*x] = byte((d03 + t) >> 1)
	}
	if w%2 == 0 {
		k := w/2 - 1
		out[w-1] = byte((3*int32(n[k]) + int32(f[k]) + 2) >> 2)
	}
}

// webpRGB is libwebp's VP8YuvToRgb (14-bit fixed point, yuv.h).
func webpRGB(y, u, v int32, dst []byte) {
	mulHi := func(a, k int32) int32 { return (a * k) >> 8 }
	clip := func(x int32) byte {
		if x&^(256<<6-1) == 0 {
			return byte(x >> 6)
		}
		if x < 0 {
			return 0
		}
		return 255
	}
	dst[0] = clip(mulHi(y, 19077) + mulHi(v, 26149) - 14234)
	dst[1] = clip(mulHi(y, 19077) - mulHi(u, 6419) - mulHi(v, 13320) + 8708)
	dst[2] = clip(mulHi(y, 19077) + mulHi(u, 33050) - 17685)
}
