package shaders

import (
	"context"
	"fmt"
	"slices"

	"github.com/gogpu/wgpu"
	"github.com/residual-webgpu/residual/model"
	"github.com/residual-webgpu/residual/model/weights"
)

// Conv2D runs one convolution with its folded bias, an optional residual
// added before the optional ReLU, on the GPU, as a single submission; it
// mirrors cpu.Conv2D (NCHW in, NCHW out) so each kernel can be checked
// against the CPU reference. It compiles and uploads per call: the engine's
// plan is the fast path.
func (d *Device) Conv2D(ctx context.Context, x *model.Tensor, w, b *weights.Tensor, c model.Conv, residual *model.Tensor, relu bool) (*model.Tensor, error) {
	return d.conv2D(ctx, x, w, b, c, residual, relu, nil)
}

// conv2D is Conv2D with an optional tile in place of chooseTile's.
func (d *Device) conv2D(ctx context.Context, x *model.Tensor, w, b *weights.Tensor, c model.Conv, residual *model.Tensor, relu bool, tile *convTile) (y *model.Tensor, err error) {
	err = d.locked("conv2d", func() error {
		y, err = d.conv2DRun(ctx, x, w, b, c, residual, relu, tile)
		return err
	})
	return y, err
}

func (d *Device) conv2DRun(ctx context.Context, x *model.Tensor, w, b *weights.Tensor, c model.Conv, residual *model.Tensor, relu bool, tile *convTile) (*model.Tensor, error) {
	if x == nil || len(x.Shape) != 4 || x.Shape[1] != c.Cin || len(x.Data) != x.Shape[0]*x.Shape[1]*x.Shape[2]*x.Shape[3] {
		return nil, fmt.Errorf("conv %s: input must be [B,%d,H,W]", c.Name, c.Cin)
	}
	g, err := newConvGeom(c, x.Shape[0], x.Shape[2], x.Shape[3], residual != nil, relu)
	if err != nil {
		return nil, err
	}
	g.F32 = w != nil && !w.Quantized() // the weights run as the tensor holds them
	outShape := []int{g.B, g.Cout, g.HO, g.WO}
	if residual != nil && !slices.Equal(residual.Shape, outShape) {
		return nil, fmt.Errorf("conv %s: residual shape %v, want %v", c.Name, residual.Shape, outShape)
	}
	t := d.tile(g)
	if tile != nil {
		t = *tile
	}
	cw, err := packConv(g, t, w, b, nil)
	if err != nil {
		return nil, fmt.Errorf("conv %s: %w", c.Name, err)
	}
	ep := append(append([]float32(nil), cw.scale...), cw.bias...)
	k, err := d.convKernel(g, t)
	if err != nil {
		return nil, fmt.Errorf("conv %s: %w", c.Name, err)
	}
	var o oneShot
	defer o.release()
	xb, err := o.upload(d, "x", f32Bytes(toNHWC(x)), 4*len(x.Data)+slack)
	if err != nil {
		return nil, err
	}
	wb, err := o.upload(d, "w", u32Bytes(cw.words), 4*len(cw.words))
	if err != nil {
		return nil, err
	}
	eb, err := o.upload(d, "ep", f32Bytes(ep), 4*len(ep))
	if err != nil {
		return nil, err
	}
	n := g.M() * g.Cout
	yb, err := o.upload(d, "y", nil, 4*n+slack)
	if err != nil {
		return nil, err
	}
	spans := []span{whole(xb), whole(wb), whole(eb), whole(yb)}
	if residual != nil {
		rb, err := o.upload(d, "res", f32Bytes(toNHWC(residual)), 4*n+slack)
		if err != nil {
			return nil, err
		}
		spans = append(spans, whole(rb))
	} else {
		spans = append(spans, whole(xb)) // read only when the flag says so
	}
	pb, err := d.newBuffer("params", paramsBytes, wgpu.BufferUsageUniform|wgpu.BufferUsageCopyDst)
	if err != nil {
		return nil, err
	}
	o.bufs = append(o.bufs, pb)
	if err := d.write(pb, 0, convParams(g, t)); err != nil {
		return nil, err
	}
	spans = append(spans, whole(pb))
	bg, err := d.bind(k, spans...)
	if err != nil {
		return nil, err
	}
	defer bg.Release()
	gx, gy := convGrid(g, t)
	out, err := d.runOnce(ctx, []dispatch{{k: k, bg: bg, x: gx, y: gy, z: 1}}, yb, n)
	if err != nil {
		return nil, fmt.Errorf("conv %s: %w", c.Name, err)
	}
	return fromNHWC(out, outShape), nil
}

