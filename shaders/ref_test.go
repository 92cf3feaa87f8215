package shaders

import (
	"fmt"
	"math"
	"math/rand"
	"slices"
	"testing"

	"github.com/residual-webgpu/residual/model"
	"github.com/residual-webgpu/residual/model/weights"
)

// randTensor fills a tensor with values in [-1, 1).
func randTensor(r *rand.Rand, shape ...int) *model.Tensor {
	t := model.NewTensor(shape...)
	for i := range t.Data {
		t.Data[i] = r.Float32()*2 - 1
	}
	return t
}

// randConvWeights makes int8 weights with per-channel scales, and a bias.
func randConvWeights(r *rand.Rand, c model.Conv) (w, b *weights.Tensor) {
	shape := c.WeightShape()
	w = &weights.Tensor{Name: c.Name + ".weight", Shape: shape}
	w.I8 = make([]int8, w.Len())
	for i := range w.I8 {
		w.I8[i] = int8(r.Intn(255) - 127)
	}
	w.I8[0] = -128 // the full int8 range must unpack correctly
	w.Scale = make([]float32, c.Cout)
	for i := range w.Scale {
		w.Scale[i] = (0.5 + r.Float32()) / float32(127*c.Cin/c.Groups*c.Kernel*c.Kernel) * 4
	}
	b = &weights.Tensor{Name: c.Name + ".bias", Shape: []int{c.Cout}, F32: make([]float32, c.Cout)}
	for i := range b.F32 {
		b.F32[i] = r.Float32() - 0.5
	}
	return w, b
}

// compare fails the test when got and want differ by more than tol
// relative to want's largest magnitude.
func compare(t *testing.T, what string, got, want *model.Tensor, tol float64) {
	t.Helper()
	if !slices.Equal(got.Shape, want.Shape) {
		t.Fatalf("%s: shape %v, want %v", what, got.Shape, want.Shape)
	}
	var scale, worst float64
	worstAt := 0
	for _, v := range want.Data {
		scale = math.Max(scale, math.Abs(float64(v)))
	}
	for i := range want.Data {
		d := math.Abs(float64(got.Data[i]) - float64(want.Data[i]))
		if d > worst || math.IsNaN(d) {
			worst, worstAt = d, i
			if math.IsNaN(d) {
				break
			}
		}
	}
	if scale == 0 {
		t.Fatalf("%s: reference is all zeros, the test proves nothing", what)
	}
	if !(worst <= tol*scale) {
		t.Fatalf("%s: max error %g at %d (got %g, want %g), max |want| %g", what, worst, worstAt,
			got.Data[worstAt], want.Data[worstAt], scale)
	}
	t.Logf("%s: max error %.3g (relative %.3g)", what, worst, worst/scale)
}

func convName(c model.Conv, b, h, w int) string {
	return fmt.Sprintf("%dx%d/%d g%d %d→%d in %dx%dx%d", c.Kernel, c.Kernel, c.Stride, c.Groups, c.Cin, c.Cout, b, h, w)
}
