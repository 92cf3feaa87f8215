package cpu

import (
	"fmt"

	"github.com/residual-webgpu/residual/model"
	"github.com/residual-webgpu/residual/model/weights"
)

// Linear is the fully connected layer: x [B,In] times w [Out,In]
// transposed, plus b [Out], giving [B,Out]. w may be F32 or I8 with one
// scale per output.
func Linear(x *model.Tensor, w, b *weights.Tensor) (*model.Tensor, error) {
	if x == nil || len(x.Shape) != 2 || x.Shape[0] < 1 || x.Shape[1] < 1 || x.Shape[0] > 1<<20 || x.Shape[1] > 1<<24 || len(x.Data) != x.Shape[0]*x.Shape[1] {
		return nil, fmt.Errorf("linear: input must be [B,In] with matching data, got %s", describe(x))
	}
	if w == nil || len(w.Shape) != 2 || w.Shape[0] < 1 || w.Shape[0] > 1<<24 {
		return nil, fmt.Errorf("linear: weight must be [Out,In], got %s", describeW(w))
	}
	in, out := x.Shape[1], w.Shape[0]
	if err := checkWeight(w, []int{out, in}); err != nil {
		return nil, fmt.Errorf("linear: weight: %w", err)
	}
	if err := checkBias(b, out); err != nil {
		return nil, fmt.Errorf("linear: bias: %w", err)
	}
	return linear(x, w, b), nil
}

// linear computes Linear on checked arguments as the GEMM
// C[Out,B] = W[Out,In] · xᵀ[In,B] (weights as A, like a 1×1 conv), then
// transposes C.
func linear(x *model.Tensor, w, b *weights.Tensor) *model.Tensor {
	bs, in, out := x.Shape[0], x.Shape[1], w.Shape[0]
	c := make([]float32, out*bs)
	runGemms([]gemm{{m: out, n: bs, k: in, a: matA{f32: w.F32, i8: w.I8, scale: w.Scale, ld: in},
		b: transposed{x: x.Data, ld: in}, c: c, ldc: bs, bias: b.F32}})
	y := model.NewTensor(bs, out)
	for o := 0; o < out; o++ {
		for i := 0; i < bs; i++ {
			y.Data[i*out+o] = c[o*bs+i]
		}
	}
	return y
}

// transposed is the B operand xᵀ of a batch of row vectors x [N, ld].
type transposed struct {
	x  []float32
	ld int
}

func (t transposed) pack(dst []float32, n0, nc, k0, kc int) {
	np := (nc + nr - 1) / nr
	for j := 0; j < np*nr; j++ {
		panel := dst[(j/nr)*kc*nr:]
		if j >= nc {
			for kk := 0; kk < kc; kk++ {
				panel[kk*nr+j%nr] = 0
			}
			continue
		}
		row := t.x[(n0+j)*t.ld+k0 : (n0+j)*t.ld+k0+kc]
		for kk, v := range row {
			panel[kk*nr+j%nr] = v
		}
	}
}

func describe(x *model.Tensor) string {
	if x == nil {
		return "nil"
	}
	return fmt.Sprintf("shape %v with %d values", x.Shape, len(x.Data))
}

func describeW(w *weights.Tensor) string {
	if w == nil {
		return "nil"
	}
	return fmt.Sprintf("shape %v", w.Shape)
}