// MaxPool runs the stem's 3×3/2 pad 1 max pool on an NCHW tensor.
func (d *Device) MaxPool(ctx context.Context, x *model.Tensor) (*model.Tensor, error) {
	if err := checkNCHW(x); err != nil {
		return nil, fmt.Errorf("maxpool: %w", err)
	}
	p := poolGeom{B: x.Shape[0], C: x.Shape[1], H: x.Shape[2], W: x.Shape[3]}
	ho, wo := p.outSize()
	var out []float32
	err := d.locked("maxpool", func() error {
		k, gx, gy, err := d.maxPoolKernel(p)
		if err != nil {
			return err
		}
		out, err = d.runSimple(ctx, k, toNHWC(x), p.B*ho*wo*p.C, gx, gy)
		return err
	})
	if err != nil {
		return nil, err
	}
	return fromNHWC(out, []int{p.B, p.C, ho, wo}), nil
}

// AvgPool runs the global average pool on an NCHW tensor, giving
// [B, C, 1, 1] as cpu.AvgPool does.
func (d *Device) AvgPool(ctx context.Context, x *model.Tensor) (*model.Tensor, error) {
	if err := checkNCHW(x); err != nil {
		return nil, fmt.Errorf("avgpool: %w", err)
	}
	p := poolGeom{B: x.Shape[0], C: x.Shape[1], H: x.Shape[2], W: x.Shape[3]}
	var out []float32
	err := d.locked("avgpool", func() error {
		k, gx, gy, err := d.avgPoolKernel(p)
		if err != nil {
			return err
		}
		out, err = d.runSimple(ctx, k, toNHWC(x), p.B*p.C, gx, gy)
		return err
	})
	if err != nil {
		return nil, err
	}
	return &model.Tensor{Shape: []int{p.B, p.C, 1, 1}, Data: out}, nil
}

// Linear runs the fc layer on features [B, In], giving [B, Out].
func (d *Device) Linear(ctx context.Context, x *model.Tensor, w, b *weights.Tensor) (*model.Tensor, error) {
	if x == nil || len(x.Shape) != 2 || len(x.Data) != x.Shape[0]*x.Shape[1] || w == nil || len(w.Shape) != 2 {
		return nil, fmt.Errorf("linear: input must be [B,In] and weight [Out,In]")
	}
	var y *model.Tensor
	err := d.locked("linear", func() (err error) {
		y, err = d.linear(ctx, x, w, b)
		return err
	})
	return y, err
}

func (d *Device) linear(ctx context.Context, x *model.Tensor, w, b *weights.Tensor) (*model.Tensor, error) {
	f := fcGeom{B: x.Shape[0], In: x.Shape[1], Out: w.Shape[0], F32: !w.Quantized()}
	words, ep, err := packFC(f, w, b, nil)
	if err != nil {
		return nil, fmt.Errorf("linear: %w", err)
	}
	src, err := genFC(f)
	if err != nil {
		return nil, fmt.Errorf("linear: %w", err)
	}
	label := "fc"
	if f.F32 {
		label = "fc f32"
	}
	k, err := d.kernel(label, src, []bool{false, false, false, true})
	if err != nil {
		return nil, err
	}
	var o oneShot
	defer o.release()
	xb, err := o.upload(d, "x", f32Bytes(x.Data), 4*len(x.Data)+slack)
	if err != nil {
		return nil, err
	}
	wb, err := o.upload(d, "w", u32Bytes(words), 4*len(words))
	if err != nil {
		return nil, err
	}
	eb, err := o.upload(d, "ep", f32Bytes(ep), 4*len(ep))
	if err != nil {
		return nil, err
	}
	n := f.B * f.Out
	yb, err := o.upload(d, "y", nil, 4*n+slack)
	if err != nil {
		return nil, err
	}
	bg, err := d.bind(k, whole(xb), whole(wb), whole(eb), whole(yb))
	if err != nil {
		return nil, err
	}
	defer bg.Release()
	gx, gy := fcGrid(f)
	out, err := d.runOnce(ctx, []dispatch{{k: k, bg: bg, x: gx, y: gy, z: 1}}, yb, n)
	if err != nil {
		return nil, fmt.Errorf("linear: %w", err)
	}
	return &model.Tensor{Shape: []int{f.B, f.Out}, Data: out}, nil
}

