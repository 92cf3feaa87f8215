package cpu

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/residual-webgpu/residual/model"
	"github.com/residual-webgpu/residual/model/weights"
)

// This file holds the test oracle: the plainest possible loops, summing in
// float64, written from the definitions and sharing no code with the fast
// paths.

// naiveConv is PyTorch's Conv2d (zero padding, groups) plus bias, plus
// residual, then ReLU.
func naiveConv(x *model.Tensor, w, b *weights.Tensor, c model.Conv, res *model.Tensor, relu bool) *model.Tensor {
	wf := w.Float()
	bs, h, wd := x.Shape[0], x.Shape[2], x.Shape[3]
	ho := (h+2*c.Pad-c.Kernel)/c.Stride + 1
	wo := (wd+2*c.Pad-c.Kernel)/c.Stride + 1
	cing, coutg := c.Cin/c.Groups, c.Cout/c.Groups
	out := model.NewTensor(bs, c.Cout, ho, wo)
	for n := 0; n < bs; n++ {
		for co := 0; co < c.Cout; co++ {
			g := co / coutg
			for oy := 0; oy < ho; oy++ {
				for ox := 0; ox < wo; ox++ {
					s := float64(b.F32[co])
					for ci := 0; ci < cing; ci++ {
						for ky := 0; ky < c.Kernel; ky++ {
							for kx := 0; kx < c.Kernel; kx++ {
								iy, ix := oy*c.Stride-c.Pad+ky, ox*c.Stride-c.Pad+kx
								if iy < 0 || iy >= h || ix < 0 || ix >= wd {
									continue
								}
								xv := x.Data[((n*c.Cin+g*cing+ci)*h+iy)*wd+ix]
								wv := wf[((co*cing+ci)*c.Kernel+ky)*c.Kernel+kx]
								s += float64(xv) * float64(wv)
							}
						}
					}
					i := ((n*c.Cout+co)*ho+oy)*wo + ox
					if res != nil {
						s += float64(res.Data[i])
					}
					if relu && s < 0 {
						s = 0
					}
					out.Data[i] = float32(s)
				}
			}
		}
	}
	return out
}

func naiveMaxPool(x *model.Tensor) *model.Tensor {
	b, c, h, w := x.Shape[0], x.Shape[1], x.Shape[2], x.Shape[3]
	ho, wo := (h+2-3)/2+1, (w+2-3)/2+1
	out := model.NewTensor(b, c, ho, wo)
	for p := 0; p < b*c; p++ {
		for oy := 0; oy < ho; oy++ {
			for ox := 0; ox < wo; ox++ {
				m := math.Inf(-1)
				for ky := 0; ky < 3; ky++ {
					for kx := 0; kx < 3; kx++ {
						iy, ix := oy*2-1+ky, ox*2-1+kx
						if iy >= 0 && iy < h && ix >= 0 && ix < w {
							m = math.Max(m, float64(x.Data[(p*h+iy)*w+ix]))
						}
					}
				}
				out.Data[(p*ho+oy)*wo+ox] = float32(m)
			}
		}
	}
	return out
}

func naiveAvgPool(x *model.Tensor) *model.Tensor {
	b, c, hw := x.Shape[0], x.Shape[1], x.Shape[2]*x.Shape[3]
	out := model.NewTensor(b, c, 1, 1)
	for p := range out.Data {
		s := 0.0
		for i := 0; i < hw; i++ {
			s += float64(x.Data[p*hw+i])
		}
		out.Data[p] = float32(s / float64(hw))
	}
	return out
}

func naiveLinear(x *model.Tensor, w, b *weights.Tensor) *model.Tensor {
	wf := w.Float()
	bs, in, out := x.Shape[0], x.Shape[1], w.Shape[0]
	y := model.NewTensor(bs, out)
	for i := 0; i < bs; i++ {
		for o := 0; o < out; o++ {
			s := float64(b.F32[o])
			for k := 0; k < in; k++ {
				s += float64(x.Data[i*in+k]) * float64(wf[o*in+k])
			}
			y.Data[i*out+o] = float32(s)
		}
	}
	return y
}

