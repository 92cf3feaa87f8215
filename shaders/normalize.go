package shaders

import (
	"context"
	"fmt"
	"image"
	"math"

	"github.com/residual-webgpu/residual/model"
	"github.com/residual-webgpu/residual/model/preprocess"
	"github.com/residual-webgpu/residual/model/weights"
)

// normWG is the normalisation kernel's workgroup size.
const normWG = 64

// normTable is the per-channel lookup of the network input from a byte,
// [3][256] in network channel order: preprocess.Table, flattened for the
// kernel (WGSL division is not correctly rounded, so the GPU only looks
// values up, and matches preprocess.Prepare bit for bit).
func normTable(p weights.Preprocess) ([]float32, error) {
	if _, err := channelShifts(p); err != nil {
		return nil, err
	}
	if !(p.InputScale > 0) || math.IsInf(float64(p.InputScale), 0) {
		return nil, fmt.Errorf("preprocess: input_scale %v must be positive and finite", p.InputScale)
	}
	t, err := preprocess.Table(p)
	if err != nil {
		return nil, err
	}
	return append(append(t[0][:], t[1][:]...), t[2][:]...), nil
}

// channelShifts gives, per network channel, the bit shift of its byte in
// an RGBA word (R lowest).
func channelShifts(p weights.Preprocess) ([3]int, error) {
	switch p.ChannelOrder {
	case "RGB", "":
		return [3]int{0, 8, 16}, nil
	case "BGR":
		return [3]int{16, 8, 0}, nil
	}
	return [3]int{}, fmt.Errorf("preprocess: unknown channel order %q", p.ChannelOrder)
}

// normSrc is what normalize.wgsl is rendered with.
type normSrc struct {
	N, NX, WG int
	Shift     [3]int // per network channel, its byte's bit shift
}

// genNormalize writes the normalisation kernel for n pixels.
func genNormalize(p weights.Preprocess, n int) (string, uint32, uint32, error) {
	sh, err := channelShifts(p)
	if err != nil {
		return "", 0, 0, err
	}
	if n < 1 {
		return "", 0, 0, fmt.Errorf("normalize: %d pixels", n)
	}
	gx, gy := grid(n, normWG)
	src, err := render("normalize.wgsl", normSrc{N: n, NX: int(gx), WG: normWG, Shift: sh})
	return src, gx, gy, err
}

// normalizeKernel compiles the normalisation of n pixels.
func (d *Device) normalizeKernel(p weights.Preprocess, n int) (*kernel, uint32, uint32, error) {
	src, gx, gy, err := genNormalize(p, n)
	if err != nil {
		return nil, 0, 0, err
	}
	k, err := d.kernel("normalize", src, []bool{false, false, true})
	return k, gx, gy, err
}

// checkRGBA validates RunImage's pixels: b packed RGBA images of h×w.
func checkRGBA(rgba []byte, b, h, w int) error {
	if b < 1 || h < 1 || w < 1 || b > 1<<16 || h > 1<<14 || w > 1<<14 {
		return fmt.Errorf("gpu engine: bad image batch %d of %d×%d", b, w, h)
	}
	if len(rgba) != 4*b*h*w {
		return fmt.Errorf("gpu engine: %d bytes for %d RGBA images of %d×%d (want %d)", len(rgba), b, w, h, 4*b*h*w)
	}
	return nil
}

// PackRGBA lays images of one size out as RunImage wants them: each one's
// rows, four bytes a pixel, one image after another. preprocess.Prepare's
// crop (its second result) is such an image.
func PackRGBA(imgs ...*image.RGBA) (rgba []byte, h, w int, err error) {
	if len(imgs) == 0 || imgs[0] == nil {
		return nil, 0, 0, fmt.Errorf("pack rgba: no images")
	}
	r0 := imgs[0].Bounds()
	h, w = r0.Dy(), r0.Dx()
	if h < 1 || w < 1 {
		return nil, 0, 0, fmt.Errorf("pack rgba: empty image")
	}
	rgba = make([]byte, 0, 4*len(imgs)*h*w)
	for i, img := range imgs {
		if img == nil || img.Bounds().Dx() != w || img.Bounds().Dy() != h {
			return nil, 0, 0, fmt.Errorf("pack rgba: image %d is not %d×%d like image 0", i, w, h)
		}
		b := img.Bounds()
		for y := b.Min.Y; y < b.Max.Y; y++ {
			off := img.PixOffset(b.Min.X, y)
			rgba = append(rgba, img.Pix[off:off+4*w]...)
		}
	}
	return rgba, h, w, nil
}

// Normalize runs the input preprocessing kernel alone: b packed RGBA
// images of h×w (as RunImage takes them) to the network input [b,3,h,w]
// under p, for tests against model/preprocess.
func (d *Device) Normalize(ctx context.Context, rgba []byte, b, h, w int, p weights.Preprocess) (*model.Tensor, error) {
	if err := checkRGBA(rgba, b, h, w); err != nil {
		return nil, err
	}
	var out *model.Tensor
	err := d.locked("normalize", func() error {
		lut, err := normTable(p)
		if err != nil {
			return err
		}
		n := b * h * w
		k, gx, gy, err := d.normalizeKernel(p, n)
		if err != nil {
			return err
		}
		var o oneShot
		defer o.release()
		pb, err := o.upload(d, "pixels", rgba, len(rgba))
		if err != nil {
			return err
		}
		lb, err := o.upload(d, "lut", f32Bytes(lut), 4*len(lut))
		if err != nil {
			return err
		}
		yb, err := o.upload(d, "y", nil, 4*(3+inputPad)*n)
		if err != nil {
			return err
		}
		bg, err := d.bind(k, whole(pb), whole(lb), whole(yb))
		if err != nil {
			return err
		}
		defer bg.Release()
		data, err := d.runOnce(ctx, []dispatch{{k: k, bg: bg, x: gx, y: gy, z: 1}}, yb, (3+inputPad)*n)
		if err != nil {
			return err
		}
		for i := 3; i < len(data); i += 3 + inputPad {
			if data[i] != 0 {
				return fmt.Errorf("normalize: pad channel of pixel %d is %v, not 0", i/(3+inputPad), data[i])
			}
		}
		out = fromNHWCPad(data, []int{b, 3, h, w}, inputPad)
		return nil
	})
	return out, err
}
