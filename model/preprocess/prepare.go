package preprocess

import (
	"fmt"
	"image"
	"math"

	"github.com/residual-webgpu/residual/model"
	"github.com/residual-webgpu/residual/model/weights"
)

// Sizes returns the resize (shorter side) and crop of an input of size
// size×size under p. size 0 means p.Crop, i.e. exactly p's preprocessing.
// Another size keeps p's ratio of resize to crop, rounding down:
// resize = size*p.Resize/p.Crop, crop = size. For torchvision's 256/224
// that is 160→182, 224→256, 288→329, 320→365.
func Sizes(p weights.Preprocess, size int) (resize, crop int, err error) {
	if p.Resize <= 0 || p.Crop <= 0 {
		return 0, 0, fmt.Errorf("preprocess: resize %d and crop %d must be positive", p.Resize, p.Crop)
	}
	if size == 0 {
		size = p.Crop
	}
	if size < 1 || size > 4096 {
		return 0, 0, fmt.Errorf("preprocess: input size %d out of range 1–4096", size)
	}
	resize = size * p.Resize / p.Crop
	if resize < 1 {
		return 0, 0, fmt.Errorf("preprocess: input size %d gives resize %d×%d/%d = 0", size, size, p.Resize, p.Crop)
	}
	return resize, size, nil
}

// ResizedSize is torchvision's Resize(resize) output size for a w×h image:
// the shorter side becomes resize and the longer int(resize*long/short).
// An empty image stays 0×0.
func ResizedSize(w, h, resize int) (int, int) {
	short, long := min(w, h), max(w, h)
	if short <= 0 {
		return 0, 0
	}
	l := int(float64(resize*long) / float64(short)) // Python's int(a * b / c)
	if w <= h {
		return resize, l
	}
	return l, resize
}

// CenterCrop is torchvision's CenterCrop(crop) window on a w×h image, in
// that image's coordinates: top = int(round((h - crop) / 2.0)) with
// Python's round-half-to-even, and when crop exceeds a side the image is
// first padded (left/top by (crop-side)//2, the rest right/bottom), so the
// window may reach outside the image; those pixels are black.
func CenterCrop(w, h, crop int) image.Rectangle {
	var padL, padT int
	pw, ph := w, h
	if crop > w {
		padL, pw = (crop-w)/2, crop
	}
	if crop > h {
		padT, ph = (crop-h)/2, crop
	}
	left := int(math.RoundToEven(float64(pw-crop) / 2))
	top := int(math.RoundToEven(float64(ph-crop) / 2))
	return image.Rect(left-padL, top-padT, left-padL+crop, top-padT+crop)
}

// Table is the normalisation as a lookup: Table(p)[c][v] is network
// channel c's input for the 8-bit value v, (v*InputScale/255 - Mean[c]) /
// Std[c] in float32, one step at a time in the order torchvision's
// ToTensor and Normalize use (v/255 is a true float32 division, as in
// ToTensor), so values are bit-identical to torchvision's for InputScale
// 1, and exactly v - Mean for 255 (Caffe). Prepare uses it, and so does
// the GPU's normalisation kernel, which only looks values up (WGSL
// division is not correctly rounded), to match Prepare bit for bit.
func Table(p weights.Preprocess) (*[3][256]float32, error) {
	if !(p.InputScale > 0) {
		return nil, fmt.Errorf("preprocess: input_scale %v must be positive", p.InputScale)
	}
	var n [3][256]float32
	for c := range 3 {
		if p.Std[c] == 0 || math.IsNaN(float64(p.Std[c])) {
			return nil, fmt.Errorf("preprocess: std[%d] is %v", c, p.Std[c])
		}
		for v := range 256 {
			x := float32(float32(v) * p.InputScale)
			x = float32(x / 255)
			x = float32(x - p.Mean[c])
			n[c][v] = float32(x / p.Std[c])
		}
	}
	return &n, nil
}

// Prepare turns an image into one network input the way torchvision's
// Compose([Resize(resize), CenterCrop(crop), ToTensor(), Normalize(mean,
// std)]) does on img.convert("RGB"), with resize and crop from Sizes(p,
// size) (size 0: p's own), channels in p.ChannelOrder and p.InputScale
// applied. It returns the [1,3,crop,crop] float32 tensor (NCHW) and the
// crop as the network sees it (before normalisation), for display.
//
// Alpha is dropped, not composited (PIL's convert("RGB") keeps the stored
// colour of transparent pixels), grey and palette images become RGB, and
// the resize reproduces PIL's bilinear resampling bit for bit.
func Prepare(img image.Image, p weights.Preprocess, size int) (*model.Tensor, *image.RGBA, error) {
	resize, crop, err := Sizes(p, size)
	if err != nil {
		return nil, nil, err
	}
	var bgr bool
	switch p.ChannelOrder {
	case "RGB", "":
	case "BGR":
		bgr = true
	default:
		return nil, nil, fmt.Errorf("preprocess: unknown channel order %q", p.ChannelOrder)
	}
	norm, err := Table(p)
	if err != nil {
		return nil, nil, err
	}
	b := img.Bounds()
	if b.Empty() {
		return nil, nil, fmt.Errorf("preprocess: empty image %v", b)
	}
	if px := int64(b.Dx()) * int64(b.Dy()); px > MaxPixels { // what Decode accepts; bounds the filter sizes
		return nil, nil, fmt.Errorf("preprocess: %d×%d image is over the %d megapixel limit", b.Dx(), b.Dy(), MaxPixels/1_000_000)
	}
	w, h := ResizedSize(b.Dx(), b.Dy(), resize)
	if w < 1 || h < 1 {
		return nil, nil, fmt.Errorf("preprocess: %d×%d image resized to %d×%d", b.Dx(), b.Dy(), w, h)
	}
	shown := resampleRegion(newRGBRows(img), w, h, CenterCrop(w, h, crop))
	t := model.NewTensor(1, 3, crop, crop)
	plane := crop * crop
	for i := range plane {
		px := shown.Pix[4*i : 4*i+3]
		for c := range 3 {
			src := c
			if bgr {
				src = 2 - c
			}
			t.Data[c*plane+i] = norm[c][px[src]]
		}
	}
	return t, shown, nil
}

// Batch stacks [1,3,S,S] inputs (all the same S) into one [B,3,S,S] tensor.
func Batch(ts ...*model.Tensor) (*model.Tensor, error) {
	if len(ts) == 0 {
		return nil, fmt.Errorf("preprocess: batch of no images")
	}
	var shape []int
	for i, t := range ts {
		if t == nil || len(t.Shape) != 4 || t.Shape[0] != 1 || t.Shape[1] != 3 {
			return nil, fmt.Errorf("preprocess: batch item %d: want shape [1 3 S S], have %v", i, shapeOf(t))
		}
		if shape == nil {
			shape = t.Shape
		}
		if t.Shape[2] != shape[2] || t.Shape[3] != shape[3] {
			return nil, fmt.Errorf("preprocess: batch item %d is %v, item 0 is %v: all inputs must be the same size", i, t.Shape, shape)
		}
		if len(t.Data) != 3*shape[2]*shape[3] {
			return nil, fmt.Errorf("preprocess: batch item %d: %d values for shape %v", i, len(t.Data), t.Shape)
		}
	}
	out := model.NewTensor(len(ts), 3, shape[2], shape[3])
	n := 3 * shape[2] * shape[3]
	for i, t := range ts {
		copy(out.Data[i*n:], t.Data)
	}
	return out, nil
}

func shapeOf(t *model.Tensor) any {
	if t == nil {
		return "nil"
	}
	return t.Shape
}
