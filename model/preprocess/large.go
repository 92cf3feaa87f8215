package preprocess

import (
	"fmt"

	"github.com/residual-webgpu/residual/model/preprocess/jpegscale"
)

// MaxJPEGPixels is the largest JPEG Decode accepts (250 megapixels, above
// today's 200-megapixel phone cameras), checked from the header. JPEGs
// too large to decode whole within DecodeBudget are decoded at 1/2, 1/4
// or 1/8 of their size instead (see jpegscale).
const MaxJPEGPixels = 250_000_000

// DecodeBudget is the most memory a JPEG decode may take (pixels,
// coefficients, and the upright copy an EXIF rotation makes). Within it a
// JPEG is decoded whole by image/jpeg, as PIL decodes it; over it, at the
// largest reduced scale that fits. 96 MiB holds a 48-megapixel baseline
// photo or a 12-megapixel progressive one at full size, and keeps a
// browser tab's memory, which never shrinks, in bounds.
const DecodeBudget = 96 << 20

// jpegPlan is how Decode will read a JPEG: at 1/scale, by image/jpeg
// (scale 1) or jpegscale, in about bytes of memory.
type jpegPlan struct {
	info  jpegscale.Info
	scale int
	bytes int64
}

// planJPEG picks the scale for a JPEG with EXIF orientation o. When none
// fits it says why in tooLarge; err is a header jpegscale cannot read.
func planJPEG(data []byte, o int) (p jpegPlan, tooLarge string, err error) {
	info, err := jpegscale.ReadInfo(data)
	if err != nil {
		return jpegPlan{}, "", err
	}
	px := int64(info.Width) * int64(info.Height)
	if px > MaxJPEGPixels {
		return jpegPlan{}, fmt.Sprintf("%d×%d is %.1f megapixels, over the %d megapixel limit",
			info.Width, info.Height, float64(px)/1e6, MaxJPEGPixels/1_000_000), nil
	}
	upright := func(s int) int64 { // orient's RGBA copy
		if o <= 1 {
			return 0
		}
		w, h := info.Size(s)
		return 4 * int64(w) * int64(h)
	}
	full := goJPEGBytes(info) + upright(1)
	if px <= MaxPixels && (full <= DecodeBudget || info.Components == 4) {
		return jpegPlan{info, 1, full}, "", nil // CMYK: only image/jpeg reads it
	}
	for _, s := range jpegscale.Scales[1:] {
		w, h := info.Size(s)
		b := info.Bytes(s)
		if b > 0 && int64(w)*int64(h) <= MaxPixels && b+upright(s) <= DecodeBudget {
			return jpegPlan{info, s, b + upright(s)}, "", nil
		}
	}
	if info.Components == 4 {
		return jpegPlan{}, fmt.Sprintf("%d×%d is %.1f megapixels; CMYK JPEGs are read whole, up to %d megapixels",
			info.Width, info.Height, float64(px)/1e6, MaxPixels/1_000_000), nil
	}
	return jpegPlan{}, fmt.Sprintf("%d×%d would take %d MB to decode even at 1/8 scale, over %d MB",
		info.Width, info.Height, (info.Bytes(8)+upright(8))>>20, DecodeBudget>>20), nil
}

// goJPEGBytes is what image/jpeg allocates to decode info's picture: the
// planes, and for a progressive file every block's 64 int32 coefficients.
func goJPEGBytes(info jpegscale.Info) int64 {
	hmax, vmax := 1, 1
	for i := range info.Components {
		hmax, vmax = max(hmax, info.H[i]), max(vmax, info.V[i])
	}
	if info.Components == 1 {
		hmax, vmax = 1, 1
	}
	mx, my := int64((info.Width+8*hmax-1)/(8*hmax)), int64((info.Height+8*vmax-1)/(8*vmax))
	var b int64
	for i := range info.Components {
		h, v := int64(info.H[i]), int64(info.V[i])
		if info.Components == 1 {
			h, v = 1, 1
		}
		blocks := mx * h * my * v
		b += 64 * blocks
		if info.Progressive {
			b += 256 * blocks
		}
	}
	return b
}
