package preprocess

import (
	"bytes"
	"image"
	"image/color"
	"math/rand/v2"
	"testing"
)

// rowImages are images of every type rgbRows has a fast path for, filled
// with noise, some as sub-images with odd origins.
func rowImages() map[string]image.Image {
	rng := rand.New(rand.NewPCG(1, 2))
	r := image.Rect(0, 0, 37, 23)
	fill := func(b []byte) {
		for i := range b {
			b[i] = byte(rng.IntN(256))
		}
	}
	out := map[string]image.Image{}
	for _, ratio := range []image.YCbCrSubsampleRatio{
		image.YCbCrSubsampleRatio444, image.YCbCrSubsampleRatio422, image.YCbCrSubsampleRatio420,
		image.YCbCrSubsampleRatio440, image.YCbCrSubsampleRatio411, image.YCbCrSubsampleRatio410,
	} {
		m := image.NewYCbCr(r, ratio)
		fill(m.Y)
		fill(m.Cb)
		fill(m.Cr)
		out["ycbcr"+ratio.String()] = m
		out["ycbcr"+ratio.String()+"-sub"] = m.SubImage(image.Rect(3, 5, 30, 20))
	}
	rgba := image.NewRGBA(r)
	fill(rgba.Pix)
	nrgba := image.NewNRGBA(r)
	fill(nrgba.Pix)
	gray := image.NewGray(r)
	fill(gray.Pix)
	cmyk := image.NewCMYK(r)
	fill(cmyk.Pix)
	n64 := image.NewNRGBA64(r)
	fill(n64.Pix)
	pal := image.NewPaletted(r, nil)
	for i := range 256 {
		pal.Palette = append(pal.Palette, color.NRGBA{byte(i), byte(3 * i), byte(7 * i), byte(i)})
	}
	fill(pal.Pix)
	out["rgba"], out["nrgba"], out["gray"], out["cmyk"], out["nrgba64"], out["paletted"] = rgba, nrgba, gray, cmyk, n64, pal
	out["nrgba-sub"] = nrgba.SubImage(image.Rect(5, 3, 20, 21))
	out["generic"] = struct{ image.Image }{nrgba} // hides the type: the At path
	return out
}

// TestRowRanges: reading columns [x0, x1) of a row gives exactly that
// slice of the whole row (the resampler reads only the columns it needs).
func TestRowRanges(t *testing.T) {
	nrgba := rowImages()["nrgba"]
	for name, img := range rowImages() {
		r := newRGBRows(img)
		if name == "generic" && !bytes.Equal(rgbBytes(img), rgbBytes(nrgba)) {
			t.Errorf("the At path reads NRGBA differently from the fast path")
		}
		full := make([]byte, 3*r.w)
		part := make([]byte, 3*r.w)
		for y := range r.h {
			r.row(y, 0, r.w, full)
			for x0 := 0; x0 < r.w; x0++ {
				for x1 := x0 + 1; x1 <= r.w; x1 += 3 {
					r.row(y, x0, x1, part)
					if !bytes.Equal(part[:3*(x1-x0)], full[3*x0:3*x1]) {
						t.Fatalf("%s: row %d columns [%d,%d) differ from the whole row's", name, y, x0, x1)
					}
				}
			}
		}
	}
}

// TestYCbCrConversion: without chroma subsampling the conversion is
// libjpeg's formula, within one level of Go's (which rounds differently);
// with subsampling, flat chroma upsamples to itself.
func TestYCbCrConversion(t *testing.T) {
	for _, c := range [][3]byte{{0, 128, 128}, {255, 128, 128}, {81, 90, 240}, {145, 54, 34}, {41, 240, 110}, {128, 0, 255}} {
		var got [3]byte
		jpegRGB(c[0], c[1], c[2], got[:])
		r, g, b := color.YCbCrToRGB(c[0], c[1], c[2])
		for i, want := range [3]byte{r, g, b} {
			if d := int(got[i]) - int(want); d > 1 || d < -1 {
				t.Errorf("YCbCr %v → %v, Go says %v", c, got, [3]byte{r, g, b})
			}
		}
	}
	for _, ratio := range []image.YCbCrSubsampleRatio{image.YCbCrSubsampleRatio422, image.YCbCrSubsampleRatio420, image.YCbCrSubsampleRatio440} {
		m := image.NewYCbCr(image.Rect(0, 0, 9, 7), ratio)
		for i := range m.Y {
			m.Y[i] = byte(i * 13)
		}
		for i := range m.Cb {
			m.Cb[i], m.Cr[i] = 90, 200
		}
		r := newRGBRows(m)
		row := make([]byte, 3*r.w)
		for y := range r.h {
			r.row(y, 0, r.w, row)
			for x := range r.w {
				var want [3]byte
				jpegRGB(m.Y[m.YOffset(x, y)], 90, 200, want[:])
				if !bytes.Equal(row[3*x:3*x+3], want[:]) {
					t.Fatalf("%v (%d,%d): %v, want %v", ratio, x, y, row[3*x:3*x+3], want)
				}
			}
		}
	}
}
