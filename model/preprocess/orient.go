package preprocess

import "image"

// orient returns img turned upright for EXIF orientation o (2–8), as an
// opaque *image.RGBA (alpha dropped like PIL's convert("RGB")). It does
// what PIL.ImageOps.exif_transpose does: 2 mirror, 3 rotate 180°,
// 4 flip, 5 transpose, 6 rotate 90° clockwise, 7 transverse, 8 rotate 90°
// counter-clockwise.
func orient(img image.Image, o int) *image.RGBA {
	src := newRGBRows(img)
	w, h := src.w, src.h
	W, H := w, h
	if o >= 5 {
		W, H = h, w
	}
	out := image.NewRGBA(image.Rect(0, 0, W, H))
	row := make([]byte, 3*w)
	for sy := range h {
		src.row(sy, 0, w, row)
		for sx := range w {
			var dx, dy int
			switch o {
			case 2:
				dx, dy = w-1-sx, sy
			case 3:
				dx, dy = w-1-sx, h-1-sy
			case 4:
				dx, dy = sx, h-1-sy
			case 5:
				dx, dy = sy, sx
			case 6:
				dx, dy = h-1-sy, sx
			case 7:
				dx, dy = h-1-sy, w-1-sx
			case 8:
				dx, dy = sy, w-1-sx
			default:
				dx, dy = sx, sy
			}
			p := out.Pix[dy*out.Stride+4*dx:]
			p[0], p[1], p[2], p[3] = row[3*sx], row[3*sx+1], row[3*sx+2], 0xFF
		}
	}
	return out
}
