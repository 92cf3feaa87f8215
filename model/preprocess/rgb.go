package preprocess

import (
	"image"
	"image/color"
)

// rgbRows reads an image one row at a time as packed 8-bit RGB, converting
// like PIL's convert("RGB"): alpha is dropped (colour channels kept as
// stored, un-premultiplied), grey is replicated, palettes are looked up,
// 16-bit channels keep their high byte, CMYK uses PIL's formula, and JPEG
// YCbCr is upsampled and converted the way libjpeg does (PIL's decoder).
type rgbRows struct {
	w, h int
	// row writes columns [x0, x1) of row y (all 0-based) into dst, which
	// holds at least 3*(x1-x0) bytes.
	row func(y, x0, x1 int, dst []byte)
}

func newRGBRows(img image.Image) rgbRows {
	b := img.Bounds()
	r := rgbRows{w: b.Dx(), h: b.Dy()}
	ox, oy := b.Min.X, b.Min.Y
	switch m := img.(type) {
	case *image.RGBA:
		r.row = func(y, x0, x1 int, dst []byte) {
			p := m.Pix[m.PixOffset(ox+x0, oy+y):]
			for i := range x1 - x0 {
				s := p[4*i : 4*i+4 : 4*i+4]
				if a := s[3]; a == 0xFF || a == 0 {
					dst[3*i], dst[3*i+1], dst[3*i+2] = s[0], s[1], s[2]
				} else {
					dst[3*i], dst[3*i+1], dst[3*i+2] = unpremul(s[0], a), unpremul(s[1], a), unpremul(s[2], a)
				}
			}
		}
	case *image.NRGBA:
		r.row = func(y, x0, x1 int, dst []byte) {
			p := m.Pix[m.PixOffset(ox+x0, oy+y):]
			for i := range x1 - x0 {
				dst[3*i], dst[3*i+1], dst[3*i+2] = p[4*i], p[4*i+1], p[4*i+2]
			}
		}
	case *image.NRGBA64:
		r.row = func(y, x0, x1 int, dst []byte) {
			p := m.Pix[m.PixOffset(ox+x0, oy+y):]
			for i := range x1 - x0 {
				dst[3*i], dst[3*i+1], dst[3*i+2] = p[8*i], p[8*i+2], p[8*i+4]
			}
		}
	case *image.RGBA64: // 16-bit opaque PNGs
		r.row = func(y, x0, x1 int, dst []byte) {
			p := m.Pix[m.PixOffset(ox+x0, oy+y):]
			for i := range x1 - x0 {
				if p[8*i+6] == 0xFF && p[8*i+7] == 0xFF {
					dst[3*i], dst[3*i+1], dst[3*i+2] = p[8*i], p[8*i+2], p[8*i+4]
				} else {
					c := rgbOf(m.RGBA64At(ox+x0+i, oy+y))
					dst[3*i], dst[3*i+1], dst[3*i+2] = c[0], c[1], c[2]
				}
			}
		}
	case *image.Gray:
		r.row = func(y, x0, x1 int, dst []byte) {
			p := m.Pix[m.PixOffset(ox+x0, oy+y):]
			for i := range x1 - x0 {
				dst[3*i], dst[3*i+1], dst[3*i+2] = p[i], p[i], p[i]
			}
		}
	case *image.Gray16:
		r.row = func(y, x0, x1 int, dst []byte) {
			p := m.Pix[m.PixOffset(ox+x0, oy+y):]
			for i := range x1 - x0 {
				dst[3*i], dst[3*i+1], dst[3*i+2] = p[2*i], p[2*i], p[2*i]
			}
		}
	case *image.Paletted:
		var pal [256][3]byte
		for i, c := range m.Palette {
			if i < 256 {
				pal[i] = rgbOf(c)
			}
		}
		r.row = func(y, x0, x1 int, dst []byte) {
			p := m.Pix[m.PixOffset(ox+x0, oy+y):]
			for i := range x1 - x0 {
				c := pal[p[i]]
				dst[3*i], dst[3*i+1], dst[3*i+2] = c[0], c[1], c[2]
			}
		}
	case *image.CMYK:
		r.row = func(y, x0, x1 int, dst []byte) {
			p := m.Pix[m.PixOffset(ox+x0, oy+y):]
			for i := range x1 - x0 {
				dst[3*i], dst[3*i+1], dst[3*i+2] = cmykToRGB(p[4*i], p[4*i+1], p[4*i+2], p[4*i+3])
			}
		}
	case *image.YCbCr:
		r.row = jpegYCbCrRows(m)
	case *image.NYCbCrA:
		r.row = jpegYCbCrRows(&m.YCbCr)
	default:
		r.row = func(y, x0, x1 int, dst []byte) {
			for i := range x1 - x0 {
				c := rgbOf(img.At(ox+x0+i, oy+y))
				dst[3*i], dst[3*i+1], dst[3*i+2] = c[0], c[1], c[2]
			}
		}
	}
	return r
}

// unpremul undoes alpha premultiplication of one 8-bit channel, rounding.
func unpremul(c, a uint8) uint8 {
	return uint8(min((int(c)*255+int(a)/2)/int(a), 255))
}

// rgbOf is a colour's non-premultiplied RGB, keeping the stored colour of
// NRGBA values (PNG palettes with transparency) even where alpha is 0.
func rgbOf(c color.Color) [3]byte {
	switch v := c.(type) {
	case color.NRGBA:
		return [3]byte{v.R, v.G, v.B}
	case color.RGBA:
		if v.A == 0xFF || v.A == 0 {
			return [3]byte{v.R, v.G, v.B}
		}
		return [3]byte{unpremul(v.R, v.A), unpremul(v.G, v.A), unpremul(v.B, v.A)}
	case color.Gray:
		return [3]byte{v.Y, v.Y, v.Y}
	}
	n := color.NRGBA64Model.Convert(c).(color.NRGBA64)
	return [3]byte{uint8(n.R >> 8), uint8(n.G >> 8), uint8(n.B >> 8)}
}

// cmykToRGB is PIL's cmyk2rgb: each channel is (255-K) - X*(255-K)/255
// with PIL's rounded MULDIV255.
func cmykToRGB(c, m, y, k uint8) (uint8, uint8, uint8) {
	nk := 255 - int(k)
	f := func(v uint8) uint8 {
		t := int(v)*nk + 128
		return uint8(nk - ((t>>8)+t)>>8)
	}
	return f(c), f(m), f(y)
}