func checkNCHW(x *model.Tensor) error {
	if x == nil || len(x.Shape) != 4 || len(x.Data) != x.Shape[0]*x.Shape[1]*x.Shape[2]*x.Shape[3] || len(x.Data) == 0 {
		return fmt.Errorf("input must be a non-empty [B,C,H,W] tensor")
	}
	return nil
}

// runSimple runs a one-input, one-output kernel over uploaded data.
func (d *Device) runSimple(ctx context.Context, k *kernel, data []float32, n int, gx, gy uint32) (out []float32, err error) {
	err = d.do("run", func() error {
		out, err = d.runSimpleOnce(ctx, k, data, n, gx, gy)
		return err
	})
	return out, err
}

func (d *Device) runSimpleOnce(ctx context.Context, k *kernel, data []float32, n int, gx, gy uint32) ([]float32, error) {
	var o oneShot
	defer o.release()
	xb, err := o.upload(d, "x", f32Bytes(data), 4*len(data)+slack)
	if err != nil {
		return nil, err
	}
	yb, err := o.upload(d, "y", nil, 4*n+slack)
	if err != nil {
		return nil, err
	}
	bg, err := d.bind(k, whole(xb), whole(yb))
	if err != nil {
		return nil, err
	}
	defer bg.Release()
	return d.runOnce(ctx, []dispatch{{k: k, bg: bg, x: gx, y: gy, z: 1}}, yb, n)
}

// oneShot owns the buffers of a single op call.
type oneShot struct{ bufs []*wgpu.Buffer }

func (o *oneShot) upload(d *Device, label string, data []byte, size int) (*wgpu.Buffer, error) {
	buf, err := d.newBuffer(label, uint64(size), storageUsage)
	if err != nil {
		return nil, err
	}
	o.bufs = append(o.bufs, buf)
	if data != nil {
		return buf, d.write(buf, 0, data)
	}
	return buf, nil
}

func (o *oneShot) release() {
	for _, b := range o.bufs {
		b.Release()
	}
}

// convBindings is the conv kernel's storage bindings: x, weights,
// epilogue, output (written) and residual (bound to x when there is none).
var convBindings = []bool{false, false, false, true, false}

// runOnce submits dispatches, copies n floats of out back and returns them.
func (d *Device) runOnce(ctx context.Context, ds []dispatch, out *wgpu.Buffer, n int) ([]float32, error) {
	staging, err := d.newBuffer("staging", uint64(4*n), wgpu.BufferUsageMapRead|wgpu.BufferUsageCopyDst)
	if err != nil {
		return nil, err
	}
	defer staging.Release()
	if err := d.submit(ds, out, staging, uint64(4*n)); err != nil {
		return nil, err
	}
	return readback(ctx, staging, n)
}

// toNHWC transposes an NCHW tensor to channels-last.
func toNHWC(t *model.Tensor) []float32 { return toNHWCPad(t, 0) }

// toNHWCPad transposes an NCHW tensor to channels-last with pad zeros
// after each pixel's channels.
func toNHWCPad(t *model.Tensor, pad int) []float32 {
	b, c, h, w := t.Shape[0], t.Shape[1], t.Shape[2], t.Shape[3]
	cs := c + pad
	out := make([]float32, b*h*w*cs)
	for bi := 0; bi < b; bi++ {
		for ci := 0; ci < c; ci++ {
			src := t.Data[(bi*c+ci)*h*w : (bi*c+ci+1)*h*w]
			for p, v := range src {
				out[(bi*h*w+p)*cs+ci] = v
			}
		}
	}
	return out
}

// fromNHWC transposes channels-last data to an NCHW tensor of shape [B,C,H,W].
func fromNHWC(data []float32, shape []int) *model.Tensor { return fromNHWCPad(data, shape, 0) }

// fromNHWCPad is fromNHWC for data with pad values after each pixel's C.
func fromNHWCPad(data []float32, shape []int, pad int) *model.Tensor {
	t := model.NewTensor(shape...)
	b, c, h, w := shape[0], shape[1], shape[2], shape[3]
	cs := c + pad
	for bi := 0; bi < b; bi++ {
		for p := 0; p < h*w; p++ {
			src := data[(bi*h*w+p)*cs : (bi*h*w+p)*cs+c]
			for ci, v := range src {
				t.Data[(bi*c+ci)*h*w+p] = v
			}
		}
	}
	return t
}
