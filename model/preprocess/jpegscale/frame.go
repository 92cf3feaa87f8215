package jpegscale

import "image"

// component is one colour plane of a frame being decoded.
type component struct {
	id   byte
	h, v int // sampling factors
	tq   int // quantisation table
	// n is the inverse DCT size, 8/scale, or larger for subsampled
	// chroma (see newFrame).
	n int
	// bw, bh count the blocks stored across and down: whole MCUs, more
	// than a non-interleaved scan of this component covers.
	bw, bh int
	// sw, sh are the component's samples at full scale that belong to
	// the picture (before padding to blocks).
	sw, sh int
	plane  []byte // bw*n × bh*n samples, stride bw*n
	// Progressive files only: each block's n×n lowest coefficients
	// (natural order, still quantised) and a bit per zigzag index 1–63
	// saying whether that coefficient is nonzero, which refinement scans
	// need even for coefficients the smaller picture drops.
	coef []int16
	nz   []uint64
	// slot maps a zigzag index to its place in a block's n×n
	// coefficients, or -1 when the picture does not need it; zig is the
	// inverse.
	slot [64]int8
	zig  []uint8
	pred int32 // the DC predictor of the current scan
}

// frame is the picture being decoded at one scale.
type frame struct {
	info       Info
	n          int // luma's inverse DCT size, 8/scale
	hmax, vmax int
	mcusX      int
	mcusY      int
	comps      []component
}

// newFrame lays out a decode of in at 1/scale; with alloc it also makes
// the planes and coefficient stores.
func newFrame(in Info, scale int, alloc bool) (*frame, error) {
	if in.Width <= 0 || in.Height <= 0 {
		return nil, corrupt("%d×%d picture", in.Width, in.Height)
	}
	switch in.Components {
	case 1, 3:
	case 4:
		return nil, unsupported("four-component (CMYK) JPEG")
	default:
		return nil, unsupported("%d-component JPEG", in.Components)
	}
	f := &frame{info: in, n: 8 / scale, comps: make([]component, in.Components)}
	if in.Components == 1 {
		// One component is non-interleaved "regardless of the values of
		// H1 and V1" (ITU T.81 A.2).
		f.info.H[0], f.info.V[0] = 1, 1
	}
	for i := range f.comps {
		h, v := f.info.H[i], f.info.V[i]
		if h < 1 || h > 4 || v < 1 || v > 4 {
			return nil, corrupt("component %d sampling %d×%d", i, h, v)
		}
		f.hmax, f.vmax = max(f.hmax, h), max(f.vmax, v)
	}
	f.mcusX, f.mcusY = ceilDiv(in.Width, 8*f.hmax), ceilDiv(in.Height, 8*f.vmax)
	for i := range f.comps {
		c := &f.comps[i]
		c.h, c.v = f.info.H[i], f.info.V[i]
		if f.hmax%c.h != 0 || f.vmax%c.v != 0 {
			return nil, unsupported("sampling factors %d×%d under a maximum of %d×%d", c.h, c.v, f.hmax, f.vmax)
		}
		// As libjpeg-turbo: grow a subsampled component's inverse DCT
		// (up to 8) while that still leaves a whole upsampling factor,
		// so 4:2:0 chroma at 1/2 comes out at luma's resolution.
		c.n = f.n
		for c.n < 8 && (f.hmax*f.n)%(c.h*c.n*2) == 0 && (f.vmax*f.n)%(c.v*c.n*2) == 0 {
			c.n *= 2
		}
		c.sw, c.sh = ceilDiv(in.Width*c.h, f.hmax), ceilDiv(in.Height*c.v, f.vmax)
		c.bw, c.bh = f.mcusX*c.h, f.mcusY*c.v
		for k := range c.slot {
			c.slot[k] = -1
		}
		for k, nat := range zigzag {
			if r, col := int(nat/8), int(nat%8); r < c.n && col < c.n {
				c.slot[k] = int8(r*c.n + col)
			}
		}
		c.zig = make([]uint8, c.n*c.n)
		for k, s := range c.slot {
			if s >= 0 {
				c.zig[s] = uint8(k)
			}
		}
	}
	if alloc {
		for i := range f.comps {
			c := &f.comps[i]
			c.plane = make([]byte, c.bw*c.n*c.bh*c.n)
			if in.Progressive {
				c.coef = make([]int16, c.bw*c.bh*c.n*c.n)
				c.nz = make([]uint64, c.bw*c.bh)
			}
		}
	}
	return f, nil
}

// bytes is what newFrame(…, true) and image allocate.
func (f *frame) bytes() int64 {
	var b int64
	for _, c := range f.comps {
		blocks := int64(c.bw) * int64(c.bh)
		b += blocks * int64(c.n*c.n)
		if f.info.Progressive {
			b += blocks * int64(2*c.n*c.n+8)
		}
	}
	if f.info.Components == 3 && f.info.RGB {
		w, h := f.info.Size(8 / f.n)
		b += 4 * int64(w) * int64(h)
	}
	return b
}

// ratios are the YCbCr subsampling ratios image.YCbCr offers, by how many
// luma samples share a chroma sample across and down.
var ratios = map[[2]int]image.YCbCrSubsampleRatio{
	{1, 1}: image.YCbCrSubsampleRatio444,
	{2, 1}: image.YCbCrSubsampleRatio422,
	{2, 2}: image.YCbCrSubsampleRatio420,
	{1, 2}: image.YCbCrSubsampleRatio440,
	{4, 1}: image.YCbCrSubsampleRatio411,
	{4, 2}: image.YCbCrSubsampleRatio410,
}

// share is how many picture samples share one of c's, across and down,
// at this frame's scale.
func (f *frame) share(c *component) (int, int) {
	return f.hmax * f.n / (c.h * c.n), f.vmax * f.n / (c.v * c.n)
}

// image wraps the decoded planes as an image, without copying (except for
// an RGB file, which becomes an *image.RGBA).
func (f *frame) image() (image.Image, error) {
	w, h := f.info.Size(8 / f.n)
	r := image.Rect(0, 0, w, h)
	y := &f.comps[0]
	if f.info.Components == 1 {
		return &image.Gray{Pix: y.plane, Stride: y.bw * y.n, Rect: r}, nil
	}
	cb, cr := &f.comps[1], &f.comps[2]
	if f.info.RGB {
		for _, c := range f.comps {
			if hs, vs := f.share(&c); hs != 1 || vs != 1 {
				return nil, unsupported("subsampled RGB JPEG")
			}
		}
		m := image.NewRGBA(r)
		for j := range h {
			o := j * y.bw * y.n
			p := m.Pix[j*m.Stride:]
			for i := range w {
				p[4*i], p[4*i+1], p[4*i+2], p[4*i+3] = y.plane[o+i], cb.plane[o+i], cr.plane[o+i], 0xFF
			}
		}
		return m, nil
	}
	if hs, vs := f.share(y); hs != 1 || vs != 1 {
		return nil, unsupported("luma sampled %d×%d, below chroma", y.h, y.v)
	}
	hs, vs := f.share(cb)
	ratio, ok := ratios[[2]int{hs, vs}]
	if h2, v2 := f.share(cr); !ok || h2 != hs || v2 != vs || cb.n != cr.n {
		return nil, unsupported("chroma sampling %d×%d and %d×%d under luma %d×%d", cb.h, cb.v, cr.h, cr.v, y.h, y.v)
	}
	return &image.YCbCr{
		Y: y.plane, Cb: cb.plane, Cr: cr.plane,
		YStride: y.bw * y.n, CStride: cb.bw * cb.n,
		SubsampleRatio: ratio, Rect: r,
	}, nil
}