// naiveForward runs a whole network with the naive primitives, following
// torchvision's ResNet.forward and Bottleneck/BasicBlock.forward.
func naiveForward(m *weights.Model, x *model.Tensor) *model.Tensor {
	convOf := func(c model.Conv, in, res *model.Tensor, relu bool) *model.Tensor {
		w, b := m.Weight(c.Name)
		return naiveConv(in, w, b, c, res, relu)
	}
	y := naiveMaxPool(convOf(m.Net.Stem, x, nil, true))
	for _, l := range m.Net.Layers {
		for _, blk := range l.Blocks {
			id := y
			if blk.Downsample != nil {
				id = convOf(*blk.Downsample, y, nil, false)
			}
			h := y
			for i, c := range blk.Convs {
				if i == len(blk.Convs)-1 {
					h = convOf(c, h, id, true)
				} else {
					h = convOf(c, h, nil, true)
				}
			}
			y = h
		}
	}
	p := naiveAvgPool(y)
	w, b := m.Weight(m.Net.FC.Name)
	return naiveLinear(&model.Tensor{Shape: []int{p.Shape[0], p.Shape[1]}, Data: p.Data}, w, b)
}

// randTensor fills a tensor with values uniform in [-1, 1).
func randTensor(r *rand.Rand, shape ...int) *model.Tensor {
	t := model.NewTensor(shape...)
	for i := range t.Data {
		t.Data[i] = 2*r.Float32() - 1
	}
	return t
}

// randWeight makes a weight of the given shape with He-like magnitude (so
// activations keep their scale through deep nets), as F32 or as I8 with a
// random scale per output channel.
func randWeight(r *rand.Rand, name string, i8 bool, shape ...int) *weights.Tensor {
	t := &weights.Tensor{Name: name, Shape: append([]int(nil), shape...)}
	n := t.Len()
	fanIn := n / shape[0]
	amp := float32(math.Sqrt(3 / float64(fanIn)))
	if !i8 {
		t.F32 = make([]float32, n)
		for i := range t.F32 {
			t.F32[i] = amp * (2*r.Float32() - 1)
		}
		return t
	}
	t.I8 = make([]int8, n)
	for i := range t.I8 {
		t.I8[i] = int8(r.IntN(255) - 127)
	}
	t.Scale = make([]float32, shape[0])
	for i := range t.Scale {
		t.Scale[i] = amp / 127 * (0.5 + r.Float32())
	}
	return t
}

func randBias(r *rand.Rand, name string, n int) *weights.Tensor {
	t := &weights.Tensor{Name: name, Shape: []int{n}, F32: make([]float32, n)}
	for i := range t.F32 {
		t.F32[i] = 0.2 * (2*r.Float32() - 1)
	}
	return t
}

// randModel builds a model of the given architecture with random folded
// weights, I8 or F32.
func randModel(t testing.TB, a model.Arch, seed uint64, i8 bool) *weights.Model {
	t.Helper()
	net, err := a.Net()
	if err != nil {
		t.Fatal(err)
	}
	r := rand.New(rand.NewPCG(seed, 1))
	m := &weights.Model{Meta: weights.Metadata{FormatVersion: weights.FormatVersion, Arch: a, Scheme: weights.F32},
		Net: net, Tensors: map[string]*weights.Tensor{}}
	if i8 {
		m.Meta.Scheme = weights.Int8
	}
	for _, ts := range net.FoldedTensors() {
		if len(ts.Shape) == 1 {
			m.Tensors[ts.Name] = randBias(r, ts.Name, ts.Shape[0])
		} else {
			m.Tensors[ts.Name] = randWeight(r, ts.Name, i8, ts.Shape...)
		}
	}
	for i := 0; i < a.NumClasses; i++ {
		m.Meta.Labels = append(m.Meta.Labels, fmt.Sprintf("class%d", i))
	}
	return m
}

// dequantized is m with every I8 weight replaced by its Float().
func dequantized(m *weights.Model) *weights.Model {
	d := *m
	d.Meta.Scheme = weights.F32
	d.Tensors = map[string]*weights.Tensor{}
	for k, t := range m.Tensors {
		c := *t
		if t.I8 != nil {
			c.F32, c.I8, c.Scale = t.Float(), nil, nil
		}
		d.Tensors[k] = &c
	}
	return &d
}

// maxRelErr is max|got-want| divided by max(1, max|want|), failing on shape
// mismatch and treating a NaN anywhere as infinite error.
func maxRelErr(t testing.TB, got, want *model.Tensor) float64 {
	t.Helper()
	if !slices.Equal(got.Shape, want.Shape) || len(got.Data) != len(want.Data) {
		t.Fatalf("shape %v (%d values), want %v (%d values)", got.Shape, len(got.Data), want.Shape, len(want.Data))
	}
	var maxAbs, maxDiff float64
	for i := range want.Data {
		g, w := float64(got.Data[i]), float64(want.Data[i])
		if math.IsNaN(g) != math.IsNaN(w) {
			return math.Inf(1)
		}
		maxAbs = math.Max(maxAbs, math.Abs(w))
		maxDiff = math.Max(maxDiff, math.Abs(g-w))
	}
	return maxDiff / math.Max(1, maxAbs)
}
