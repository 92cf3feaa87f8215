package shaders

import (
	"fmt"
	"math"
	"slices"

	"github.com/residual-webgpu/residual/model/weights"
)

// fcGeom is a linear layer over a batch: x [B][In] → y [B][Out], with
// int8 weights or, with F32 (an f32 weight file), float32 ones.
type fcGeom struct {
	B, In, Out int
	F32        bool
}

const (
	fcWG = 64
	fcTB = 4 // batch rows per invocation
)

func (f fcGeom) k4() int   { return (f.In + 3) / 4 }
func (f fcGeom) np() int   { return (f.Out + 3) / 4 * 4 }
func (f fcGeom) vec() bool { return f.In%4 == 0 }

// packedSize is how many words packFC gives for f, and how many epilogue
// floats (scales, then biases).
func (f fcGeom) packedSize() (words, ep int) {
	per := 1
	if f.F32 {
		per = 4
	}
	return f.k4() * f.np() * per, 2 * f.np()
}

// packFC lays a linear layer's weights out as [K4][NP] entries (one word
// of four int8 values of consecutive k, or with F32 four words: their
// float bits), with NP scales (1 for F32) then NP biases for the
// epilogue. The tensor's storage must match f.F32.
func packFC(f fcGeom, w, b *weights.Tensor, s *packScratch) (words []uint32, ep []float32, err error) {
	if w == nil || b == nil {
		return nil, nil, fmt.Errorf("missing weight or bias")
	}
	if !slices.Equal(w.Shape, []int{f.Out, f.In}) {
		return nil, nil, fmt.Errorf("weight %s shape %v, want [%d %d]", w.Name, w.Shape, f.Out, f.In)
	}
	bias := b.Float()
	if len(bias) != f.Out {
		return nil, nil, fmt.Errorf("bias %s has %d values, want %d", b.Name, len(bias), f.Out)
	}
	if err := checkWeightStorage(w, f.F32, f.Out); err != nil {
		return nil, nil, err
	}
	np, k4 := f.np(), f.k4()
	ep = make([]float32, 2*np)
	if f.F32 {
		words = s.zeroed(4 * k4 * np)
		for o := 0; o < f.Out; o++ {
			ep[o], ep[np+o] = 1, bias[o]
			for k := 0; k < f.In; k++ {
				words[4*((k/4)*np+o)+k%4] = math.Float32bits(w.F32[o*f.In+k])
			}
		}
		return words, ep, nil
	}
	row := s.rowsOf(w, f.In) // read now when the model left it in its file
	words = s.zeroed(k4 * np)
	for o := 0; o < f.Out; o++ {
		q, err := row(o)
		if err != nil {
			return nil, nil, err
		}
		ep[o], ep[np+o] = w.Scale[o], bias[o]
		for k := 0; k < f.In; k++ {
			words[(k/4)*np+o] |= uint32(uint8(q[k])) << (8 * (k % 4))
		}
	}
	return words, ep, nil
}

// fcSrc is what fc.wgsl is rendered with.
type fcSrc struct {
	K4, XK, N, NP4, B, TB, BOFF4, WG int
	Vec                              bool // x read as vec4
	F32                              bool
	Rows                             []int // an invocation's batch rows
	Cols                             []col // its four outputs
}

// genFC writes the fc kernel.
func genFC(f fcGeom) (string, error) {
	if f.B < 1 || f.In < 1 || f.Out < 1 {
		return "", fmt.Errorf("fc: bad shape %+v", f)
	}
	return render("fc.wgsl", fcSrcOf(f))
}

// fcSrcOf is what fc.wgsl is rendered with for f.
func fcSrcOf(f fcGeom) fcSrc {
	xk := f.In
	if f.vec() {
		xk = f.In / 4
	}
	return fcSrc{K4: f.k4(), XK: xk, N: f.Out, NP4: f.np() / 4, B: f.B, TB: fcTB, BOFF4: f.np() / 4,
		WG: fcWG, Vec: f.vec(), F32: f.F32, Rows: seq(fcTB), Cols: cols4(0)}
}

// fcGrid is the dispatch size of the fc kernel.
func fcGrid(f fcGeom) (x, y uint32) {
	return uint32((f.np()/4 + fcWG - 1) / fcWG), uint32((f.B + fcTB - 1) / fcTB)
}
